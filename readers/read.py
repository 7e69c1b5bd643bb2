"""The value a reader format produces: one tag read, and the context to parse it in.

`readers/` imports nothing else of ours, so a read is a small plain value that the
timing engine, the agent journal and the simulator all share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo


class ReaderError(Exception):
    """Root of the errors raised by `readers/`."""


class ParseError(ReaderError):
    """A line that is not a valid read: it is quarantined with this reason, never fatal."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Read(NamedTuple):
    """One tag read as the reader reported it.

    A named tuple rather than a frozen dataclass: replay builds millions of them, and a
    tuple is made about four times faster (0.15 µs against 0.58 µs here).

    `time_ms` is the reader's own clock, as milliseconds since the Unix epoch (UTC),
    before any clock-offset correction: the journal keeps what the reader said.
    `reader_seq` is the reader's own index of the read where the protocol has one
    (Ultra log id, RACE RESULT passing number, ChronoTrack sequence).
    """

    reader: str
    chip: str
    antenna: int
    time_ms: int
    rssi: float | None = None
    reader_seq: int | None = None


@dataclass(frozen=True, slots=True)
class FormatContext:
    """What a format needs besides the line: whose reader it is and its wall clock.

    Most readers send local wall-clock time with no zone: `tz` is the event's
    timezone. `day` is the event date, for formats that send only a time of day.
    """

    reader: str
    tz: ZoneInfo
    day: date | None = None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def local_to_ms(local: datetime, tz: ZoneInfo) -> int:
    """Milliseconds since the epoch of a naive local wall-clock time in `tz`."""
    aware = local.replace(tzinfo=tz)
    delta = aware - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def ms_to_local(time_ms: int, tz: ZoneInfo) -> datetime:
    """The naive local wall-clock time in `tz` of an epoch time in milliseconds."""
    aware = _EPOCH + timedelta(milliseconds=time_ms)
    return aware.astimezone(tz).replace(tzinfo=None)
