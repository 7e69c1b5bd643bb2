"""The plain course description the simulator runs: readers, races, points, runners.

It mirrors the event folder (event.toml + participants.csv) without importing
`timing/`: the CLI converts an event into a `Course`, the simulator never reads files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class SimReader:
    """A reader box. Its clock is off: reader_time = true_time - clock_offset_s."""

    id: str
    format: str = "retrotime-csv"
    clock_offset_s: float = 0.0


@dataclass(frozen=True, slots=True)
class SimPoint:
    """A timing point of one race.

    Either one mat line (`antennas`), or a gate: an `upstream` line (met first when
    running the course) at `distance_m` and a `downstream` line `gap_m` further on.
    `oncoming` panel antennas face runners approaching the point.
    """

    id: str
    distance_m: float
    reader: str
    antennas: Sequence[int] = ()
    upstream: Sequence[int] = ()
    downstream: Sequence[int] = ()
    oncoming: Sequence[int] = ()
    gap_m: float = 3.0

    @property
    def is_gate(self) -> bool:
        return bool(self.upstream) and bool(self.downstream)


@dataclass(frozen=True, slots=True)
class SimWave:
    id: str
    gun_ms: int  # epoch ms, true clock


@dataclass(frozen=True, slots=True)
class SimRace:
    """A race. Road: `points` by distance, the point at 0 m the start mat, the last the finish.

    Track (`lap_m` with `laps` or `duration_ms`): the last point is the lap line (its
    distance is the race distance, in a timed race the lap length). A lap race ends at
    the `laps`-th crossing of the line after the start; a timed race counts the
    crossings within `duration_ms` of the gun, and its runners stop at the first
    crossing after that (which does not count). A first point at 0 m on the lap
    line's reader and antennas puts the start on the line (the first crossing after
    the gun is the start); no start point is a gun start. The line is first crossed
    `distance_m mod lap_m` metres after the start, or a full lap after it when that
    is 0 (always a full lap in a timed race).
    """

    id: str
    distance_m: float
    chips: Sequence[str] = ("front", "back")
    waves: Sequence[SimWave] = ()
    points: Sequence[SimPoint] = ()
    laps: int | None = None
    lap_m: float | None = None
    duration_ms: int | None = None

    @property
    def is_track(self) -> bool:
        return self.laps is not None or self.duration_ms is not None


@dataclass(frozen=True, slots=True)
class SimRunner:
    bib: str
    sex: str  # "M" or "F"
    age: int
    race: str
    wave: str
    chip_front: str
    chip_back: str | None = None
    role: str = "runner"  # or "spotter": runs forwards beside the runner `guides` names
    guides: str | None = None


class RecordTime(NamedTuple):
    """A backwards best the pace model is anchored on: its distance and its time."""

    distance_m: float
    time_s: float


# The pace model's anchors, by sex: the men's marathon and the women's half marathon
# (the excess over the record pace in `runners` and `laps` was drawn against them). Their
# times are record data, which the caller passes in `Course.records`.
PACE_ANCHORS_M = {"M": 42_195.0, "F": 21_097.5}


@dataclass(frozen=True, slots=True)
class Course:
    tz_name: str  # the event's timezone: readers send local wall-clock time
    day: date
    readers: Sequence[SimReader]
    races: Sequence[SimRace]
    runners: Sequence[SimRunner]
    records: Mapping[str, RecordTime]  # by sex, at PACE_ANCHORS_M: the fastest paces
    stray_chips: int = 8  # spectators' chips that wander near the mats


class Kind(StrEnum):
    """What can be injected into a runner's race.

    The flag codes of the results JSON (README) and SPARSE (any race), two for lap races:
    MISSED_LAP_READ and SHORT_LAP, and STEADY_PACE on the road: a clean race at a
    pace the caller sets (no fade, no wobble), e.g. just under a record.
    """

    FORWARD_FACING = "FORWARD_FACING"  # runs segment k facing forwards (and faster)
    WRONG_WAY = "WRONG_WAY"  # crosses the gate at a point against the course
    MISSED_SPLIT = "MISSED_SPLIT"  # cuts the course around a point: unseen there, faster
    CHIP_SEPARATED = "CHIP_SEPARATED"  # the back chip is lost, or carried by `carrier`
    SPARSE = "SPARSE"  # clean, but badly read: many missed reads, noisy RSSI
    MISSED_LAP_READ = "MISSED_LAP_READ"  # crosses the lap line at lap k, no chip is read
    SHORT_LAP = "SHORT_LAP"  # an extra crossing of the line 8-20 s after lap k's
    STEADY_PACE = "STEADY_PACE"  # runs every segment at `pace_s_per_km`: a record attempt


FORWARD_FACING = Kind.FORWARD_FACING
WRONG_WAY = Kind.WRONG_WAY
MISSED_SPLIT = Kind.MISSED_SPLIT
CHIP_SEPARATED = Kind.CHIP_SEPARATED
SPARSE = Kind.SPARSE
MISSED_LAP_READ = Kind.MISSED_LAP_READ
SHORT_LAP = Kind.SHORT_LAP
STEADY_PACE = Kind.STEADY_PACE


@dataclass(frozen=True, slots=True)
class Behaviour:
    """One injected behaviour of a runner.

    `segment` k runs from the race's k-th point to the (k+1)-th (0-based, by
    distance); `point` is a point id of the runner's race. CHIP_SEPARATED: from
    `point` on (inclusive) the back chip is gone, or crosses with `carrier`'s body.

    Lap races: `segment` k runs from the k-th crossing of the line to the next (0 is
    the start), and `lap` k is the k-th counted crossing after the start (1-based).
    Lap races take FORWARD_FACING, SPARSE, MISSED_LAP_READ and SHORT_LAP.
    """

    kind: Kind
    segment: int | None = None
    point: str | None = None
    carrier: str | None = None
    lap: int | None = None
    pace_s_per_km: float | None = None  # STEADY_PACE

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))  # accept "WRONG_WAY" as well

    @classmethod
    def forward_facing(cls, segment: int) -> Behaviour:
        return cls(Kind.FORWARD_FACING, segment=segment)

    @classmethod
    def wrong_way(cls, point: str) -> Behaviour:
        return cls(Kind.WRONG_WAY, point=point)

    @classmethod
    def missed_split(cls, point: str) -> Behaviour:
        return cls(Kind.MISSED_SPLIT, point=point)

    @classmethod
    def chip_separated(cls, point: str, carrier: str | None = None) -> Behaviour:
        return cls(Kind.CHIP_SEPARATED, point=point, carrier=carrier)

    @classmethod
    def sparse(cls) -> Behaviour:
        return cls(Kind.SPARSE)

    @classmethod
    def missed_lap_read(cls, lap: int) -> Behaviour:
        """Lap `lap` is run and its line crossed, but no chip is read there."""
        return cls(Kind.MISSED_LAP_READ, lap=lap)

    @classmethod
    def short_lap(cls, lap: int) -> Behaviour:
        """An extra crossing of the line 8-20 s after lap `lap`'s (a step back over it)."""
        return cls(Kind.SHORT_LAP, lap=lap)

    @classmethod
    def steady_pace(cls, pace_s_per_km: float) -> Behaviour:
        """The whole race at `pace_s_per_km` seconds per km, backwards and cleanly."""
        return cls(Kind.STEADY_PACE, pace_s_per_km=pace_s_per_km)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": str(self.kind)}
        for name in ("segment", "point", "carrier", "lap", "pace_s_per_km"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out
