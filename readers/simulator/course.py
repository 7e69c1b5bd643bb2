"""The plain course description the simulator runs: readers, races, points, runners.

It mirrors the event folder (event.toml + participants.csv) without importing
`timing/`: the CLI converts an event into a `Course`, the simulator never reads files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


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
    id: str
    distance_m: float
    chips: Sequence[str] = ("front", "back")
    waves: Sequence[SimWave] = ()
    points: Sequence[SimPoint] = ()  # the point at 0 m is the start mat, the last the finish


@dataclass(frozen=True, slots=True)
class SimRunner:
    bib: str
    sex: str  # "M" or "F"
    age: int
    race: str
    wave: str
    chip_front: str
    chip_back: str | None = None


@dataclass(frozen=True, slots=True)
class Course:
    tz_name: str  # the event's timezone: readers send local wall-clock time
    day: date
    readers: Sequence[SimReader]
    races: Sequence[SimRace]
    runners: Sequence[SimRunner]
    stray_chips: int = 8  # spectators' chips that wander near the mats


class Kind(StrEnum):
    """What can be injected into a runner's race (flag codes of DESIGN.md, plus SPARSE)."""

    FORWARD_FACING = "FORWARD_FACING"  # runs segment k facing forwards (and faster)
    WRONG_WAY = "WRONG_WAY"  # crosses the gate at a point against the course
    MISSED_SPLIT = "MISSED_SPLIT"  # cuts the course around a point: unseen there, faster
    CHIP_SEPARATED = "CHIP_SEPARATED"  # the back chip is lost, or carried by `carrier`
    SPARSE = "SPARSE"  # clean, but badly read: many missed reads, noisy RSSI


FORWARD_FACING = Kind.FORWARD_FACING
WRONG_WAY = Kind.WRONG_WAY
MISSED_SPLIT = Kind.MISSED_SPLIT
CHIP_SEPARATED = Kind.CHIP_SEPARATED
SPARSE = Kind.SPARSE


@dataclass(frozen=True, slots=True)
class Behaviour:
    """One injected behaviour of a runner.

    `segment` k runs from the race's k-th point to the (k+1)-th (0-based, by
    distance); `point` is a point id of the runner's race. CHIP_SEPARATED: from
    `point` on (inclusive) the back chip is gone, or crosses with `carrier`'s body.
    """

    kind: Kind
    segment: int | None = None
    point: str | None = None
    carrier: str | None = None

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

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": str(self.kind)}
        for name in ("segment", "point", "carrier"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out
