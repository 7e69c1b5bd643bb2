"""The event as `event.toml` describes it: its readers, races, waves and timing points.

Loading and checking the file is in `timing/config_load.py`; every key, with its
default, range and meaning, is in `timing/settings.py`, which these defaults come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from timing.settings import defaults

_VALIDATION = defaults("validation")
_READER = defaults("readers")


@dataclass(frozen=True, slots=True, kw_only=True)
class Validation:
    """`[validation]`: the thresholds of the backwards checks (README, "Backwards
    validation and records"); a field for each key of the table in `timing/settings.py`."""

    pace_tolerance: float = _VALIDATION["pace_tolerance"]
    riegel_exponent: float = _VALIDATION["riegel_exponent"]  # T2 = T1 x (D2/D1)^exponent
    gate_min_gap_s: float = _VALIDATION["gate_min_gap_s"]
    facing_min_reads: int = _VALIDATION["facing_min_reads"]
    facing_min_db: float = _VALIDATION["facing_min_db"]
    chip_gap_s: float = _VALIDATION["chip_gap_s"]
    lost_chip_chance: float = _VALIDATION["lost_chip_chance"]
    shortcut_pace_ratio: float = _VALIDATION["shortcut_pace_ratio"]
    min_read_share: float = _VALIDATION["min_read_share"]  # less fully read: no lost-chip verdict
    missed_lap_ratio: float = _VALIDATION["missed_lap_ratio"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReaderConfig:
    """A `[[readers]]` table; a field for each of its keys in `timing/settings.py`, so a
    new reader key is a row there and a field here."""

    id: str
    format: str
    port: str = _READER["port"]
    baudrate: int = _READER["baudrate"]
    clock_offset_s: float = _READER["clock_offset_s"]
    devices: tuple[tuple[str, int], ...] = _READER["devices"]  # device names -> antennas

    @property
    def clock_offset_ms(self) -> int:
        return round(self.clock_offset_s * 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class Wave:
    id: str
    start: time
    gun_ms: int  # the configured gun; a director may record the real one later


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    id: str
    distance_m: float
    reader: str
    antennas: tuple[int, ...] = ()  # one mat line
    upstream: tuple[int, ...] = ()  # a gate: the line met first along the course
    downstream: tuple[int, ...] = ()
    oncoming: tuple[int, ...] = ()  # panels facing approaching runners (evidence only)

    @property
    def is_gate(self) -> bool:
        return bool(self.upstream)

    def lines(self) -> dict[str, tuple[int, ...]]:
        """The timing lines of the point by role; each is one antenna group."""
        found = {"mat": self.antennas, "upstream": self.upstream, "downstream": self.downstream}
        return {role: ants for role, ants in found.items() if ants}


COURSE = "course"  # the race kinds (`timing/kinds.py`)
TRACK = "track"


@dataclass(frozen=True, slots=True, kw_only=True)
class Race:
    id: str
    name: str
    distance_m: float
    chips: tuple[str, ...]
    ranking: str  # "chip" or "gun"
    cutoff_ms: int | None
    waves: tuple[Wave, ...]
    points: tuple[Point, ...]
    # Lap races (README, "Track and timed races"): the last point is the lap line.
    laps: int | None = None  # crossings of the lap line after the start that finish the race
    lap_m: float | None = None  # length of one lap
    duration_ms: int | None = None  # a timed race: laps completed when the time runs out
    min_lap_ms: int | None = None  # a lap faster than this is not one (None: from the records)
    # The race's sanction and course certificate as (key, text) pairs (a Race is hashed).
    course: tuple[tuple[str, str], ...] = ()

    @property
    def is_lap_race(self) -> bool:
        """Timed races are lap races too: both count crossings of one lap line."""
        return self.lap_m is not None

    @property
    def kind(self) -> str:
        """"course" (points passed once each, in order) or "track" (`timing/kinds.py`)."""
        return TRACK if self.lap_m is not None else COURSE

    @property
    def is_timed(self) -> bool:
        return self.duration_ms is not None

    @property
    def lap_point(self) -> Point | None:
        return self.points[-1] if self.is_lap_race and self.points else None

    def lap_distance_m(self, number: int) -> float:
        """How far from the start the `number`-th counted crossing of the lap line is."""
        assert self.lap_m is not None
        if self.laps is not None:
            return self.distance_m - (self.laps - number) * self.lap_m
        return self.points[-1].distance_m + (number - 1) * self.lap_m

    @property
    def start_point(self) -> Point | None:
        first = self.points[0] if self.points else None
        return first if first is not None and first.distance_m == 0 else None

    def wave(self, wave_id: str) -> Wave | None:
        return next((w for w in self.waves if w.id == wave_id), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    name: str
    date: date
    timezone: ZoneInfo
    readers: dict[str, ReaderConfig]
    races: tuple[Race, ...]
    age_bounds: tuple[int, ...] = defaults("categories")["age_bounds"]
    dedupe_window_ms: int = round(defaults("timing")["dedupe_window_s"] * 1000)
    validation: Validation = field(default_factory=Validation)
    dq_on: tuple[str, ...] = ()  # [rules]: a confirmed flag of these codes makes a DQ
    watch_margin: float = defaults("records")["watch_margin"]  # "within margin" of a record
    world_bests: bool = defaults("records")["world_bests"]  # use the shipped world bests too
    # The event-wide keys the file gives ("validation.pace_tolerance": 0.05), as written.
    given: Mapping[str, Any] = field(default_factory=dict)

    def race(self, race_id: str) -> Race | None:
        return next((r for r in self.races if r.id == race_id), None)

    def antennas_of(self, reader_id: str) -> set[int]:
        """The antenna ports of `reader_id` that the timing points use."""
        return {a for race in self.races for p in race.points if p.reader == reader_id
                for a in (*p.antennas, *p.upstream, *p.downstream, *p.oncoming)}  # fmt: skip
