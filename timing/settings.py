"""Every key of `event.toml` in one table: name, default, range and meaning.

`SETTINGS` is the one source of truth: the model's defaults are read from it, the
checker parses and bounds each value with its kind, `retrotime check` prints the
settings that differ from their default, and the README's key table is rendered from
it (`python -m timing.settings` prints the table; a test holds the README to it).

A new key is one `Setting` row (and, for `[[readers]]` and `[validation]`, a field of
the same name on `ReaderConfig` or `Validation`, which are built from these rows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from timing.flags import FLAG_CODES, LAP_CODES
from timing.times import parse_duration, parse_time_of_day

REQUIRED: Any = object()  # the default of a key that must be given
_UTC = ZoneInfo("UTC")


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
        return " or ".join(_toml(o) for o in self.options)

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


@dataclass(frozen=True)
class Setting:
    table: str  # "timing", or "readers" for a key of each [[readers]] table
    key: str
    kind: Kind
    default: Any
    help: str
    shown_default: str = ""  # for the README, where the default is not a value

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


# Tables: whether each is an array of tables ([[readers]]) and whether it is required.
TABLES: dict[str, tuple[bool, bool]] = {
    "event": (False, True),
    "timing": (False, False),
    "categories": (False, False),
    "validation": (False, False),
    "rules": (False, False),
    "records": (False, False),
    "readers": (True, False),
    "races": (True, True),
    "races.waves": (True, True),
    "races.points": (True, True),
}

_SECONDS = Number(0.1, 60.0, unit=" s")
_ANTENNAS = Numbers(1, 65_535, "antenna numbers")

SETTINGS: tuple[Setting, ...] = (
    Setting("event", "name", Text(), REQUIRED, "the event's name"),
    Setting("event", "date", Day(), REQUIRED, "race day"),
    Setting("event", "timezone", Zone(), REQUIRED, "reader times of day are local to it"),
    Setting("timing", "dedupe_window_s", _SECONDS, 3.0,
            "reads of a chip at one line within this are one crossing"),
    Setting("categories", "age_bounds",
            Numbers(1, 120, "increasing whole ages", increasing=True),
            (20, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80), "U20, 20-34, 35-39 ... 80+"),
    Setting("validation", "pace_tolerance", Number(0.0, 0.5), 0.03,
            "a segment is implausible when more than this share faster than the scaled record"),
    Setting("validation", "riegel_exponent", Number(1.0, 1.3), 1.06,
            "the exponent of Riegel's formula (pace check and record watch)"),
    Setting("validation", "gate_min_gap_s", Number(0.0, 10.0, unit=" s"), 0.2,
            "a gate's lines crossed closer in time than this tell no direction"),
    Setting("validation", "facing_min_reads", Number(1, 1000, integer=True), 4,
            "reads of the front chip at an oncoming panel needed to call it facing forwards"),
    Setting("validation", "facing_min_db", Number(0.0, 60.0, unit=" dB"), 6.0,
            "the front chip's peak RSSI at the panel above the back chip's"),
    Setting("validation", "chip_gap_s", Number(0.5, 600.0, unit=" s"), 5.0,
            "both chips at one line further apart than this are separated"),
    Setting("validation", "lost_chip_chance", Number(0.0, 1.0), 0.001,
            "a chip unread to the end is lost when missed reads explain it with less chance "
            "than this"),
    Setting("validation", "shortcut_pace_ratio", Number(0.1, 1.0), 0.85,
            "across a missed point, faster than this times the runner's own pace: likely a "
            "shortcut"),
    Setting("validation", "min_read_share", Number(0.0, 1.0), 0.55,
            "runners read less fully than this are not flagged for a lost chip"),
    Setting("validation", "missed_lap_ratio", Number(1.1, 4.0), 1.6,
            "a lap over this times the runner's median lap (per metre) is a MISSED_LAP"),
    Setting("rules", "dq_on", Codes(), (), "flag codes whose confirmed flags make the runner DQ"),
    Setting("records", "watch_margin", Number(0.0, 1.0), 0.05,
            "records a finisher comes within this share of are listed"),
    Setting("records", "world_bests", Flag(), True,
            "include the shipped world bests in the record book"),
    Setting("readers", "id", Text(), REQUIRED, "referenced by points and by --log ID=..."),
    Setting("readers", "format", Text(), REQUIRED, "the reader's format (see Reader formats)"),
    Setting("readers", "port", Text(), "", "any pyserial URL: /dev/ttyUSB0, socket://host:23"),
    Setting("readers", "baudrate", Number(50, 4_000_000, integer=True), 9600,
            "serial speed"),
    Setting("readers", "clock_offset_s", Number(-86_400.0, 86_400.0, unit=" s"), 0.0,
            "added to this reader's times to correct its clock"),
    Setting("readers", "devices", Devices(), (),
            'wiclax: the device\'s own loop names to antennas, { "deviceId" = 1 }', "none"),
    Setting("races", "id", Text(), REQUIRED, "referenced by participants.csv"),
    Setting("races", "name", Text(), None, "shown on the pages", "the id"),
    Setting("races", "distance_m", Number(1.0, 1_000_000.0, unit=" m"), None,
            "required, except in a timed race (then lap_m)", "required"),
    Setting("races", "chips", Choice((["front"], ["front", "back"])), ["front"],
            "the chips each runner wears"),
    Setting("races", "ranking", Choice(("chip", "gun")), "chip", "which time ranks"),
    Setting("races", "cutoff", Duration(), None,
            "a finish later than this (gun time) is a DNF", "none"),
    Setting("races", "laps",
            Number(1, 10_000, integer=True, what="a whole number of crossings"), None,
            "a lap race: crossings of the lap line that finish it", "none"),
    Setting("races", "lap_m", Number(1.0, 100_000.0, unit=" m"), None,
            "the length of one lap (with laps or duration)", "none"),
    Setting("races", "duration", Duration(), None,
            "a timed race: laps completed when the time runs out", "none"),
    Setting("races", "min_lap_s", Number(0.1, 86_400.0, unit=" s"), None,
            "a lap faster than this cannot be real", "from the records"),
    Setting("races", "sanctioning_body", Text(), None,
            "who sanctioned the race (for a record claim's evidence pack)", "none"),
    Setting("races", "sanction", Text(), None, "the sanction or permit number", "none"),
    Setting("races", "certified_by", Text(), None, "who measured and certified the course",
            "none"),
    Setting("races", "certificate", Text(), None, "the course measurement certificate",
            "none"),
    Setting("races", "certificate_valid_until", Text(), None,
            "the last day the certificate is valid", "none"),
    Setting("races.waves", "id", Text(), REQUIRED, "referenced by participants.csv"),
    Setting("races.waves", "start", TimeOfDay(), REQUIRED, "local time of day of the gun"),
    Setting("races.points", "id", Text(), REQUIRED, "the point's name in splits and flags"),
    Setting("races.points", "distance_m", Number(0.0, 1_000_000.0, unit=" m"), REQUIRED,
            "from the start, in course order; the last point is the finish"),
    Setting("races.points", "reader", Text(), REQUIRED, "the id of the reader at the point"),
    Setting("races.points", "antennas", _ANTENNAS, (), "one mat line", "none"),
    Setting("races.points", "upstream", _ANTENNAS, (),
            "a gate: the line met first along the course", "none"),
    Setting("races.points", "downstream", _ANTENNAS, (), "a gate: the line met second", "none"),
    Setting("races.points", "oncoming", _ANTENNAS, (),
            "panels facing approaching runners (evidence only)", "none"),
)  # fmt: skip


def settings_of(table: str) -> dict[str, Setting]:
    return {s.key: s for s in SETTINGS if s.table == table}


def defaults(table: str) -> dict[str, Any]:
    return {s.key: s.default for s in SETTINGS if s.table == table}


def subtables(table: str) -> list[str]:
    """The arrays of tables nested in `table` (`waves`, `points` in `races`)."""
    return [t.rsplit(".", 1)[1] for t in TABLES if t.startswith(f"{table}.")]


def header(table: str) -> str:
    return f"[[{table}]]" if TABLES[table][0] else f"[{table}]"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f"{value!r}"


def shown(setting: Setting) -> str:
    """A setting's value as written in event.toml, or its default for the README."""
    if setting.shown_default:
        return setting.shown_default
    return "required" if setting.required else f"`{_toml(setting.default)}`"


def value_text(value: Any) -> str:
    return _toml(value)


def changed(given: Mapping[str, Any]) -> list[tuple[Setting, Any]]:
    """The settings `given` ("validation.pace_tolerance": 0.05, as written in the file)
    sets to something other than their default, in table order."""
    found = []
    for s in SETTINGS:
        value = given.get(f"{s.table}.{s.key}")
        if value is None or s.required:
            continue
        default = list(s.default) if isinstance(s.default, tuple) else s.default
        if s.kind.parse(value) != s.kind.parse(default):
            found.append((s, value))
    return found


def readme_table() -> str:
    """The README's table of every event.toml key (the test compares it)."""
    lines = ["| key | default | range | meaning |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        lines.append(f"| `{header(s.table)} {s.key}` | {shown(s)} | {s.kind.range} | {s.help} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(readme_table())
