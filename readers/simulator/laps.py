"""Track races: laps at one line, lap races and timed races.

A lap race ends at the `laps`-th crossing of the line after the start; a timed race
counts the crossings within `duration_ms` of the gun, and each runner stops at the
first crossing after the end of time, which is run (and read) but does not count.

Track paces are drawn for 5,000 m (about 25-50 min backwards, the fastest near the
backwards record scaled by Riegel) and scaled to the distance the runner covers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from readers.simulator.course import Behaviour, Kind, RecordTime, SimPoint, SimRace, SimRunner
from readers.simulator.runners import Pass, Plan, age_factor, record_pace, riegel_pace

TRACK_REF_M = 5_000.0
TRACK_SLOWEST_S_PER_KM = 600.0  # a 50-minute backwards 5,000 m
_TRACK_EXCESS_MEDIAN_S = {"M": 100.0, "F": 85.0}  # median pace above the record pace
_TRACK_EXCESS_SIGMA = 0.45
_TRACK_ELITE_SHARE = 0.05
END_MARGIN_MS = 1_000  # no crossing this close to a timed race's end: tenths never decide
SHORT_LAP_S = (8.0, 20.0)  # an extra crossing this long after the real one
_LAP_KINDS = (Kind.FORWARD_FACING, Kind.SPARSE, Kind.MISSED_LAP_READ, Kind.SHORT_LAP)


@dataclass(frozen=True, slots=True)
class Track:
    """Where a track race's runners meet the line (indices into the sorted points)."""

    lap_m: float
    first_m: float  # from the start to the first counted crossing
    laps: int | None  # a lap race
    duration_ms: int | None  # a timed race
    line: int
    start: int | None  # a start point at 0 m, on the line or on its own mat
    start_on_line: bool

    def distance_m(self, crossings: int) -> float:
        """The distance run at the `crossings`-th counted crossing."""
        return self.first_m + (crossings - 1) * self.lap_m if crossings > 0 else 0.0


def _same_line(a: SimPoint, b: SimPoint) -> bool:
    return a.reader == b.reader and (
        tuple(a.antennas),
        tuple(a.upstream),
        tuple(a.downstream),
    ) == (tuple(b.antennas), tuple(b.upstream), tuple(b.downstream))


def track_of(race: SimRace, pts: Sequence[SimPoint]) -> Track | None:
    """The race's track, None for a road race; ValueError if it does not add up."""
    where = f"race {race.id}"
    if not race.is_track:
        if race.lap_m is not None:
            raise ValueError(f"{where}: lap_m needs laps or duration_ms")
        return None
    if race.laps is not None and race.duration_ms is not None:
        raise ValueError(f"{where}: a race has laps or duration_ms, not both")
    lap_m = race.lap_m
    if lap_m is None or lap_m <= 0:
        raise ValueError(f"{where}: a track race needs lap_m > 0")
    if race.laps is not None and race.laps < 1:
        raise ValueError(f"{where}: laps must be at least 1")
    if race.duration_ms is not None and race.duration_ms <= 0:
        raise ValueError(f"{where}: duration_ms must be positive")
    if not pts or len(pts) > 2 or (len(pts) == 2 and pts[0].distance_m != 0.0):
        raise ValueError(f"{where}: a track race has a lap line and at most a start point at 0 m")
    line = len(pts) - 1
    start = 0 if len(pts) == 2 else None
    on_line = start is not None and _same_line(pts[0], pts[line])
    if race.duration_ms is not None:
        return Track(lap_m, lap_m, None, race.duration_ms, line, start, on_line)
    rest = math.fmod(race.distance_m, lap_m)
    if rest < 0.5 or lap_m - rest < 0.5:
        rest = 0.0
    if on_line and rest:
        raise ValueError(f"{where}: {race.distance_m:g} m is no whole number of laps from the line")
    first = rest or lap_m
    crossings = round((race.distance_m - first) / lap_m) + 1
    if crossings != race.laps:
        raise ValueError(
            f"{where}: {race.distance_m:g} m on a {lap_m:g} m lap crosses the line "
            f"{crossings} times, not {race.laps}"
        )
    return Track(lap_m, first, race.laps, None, line, start, on_line)


def draw_track_pace(
    rng: random.Random, records: Mapping[str, RecordTime], sex: str, age: int
) -> float:
    """A runner's 5,000 m pace (s/km): record floor plus a log-normal excess, by age."""
    floor = 0.99 * record_pace(records, TRACK_REF_M, sex)
    if rng.random() < _TRACK_ELITE_SHARE:
        excess = 30.0 * rng.random()
    else:
        median = _TRACK_EXCESS_MEDIAN_S.get(sex, _TRACK_EXCESS_MEDIAN_S["M"])
        excess = median * math.exp(rng.gauss(0.0, _TRACK_EXCESS_SIGMA))
    pace = (floor + excess) * age_factor(age)
    if pace > TRACK_SLOWEST_S_PER_KM:
        pace = TRACK_SLOWEST_S_PER_KM - 60.0 * rng.random()
    return pace


def nominal_m(race: SimRace, track: Track, pace_5k: float) -> float:
    """The distance the runner's effort is for: the race's, or an hour's worth at 5k pace."""
    if track.duration_ms is None:
        return race.distance_m
    return max(track.lap_m, track.duration_ms / pace_5k)  # ms / (s/km) = m


def track_pace(
    rng: random.Random,
    records: Mapping[str, RecordTime],
    sex: str,
    age: int,
    race: SimRace,
    track: Track,
) -> float:
    p5 = draw_track_pace(rng, records, sex, age)
    return riegel_pace(p5, TRACK_REF_M, nominal_m(race, track, p5))


def _lap_behaviours(
    behaviours: Sequence[Behaviour], runner: SimRunner, race: SimRace, track: Track
) -> tuple[set[int], list[int], list[int], bool]:
    forward: set[int] = set()
    missed: list[int] = []
    shorts: list[int] = []
    sparse = False
    for b in behaviours:
        where = f"bib {runner.bib}: {b.kind}"
        if b.kind not in _LAP_KINDS:
            raise ValueError(f"{where}: not simulated in track race {race.id}")
        if b.kind is Kind.SPARSE:
            sparse = True
        elif b.kind is Kind.FORWARD_FACING:
            top = track.laps if track.laps is not None else math.inf
            if b.segment is None or not 0 <= b.segment < top:
                raise ValueError(f"{where}: segment must be 0..{top - 1} (laps of race {race.id})")
            forward.add(b.segment)
        else:
            top = track.laps if track.laps is not None else math.inf
            if b.lap is None or not 1 <= b.lap <= top:
                raise ValueError(f"{where}: lap must be 1..{top} in race {race.id}")
            (missed if b.kind is Kind.MISSED_LAP_READ else shorts).append(b.lap)
    return forward, missed, shorts, sparse


def apply_lap_behaviours(
    passes: list[Pass], missed: Sequence[int], shorts: Sequence[int], who: str
) -> list[Pass]:
    """Unread counted crossings and extra short-lap crossings, in time order.

    A short lap: the runner stops past the line, walks back over it and runs on
    across it 8-20 s after the real crossing (the back-and-forth is one crossing once
    deduped). Later laps keep their times, and so does everyone else's race: the
    extra crossing's delay is drawn from its own generator, seeded by the bib, the lap
    and the crossing's time (which the simulation's seed decides).
    """
    counted = [i for i, p in enumerate(passes) if p.tag == "lap"]
    out = list(passes)
    for k in (*missed, *shorts):
        if k > len(counted):
            raise ValueError(f"bib {who}: lap {k} is never run ({len(counted)} laps)")
    for k in missed:
        i = counted[k - 1]
        out[i] = out[i]._replace(read=False)
    for k in shorts:
        real = passes[counted[k - 1]]
        own = random.Random(f"short lap:{who}:{k}:{real.t!r}")
        t = real.t + 1000.0 * own.uniform(*SHORT_LAP_S)
        out.append(Pass(real.point, t, 0.6 * real.speed, real.forward, tag="short_lap"))
    out.sort(key=lambda p: p.t)
    return out


def plan_lap(
    rng: random.Random,
    records: Mapping[str, RecordTime],
    runner: SimRunner,
    race: SimRace,
    pts: Sequence[SimPoint],
    track: Track,
    gun_ms: int,
    pace: float,
    delay_s: float,
    behaviours: tuple[Behaviour, ...],
) -> Plan:
    """One runner's track race: the start, every lap-line crossing, then stop."""
    forward_segments, missed, shorts, sparse = _lap_behaviours(behaviours, runner, race, track)
    start_ms = gun_ms + delay_s * 1000.0
    end = gun_ms + track.duration_ms if track.duration_ms is not None else math.inf
    total_m = nominal_m(race, track, pace)
    floor = 0.97 * record_pace(records, total_m, runner.sex)  # no clean lap beats it
    fade = rng.uniform(0.0, 0.06)
    passes: list[Pass] = []
    if track.start is not None:
        passes.append(Pass(track.start, start_ms, 0.8 * 1000.0 / pace, False, tag="start"))
    t, covered, seg = start_ms, 0.0, 0
    while True:
        d = track.first_m if seg == 0 else track.lap_m
        if track.duration_ms is None:
            frac = (covered + d / 2.0) / race.distance_m
        else:
            frac = (t - start_ms) / track.duration_ms
        p = pace * (1.0 + 0.025 * rng.gauss(0.0, 1.0))
        if frac > 0.5:
            p *= 1.0 + fade * min(1.0, (frac - 0.5) / 0.5) ** 1.5
        p = max(p, floor)
        facing = seg in forward_segments
        if facing:
            p *= rng.uniform(0.60, 0.72)
        t += d * p  # metres x s/km = ms
        if end - END_MARGIN_MS < t < end + END_MARGIN_MS:
            t = end + END_MARGIN_MS + 500.0 * rng.random()
        covered += d
        seg += 1
        after = t > end
        passes.append(Pass(track.line, t, 1000.0 / p, facing, tag="after_time" if after else "lap"))
        if after or seg == track.laps:
            break
    for s in forward_segments:
        if s >= seg:
            raise ValueError(f"bib {runner.bib}: {Kind.FORWARD_FACING}: segment {s} is never run")
    passes = apply_lap_behaviours(passes, missed, shorts, runner.bib)
    return lap_plan(runner, race, pts, track, gun_ms, pace, start_ms, passes, sparse, behaviours)


def lap_plan(
    runner: SimRunner,
    race: SimRace,
    pts: Sequence[SimPoint],
    track: Track,
    gun_ms: int,
    pace: float,
    start_ms: float,
    passes: list[Pass],
    sparse: bool,
    behaviours: tuple[Behaviour, ...],
) -> Plan:
    """The Plan of a track runner (or spotter) from their passes."""
    n = len(pts)
    times: list[float | None] = [None] * n
    speeds = [1000.0 / pace] * n
    forward = [False] * n
    for p in passes:
        if p.tag in ("start", "lap"):
            times[p.point], speeds[p.point], forward[p.point] = p.t, p.speed, p.forward
    return Plan(
        runner=runner,
        race=race,
        points=pts,
        gun_ms=gun_ms,
        pace_s_per_km=pace,
        start_ms=start_ms,
        times=times,
        speeds=speeds,
        forward=forward,
        wrong_way=[False] * n,
        back_gone_from=None,
        carrier=None,
        sparse=sparse,
        shortcut_m=0.0,
        behaviours=behaviours,
        passes=passes,
        track=track,
    )


def lap_truth(plan: Plan) -> dict[str, object]:
    """The track part of a runner's truth: counted laps, distance, every line crossing."""
    track = plan.track
    assert track is not None
    counted = [p for p in plan.passes if p.tag == "lap"]
    laps = [round(p.t) for p in counted]
    crossings = [
        {"t": round(p.t), "kind": p.tag, "read": p.read}
        for p in plan.passes
        if p.point == track.line or (p.tag == "start" and track.start_on_line)
    ]
    out: dict[str, object] = {
        "laps": laps,
        "laps_completed": len(laps),
        "distance_m": round(track.distance_m(len(laps)), 1),
        "crossings": crossings,
        "short_laps": [round(p.t) for p in plan.passes if p.tag == "short_lap"],
        "missed_lap_reads": [k for k, p in enumerate(counted, 1) if not p.read],
    }
    if track.duration_ms is not None:
        out["end_ms"] = plan.gun_ms + track.duration_ms
        after = [round(p.t) for p in plan.passes if p.tag == "after_time"]
        out["after_time_ms"] = after[0] if after else None
    return out
