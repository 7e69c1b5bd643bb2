"""How fast people run backwards, and when each runner crosses each point.

Paces are seconds per km. The fastest runners are near the records the course
carries (`Course.records`: the backwards marathon for men, the half for women), the
median is about 8-9 min/km and the tail reaches about 13 min/km. Women are somewhat
slower, older runners slower; each segment varies and the second half fades.
Distances scale by Riegel (T2 = T1 x (D2/D1)^1.06).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from readers.simulator.course import Behaviour, Kind, RecordTime, SimPoint, SimRace, SimRunner

if TYPE_CHECKING:
    from readers.simulator.laps import Track

MARATHON_M = 42_195.0
RIEGEL = 1.06
SLOWEST_S_PER_KM = 800.0  # the back of the field, near the cut-off
_EXCESS_MEDIAN_S = {"M": 160.0, "F": 130.0}  # median pace above the record pace
_EXCESS_SIGMA = 0.5
_ELITE_SHARE = 0.01


def riegel_pace(pace_s_per_km: float, from_m: float, to_m: float) -> float:
    """The same effort's pace at another distance."""
    return pace_s_per_km * (to_m / from_m) ** (RIEGEL - 1.0)


def record_pace(records: Mapping[str, RecordTime], distance_m: float, sex: str) -> float:
    """The backwards record pace scaled to `distance_m`, for the runner's sex."""
    best = records["F" if sex == "F" else "M"]
    return riegel_pace(best.time_s / (best.distance_m / 1000), best.distance_m, distance_m)


def age_factor(age: int) -> float:
    """Slower with age after 35 (and a little for teenagers), roughly as age grading."""
    if age < 20:
        return 1.0 + 0.01 * (20 - age)
    over = max(0, age - 35)
    return 1.0 + 0.005 * over + 0.00015 * over * over


def draw_pace(
    rng: random.Random, records: Mapping[str, RecordTime], sex: str, age: int, distance_m: float
) -> float:
    """A runner's race pace: record floor plus a log-normal excess, scaled by age."""
    floor = 0.99 * record_pace(records, distance_m, sex)  # a record now and then, never by much
    if rng.random() < _ELITE_SHARE:
        excess = 40.0 * rng.random()  # the few who come to chase a record
    else:
        median = _EXCESS_MEDIAN_S.get(sex, _EXCESS_MEDIAN_S["M"])
        excess = median * math.exp(rng.gauss(0.0, _EXCESS_SIGMA))
    pace = (floor + excess) * age_factor(age)
    if pace > SLOWEST_S_PER_KM:
        pace = SLOWEST_S_PER_KM - 60.0 * rng.random()  # the sweeper bus takes the rest
    return pace


class Pass(NamedTuple):
    """One crossing of a point's line(s), true epoch ms: what the reads are made from.

    `tag` says what a lap-line crossing is: "start", "lap" (counted), "after_time"
    (the uncounted one after a timed race's end), "short_lap" (an extra one).
    """

    point: int  # index into Plan.points
    t: float
    speed: float  # m/s
    forward: bool  # facing forwards
    wrong_way: bool = False
    read: bool = True  # False: crossed, but no chip is read
    tag: str = ""


@dataclass(slots=True)
class Plan:
    """One runner's true race: times at each point (sorted by distance), in true epoch ms.

    `passes` are every crossing in time order (one per point crossed on a road; the
    start and every lap-line crossing on a track). `track` is set in track races.
    """

    runner: SimRunner
    race: SimRace
    points: Sequence[SimPoint]
    gun_ms: int
    pace_s_per_km: float
    start_ms: float
    times: list[float | None]  # at each point's timing line; None where skipped
    speeds: list[float]  # m/s when crossing each point
    forward: list[bool]  # facing forwards when crossing each point
    wrong_way: list[bool]
    back_gone_from: int | None  # index of the first point without the back chip on this body
    carrier: str | None
    sparse: bool
    shortcut_m: float
    behaviours: tuple[Behaviour, ...]
    passes: list[Pass] = field(default_factory=list)
    track: Track | None = None  # track races


def sorted_points(race: SimRace) -> list[SimPoint]:
    return sorted(race.points, key=lambda p: p.distance_m)


def plan_road(
    rng: random.Random,
    records: Mapping[str, RecordTime],
    runner: SimRunner,
    race: SimRace,
    pts: Sequence[SimPoint],
    gun_ms: int,
    pace: float,
    delay_s: float,
    behaviours: tuple[Behaviour, ...],
    bibs: Mapping[str, SimRunner],
) -> Plan:
    n = len(pts)
    index = {p.id: k for k, p in enumerate(pts)}
    forward_segments: set[int] = set()
    wrong = [False] * n
    skip: set[int] = set()
    back_gone_from: int | None = None
    carrier: str | None = None
    sparse = False
    steady: float | None = None
    for b in behaviours:
        k = check_road(b, runner, race, pts, index, bibs)
        if b.kind is Kind.STEADY_PACE:
            steady = b.pace_s_per_km
        elif b.kind is Kind.FORWARD_FACING:
            forward_segments.add(k)
        elif b.kind is Kind.WRONG_WAY:
            wrong[k] = True
        elif b.kind is Kind.MISSED_SPLIT:
            skip.add(k)
        elif b.kind is Kind.CHIP_SEPARATED:
            back_gone_from, carrier = k, b.carrier
        else:
            sparse = True

    floor = 0.97 * record_pace(records, race.distance_m, runner.sex)  # no clean segment beats it
    fade = rng.uniform(0.0, 0.14) * min(1.0, race.distance_m / MARATHON_M)
    seg_ms: list[float] = []
    seg_pace: list[float] = []
    for k in range(n - 1):
        a, b_ = pts[k].distance_m, pts[k + 1].distance_m
        frac = (a + b_) / 2 / race.distance_m if race.distance_m else 0.0
        p = pace * (1.0 + 0.03 * rng.gauss(0.0, 1.0))
        if frac > 0.5:
            p *= 1.0 + fade * ((frac - 0.5) / 0.5) ** 1.5
        p = max(p, floor) if steady is None else steady  # (the draws above keep the seed's)
        if k in forward_segments:
            p *= rng.uniform(0.60, 0.72)  # forwards is much quicker
        seg_pace.append(p)
        seg_ms.append((b_ - a) / 1000.0 * p * 1000.0)
    shortcut_m = 0.0
    for k in sorted(skip):
        # A cut course: part of both segments around the point is never run.
        cut = rng.uniform(0.25, 0.5)
        for s in (k - 1, k):
            shortcut_m += cut * (pts[s + 1].distance_m - pts[s].distance_m)
            seg_ms[s] *= 1.0 - cut
    start_ms = gun_ms + delay_s * 1000.0
    t = start_ms + (pts[0].distance_m / 1000.0 * pace * 1000.0 if n else 0.0)
    times: list[float | None] = []
    for k in range(n):
        if k:
            t += seg_ms[k - 1]
        times.append(None if k in skip else t)
    first_pace = seg_pace[0] if seg_pace else pace
    speeds = [0.8 * 1000.0 / first_pace] + [1000.0 / p for p in seg_pace]
    forward = [False] + [k in forward_segments for k in range(n - 1)]
    passes = [
        Pass(k, t_k, speeds[k], forward[k], wrong[k])
        for k, t_k in enumerate(times)
        if t_k is not None
    ]
    return Plan(
        runner=runner,
        race=race,
        points=pts,
        gun_ms=gun_ms,
        pace_s_per_km=pace,
        start_ms=start_ms,
        times=times,
        speeds=speeds[:n],
        forward=forward[:n],
        wrong_way=wrong,
        back_gone_from=back_gone_from,
        carrier=carrier,
        sparse=sparse,
        shortcut_m=shortcut_m,
        behaviours=behaviours,
        passes=passes,
    )


def check_road(
    b: Behaviour,
    runner: SimRunner,
    race: SimRace,
    pts: Sequence[SimPoint],
    index: Mapping[str, int],
    bibs: Mapping[str, SimRunner],
) -> int:
    """The segment or point index a behaviour applies to; ValueError if it cannot apply."""
    where = f"bib {runner.bib}: {b.kind}"
    if b.kind in (Kind.MISSED_LAP_READ, Kind.SHORT_LAP):
        raise ValueError(f"{where}: race {race.id} is not a lap race")
    if b.kind is Kind.FORWARD_FACING:
        if b.segment is None or not 0 <= b.segment < len(pts) - 1:
            raise ValueError(f"{where}: segment must be 0..{len(pts) - 2}")
        return b.segment
    if b.kind is Kind.SPARSE:
        return -1
    if b.kind is Kind.STEADY_PACE:
        if not b.pace_s_per_km or b.pace_s_per_km <= 0:
            raise ValueError(f"{where}: pace_s_per_km must be above 0")
        return -1
    if b.point not in index:
        raise ValueError(f"{where}: race {race.id} has no point {b.point!r}")
    k = index[b.point]
    if b.kind is Kind.WRONG_WAY and not pts[k].is_gate:
        raise ValueError(f"{where}: point {b.point} has no upstream/downstream gate")
    if b.kind is Kind.MISSED_SPLIT and not 0 < k < len(pts) - 1:
        raise ValueError(f"{where}: only an intermediate point can be cut")
    if b.kind is Kind.CHIP_SEPARATED:
        if "back" not in race.chips:
            raise ValueError(f"{where}: race {race.id} has no back chips")
        if b.carrier is not None:
            other = bibs.get(b.carrier)
            if other is None or other.race != race.id or other.bib == runner.bib:
                raise ValueError(f"{where}: carrier must be another runner of race {race.id}")
    return k
