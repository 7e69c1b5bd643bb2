"""The value a reader format produces: one tag read, and the context to parse it in.

`readers/` imports nothing else of ours, so a read is a small plain value that the
timing engine, the agent journal and the simulator all share.

Every read a format returns fits the journal on SQLite and PostgreSQL alike and can be
shown: `checked` holds each field to the bounds below (docs/readers.md lists them), and
a line outside them is a `ParseError`, quarantined with its reason.
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
    (Ultra log id, RACE RESULT passing number).
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
    timezone. `day` is the event date, for formats that send only a time of day and
    for the plausible-clock window. `devices` maps a reader's own free-text device or
    loop names to antennas (event.toml `devices`), as (name, antenna) pairs.
    """

    reader: str
    tz: ZoneInfo
    day: date | None = None
    devices: tuple[tuple[str, int], ...] = ()


# --- bounds: what the journal can hold and a page can show -------------------------------

ANTENNA_MAX = 2**31 - 1  # PostgreSQL INTEGER
SEQ_MAX = 2**63 - 1  # BIGINT, on SQLite and PostgreSQL
RSSI_MIN, RSSI_MAX = -999.0, 999.0  # dBm or the reader's own scale; finite
READER_MAX = 64  # characters of a reader id (retrotime-csv carries it on every line)
CHIP_MAX = 128  # printable characters: a 496-bit EPC in hex is 124
TIME_MIN_MS = 0  # 1970-01-01 UTC
TIME_MAX_MS = 4_102_444_800_000  # 2100-01-01 UTC
PLAUSIBLE_DAYS = 31  # a clock further than this from the event date has jumped


def integer(text: str, what: str, lo: int, hi: int) -> int:
    """A decimal integer field within [lo, hi], or a ParseError saying why not.

    ASCII digits only (int() would also take " 7", "1_0" and other scripts' digits), and
    at most 19 of them (every 64-bit value), so no field reaches Python's int-string limit.
    """
    digits = text[1:] if text[:1] == "-" else text
    if not (digits.isdigit() and digits.isascii() and len(digits) <= 19):
        shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"
        raise ParseError(f"{what} {shown!r} is not an integer of at most 19 digits")
    value = int(text)
    if not lo <= value <= hi:
        raise ParseError(f"{what} {value} is not {lo}-{hi}")
    return value


def checked(read: Read) -> Read:
    """The read itself if every field is within the bounds above, else a ParseError."""
    reader, chip, antenna, time_ms, rssi, seq = read
    # One expression on the hot path (NaN and infinities fail the RSSI comparison).
    if (
        0 < len(reader) <= READER_MAX
        and 0 < len(chip) <= CHIP_MAX
        and (reader + chip).isprintable()  # no NUL nor control characters
        and 1 <= antenna <= ANTENNA_MAX
        and TIME_MIN_MS <= time_ms < TIME_MAX_MS
        and (rssi is None or RSSI_MIN <= rssi <= RSSI_MAX)
        and (seq is None or 0 <= seq <= SEQ_MAX)
    ):
        return read
    raise ParseError(_why_not(read))


def _why_not(read: Read) -> str:
    reader, chip, antenna, time_ms, rssi, seq = read
    if not reader.isprintable() or not 1 <= len(reader) <= READER_MAX:
        return f"reader id {reader[:24]!r} is not 1-{READER_MAX} printable characters"
    if not chip or len(chip) > CHIP_MAX:
        return f"chip of {len(chip)} characters is not 1-{CHIP_MAX}"
    if not chip.isprintable():
        return f"chip {chip[:24]!r} holds control characters"
    if not 1 <= antenna <= ANTENNA_MAX:
        return f"antenna {antenna} is not 1-{ANTENNA_MAX}"
    if not TIME_MIN_MS <= time_ms < TIME_MAX_MS:
        return f"time {time_ms} ms is not between 1970 and 2100"
    if rssi is not None and not RSSI_MIN <= rssi <= RSSI_MAX:
        return f"RSSI {rssi} is not {RSSI_MIN:g} to {RSSI_MAX:g}"
    return f"reader sequence {seq} is not 0-{SEQ_MAX}"


def plausible(time_ms: int, ctx: FormatContext) -> int:
    """`time_ms` if it is within PLAUSIBLE_DAYS of the event day (when known).

    For readers whose own clock dates every read: a time far from the event is a clock
    that jumped (a reset, a bad sync), never a read to place in a race.
    """
    if ctx.day is not None:
        midnight = local_to_ms(datetime.combine(ctx.day, datetime.min.time()), ctx.tz)
        if abs(time_ms - midnight) > PLAUSIBLE_DAYS * 86_400_000:
            when = ms_to_local(time_ms, ctx.tz) if TIME_MIN_MS <= time_ms < TIME_MAX_MS else None
            shown = f"{when:%Y-%m-%d %H:%M:%S}" if when else f"{time_ms} ms"
            raise ParseError(
                f"reader clock says {shown}, more than {PLAUSIBLE_DAYS} days from the event "
                f"date {ctx.day}: the reader's clock jumped; set it and rewind"
            )
    return time_ms


# --- local wall-clock time ---------------------------------------------------------------
# Readers send local time with no offset. A wall time in the hour repeated when DST ends
# is taken as its first pass (fold 0), and `ms_to_local` gives a plain wall time without
# a fold, so parse(emit(t)) is t except in that second pass, where it is t minus the
# repeated hour: the one instant the wire cannot name.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def local_to_ms(local: datetime, tz: ZoneInfo) -> int:
    """Milliseconds since the epoch of a naive local wall-clock time in `tz` (fold 0)."""
    aware = local.replace(tzinfo=tz, fold=0)
    delta = aware - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def ms_to_local(time_ms: int, tz: ZoneInfo) -> datetime:
    """The naive local wall-clock time in `tz` of an epoch time in milliseconds.

    The fold is dropped: the result is what a reader's display shows, nothing more.
    """
    aware = _EPOCH + timedelta(milliseconds=time_ms)
    return aware.astimezone(tz).replace(tzinfo=None, fold=0)
