"""Every key of `event.toml` in one table: name, default, range and meaning.

`SETTINGS` is the one source of truth: the model's defaults are read from it, the
checker parses and bounds each value with its kind, `retrotime check` prints the
settings that differ from their default, and the README's key table is rendered from
it (`python -m timing.settings` prints the table; a test holds the README to it).

A new key is one `Setting` row (and, for `[[readers]]` and `[validation]`, a field of
the same name on `ReaderConfig` or `Validation`, which are built from these rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from timing.setting_kinds import (
    Choice,
    Codes,
    Day,
    Devices,
    Duration,
    Flag,
    Kind,
    Number,
    Numbers,
    Text,
    TimeOfDay,
    Zone,
    toml_text,
)

REQUIRED: Any = object()  # the default of a key that must be given


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


def shown(setting: Setting) -> str:
    """A setting's value as written in event.toml, or its default for the README."""
    if setting.shown_default:
        return setting.shown_default
    return "required" if setting.required else f"`{toml_text(setting.default)}`"


def value_text(value: Any) -> str:
    return toml_text(value)


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
