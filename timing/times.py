"""Times as RetroTime writes them: durations `H:MM:SS.s`, tenths rounded down.

Internally every instant is integer milliseconds since the Unix epoch (UTC) and every
duration integer milliseconds, so that live and batch results agree to the digit.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_DURATION = re.compile(r"^(?:(\d+):)?([0-5]?\d):([0-5]\d)(?:\.(\d{1,3}))?$")


def format_duration(ms: int | None) -> str | None:
    """`H:MM:SS.s` with tenths rounded down (a 3:43:39.98 stays 3:43:39.9)."""
    if ms is None:
        return None
    sign = "-" if ms < 0 else ""
    tenths = abs(ms) // 100
    seconds, tenth = divmod(tenths, 10)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{sign}{hours}:{minute:02d}:{sec:02d}.{tenth}"


def parse_duration(text: str) -> int:
    """Milliseconds of `H:MM:SS`, `H:MM:SS.s`, `MM:SS` (fractions to the millisecond)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time like H:MM:SS or H:MM:SS.s")
    hours, minutes, seconds, fraction = match.groups()
    ms = ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000
    if fraction:
        ms += int(fraction.ljust(3, "0"))
    return ms


def parse_time_of_day(text: str) -> time:
    """A wall-clock time of day `HH:MM[:SS[.fff]]`."""
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day like 08:30:00") from None


def local_ms(day: date, at: time, tz: ZoneInfo) -> int:
    """Epoch milliseconds of a local wall-clock time on `day` in `tz`."""
    aware = datetime.combine(day, at).replace(tzinfo=tz)
    return (aware - _EPOCH) // _MS


def iso_local(ms: int, tz: ZoneInfo) -> str:
    """An instant as ISO 8601 in the event's zone, to the millisecond."""
    when = datetime.fromtimestamp(ms // 1000, tz) + timedelta(milliseconds=ms % 1000)
    return when.isoformat(timespec="milliseconds")


def pace_min_per_km(ms: int, metres: float) -> float | None:
    """Minutes per kilometre to the hundredth, or None for a zero-length segment."""
    if metres <= 0:
        return None
    return round(ms / 60_000 / (metres / 1000), 2)
