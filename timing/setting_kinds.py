"""The kinds of value an `event.toml` key takes: how each is parsed, bounded and
described in the README's key table (`timing/settings.py` lists the keys)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from timing.flags import FLAG_CODES, LAP_CODES
from timing.times import parse_duration, parse_time_of_day

_UTC = ZoneInfo("UTC")


def toml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_text(v) for v in value) + "]"
    return f"{value!r}"


class Kind:
    """How a value is checked: `parse` returns it as the model holds it, or raises
    ValueError with the reason; `fallback` stands in for a bad required value so the
    rest of the file is still checked."""

    fallback: Any = None
    range = ""

    def parse(self, value: Any) -> Any:
        raise ValueError("has no kind")


def _figure(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:,g}"


@dataclass(frozen=True)
class Number(Kind):
    low: float
    high: float
    integer: bool = False
    unit: str = ""
    what: str = ""  # "a whole number of crossings"; else "a number" or "a whole number"

    @property
    def fallback(self) -> Any:
        return int(self.low) if self.integer else float(self.low)

    @property
    def range(self) -> str:
        return f"{_figure(self.low)} to {_figure(self.high)}{self.unit}"

    def parse(self, value: Any) -> Any:
        what = self.what or ("a whole number" if self.integer else "a number")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be {what}")
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise ValueError(f"{value!r} must be {what} from {self.range}")
        if self.integer:
            if value != int(value):
                raise ValueError(f"{value!r} must be {what} from {self.range}")
            return int(value)
        return float(value)


@dataclass(frozen=True)
class Text(Kind):
    fallback: Any = ""
    range: str = "text"

    def parse(self, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty string")
        return value.strip()


@dataclass(frozen=True)
class Choice(Kind):
    options: tuple[Any, ...]

    @property
    def fallback(self) -> Any:
        return self.options[0]

    @property
    def range(self) -> str:
        return " or ".join(toml_text(o) for o in self.options)

    def parse(self, value: Any) -> Any:
        if value not in self.options:
            raise ValueError(f"{value!r} must be {self.range}")
        return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class Day(Kind):
    low: date = date(1970, 1, 1)
    high: date = date(2199, 12, 31)
    fallback: Any = date(1970, 1, 1)

    @property
    def range(self) -> str:
        return f"ISO date, {self.low.year} to {self.high.year}"

    def parse(self, value: Any) -> Any:
        try:
            if isinstance(value, datetime) or not isinstance(value, date | str):
                raise ValueError
            day = value if isinstance(value, date) else date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO date like 2026-04-12") from None
        if not self.low <= day <= self.high:
            raise ValueError(f"{value!r} must be a date from {self.low} to {self.high}")
        return day


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@dataclass(frozen=True)
class Zone(Kind):
    fallback: Any = _UTC
    range: str = "IANA zone"

    def parse(self, value: Any) -> Any:
        if not isinstance(value, str) or value not in _zones():
            raise ValueError(f"{value!r} is not an IANA timezone like Europe/London")
        return ZoneInfo(value)


@dataclass(frozen=True)
class Duration(Kind):
    """`H:MM:SS[.s]`, parsed to milliseconds."""

    high_h: int = 720
    fallback: Any = None

    @property
    def range(self) -> str:
        return f"H:MM:SS, 0:00:01 to {self.high_h}:00:00"

    def parse(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a time like H:MM:SS or H:MM:SS.s")
        ms = parse_duration(value)
        if not 1000 <= ms <= self.high_h * 3_600_000:
            raise ValueError(f"{value!r} must be from 0:00:01 to {self.high_h}:00:00")
        return ms


@dataclass(frozen=True)
class TimeOfDay(Kind):
    fallback: Any = time(0)
    range: str = "HH:MM:SS"

    def parse(self, value: Any) -> Any:
        if isinstance(value, time):
            return value
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a time of day like 08:30:00")
        return parse_time_of_day(value)


@dataclass(frozen=True)
class Flag(Kind):
    fallback: Any = True
    range: str = "true or false"

    def parse(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value


@dataclass(frozen=True)
class Numbers(Kind):
    """A list of whole numbers, each in bounds; `increasing` for age bounds."""

    low: int
    high: int
    what: str
    increasing: bool = False
    fallback: Any = ()

    @property
    def range(self) -> str:
        order = "increasing, " if self.increasing else ""
        return f"list, {order}{self.low:,} to {self.high:,} each"

    def parse(self, value: Any) -> Any:
        ok = isinstance(value, list) and all(
            isinstance(n, int) and not isinstance(n, bool) and self.low <= n <= self.high
            for n in value
        )
        if not ok or (self.increasing and value != sorted(set(value))):
            raise ValueError(f"must be a list of {self.what} ({self.range})")
        return tuple(value)


@dataclass(frozen=True)
class Codes(Kind):
    """Flag codes that make a DQ once confirmed: offences only, not lap-count corrections."""

    fallback: Any = ()
    range: str = "flag codes"

    def parse(self, value: Any) -> Any:
        offences = [c for c in FLAG_CODES if c not in LAP_CODES]
        if not isinstance(value, list) or any(c not in FLAG_CODES for c in value):
            raise ValueError(f"must be a list of flag codes ({', '.join(offences)})")
        counts = [c for c in value if c in LAP_CODES]
        if counts:
            raise ValueError(
                f"{', '.join(counts)}: confirming one corrects the lap count, it is no offence "
                f"(offences: {', '.join(offences)})"
            )
        return tuple(dict.fromkeys(value))


@dataclass(frozen=True)
class Devices(Kind):
    """A reader's own device or loop names mapped to antennas, `{ "deviceId" = 1 }`."""

    fallback: Any = ()
    range: str = "table of names to 1 to 65,535"

    def parse(self, value: Any) -> Any:
        pairs = value.items() if isinstance(value, dict) else value  # or the model's pairs
        ok = isinstance(pairs, list | tuple | type({}.items())) and all(
            isinstance(p, tuple | list) and len(p) == 2 and isinstance(p[0], str)
            and isinstance(p[1], int) and not isinstance(p[1], bool) and 1 <= p[1] <= 65_535
            for p in pairs
        )  # fmt: skip
        if not ok:
            raise ValueError(f'must be a table of device names to antennas ({self.range})')
        return tuple((name, antenna) for name, antenna in pairs)
