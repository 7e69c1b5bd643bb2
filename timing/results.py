"""Results: times, splits, status and places from a runner's passings.

Gun time runs from the wave's gun, chip time from the runner's start-mat crossing
(the gun where there is none). Places go to finishers only, by the race's ranking
rule, compared at the written resolution (tenths, rounded down): runners with the
same written time share a place, and the next place skips (1, 2, 2, 4).

A `Result` is a value: once the engine has handed it out, nothing in it changes.
Ranking and the record book make new Results (`dataclasses.replace`) for the runners
whose places or records changed and keep the others as they are, the same objects, so
a reader holding an earlier snapshot never sees it half-updated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from timing.config import Race
from timing.crossings import Crossing
from timing.flags import RunnerFlag
from timing.participants import Participant
from timing.passings import Passing
from timing.point_refs import PointRef
from timing.records import RecordClaim
from timing.times import pace_min_per_km

# RUN: started, not finished, and the race not closed (on course). DNF is a decision:
# the race closed (its cutoff passed on the event clock, or the director closed it) or
# the director's own status.
STATUSES = ("FIN", "RUN", "DNF", "DNS", "DQ")
ON_COURSE = "RUN"  # the one on-course status: the leaderboard and the pages read it


@dataclass(frozen=True, slots=True)
class Split:
    point: str
    distance_m: float
    time_ms: int  # the instant of the passing
    chip_time_ms: int
    segment_time_ms: int
    pace_min_per_km: float | None
    manual: bool = False


@dataclass(frozen=True, slots=True)
class Lap:
    """One counted crossing of the lap line in a lap race (`timing/laps.py`)."""

    number: int  # 1 for the first crossing after the start
    key: PointRef  # the lap point and the crossing's time of day: names it in flags
    time_ms: int  # the instant of the crossing
    chip_time_ms: int  # from the runner's start (the gun without one)
    lap_time_ms: int  # since the previous counted crossing (the start for lap 1)
    distance_m: float  # from the start, at this crossing
    length_m: float  # of this lap (the first may be part of a lap)
    pace_min_per_km: float | None
    manual: bool = False  # a director's manual passing
    confirmed: bool = False  # a SHORT_LAP crossing the director confirmed as a lap
    inferred: bool = False  # the unread crossing of a MISSED_LAP the director confirmed

    @property
    def clock(self) -> str:
        return self.key.at


@dataclass(frozen=True, slots=True)
class Contradiction:
    """A manual passing that contradicts a chip passing at the same point."""

    point: str
    manual_ms: int
    chip_ms: int
    counts: str  # "manual" or "chip": which one the result uses


@dataclass(frozen=True, slots=True)
class Result:
    participant: Participant
    status: str
    gun_ms: int
    start_ms: int | None  # the start-mat passing, if any
    finish_ms: int | None
    gun_time_ms: int | None
    chip_time_ms: int | None
    splits: tuple[Split, ...]
    passings: tuple[Passing, ...]
    place: int | None = None
    place_sex: int | None = None
    place_category: int | None = None
    flags: tuple[RunnerFlag, ...] = ()
    # Crossings on a shared mat that fit no point (no split), and manual passings that
    # contradict a chip passing at the same point: both for the director to look at.
    unexplained: tuple[Crossing, ...] = ()
    contradictions: tuple[Contradiction, ...] = ()
    records: tuple[RecordClaim, ...] = ()
    # Record watch, for a runner still on course: the projected race time (by the
    # race's ranking, a duration) and the scopes of the records it would beat.
    projected_finish_ms: int | None = None
    on_record_pace: tuple[str, ...] = ()
    # Lap races only (None or empty on the road): the counted laps, what the live
    # leaderboard shows of them, and the distance covered.
    laps: tuple[Lap, ...] = ()
    laps_completed: int | None = None
    laps_to_go: int | None = None  # a distance lap race: laps minus laps completed
    laps_behind: int | None = None  # laps the race's leader is ahead (lapped when >= 1)
    distance_m: float | None = None  # at the last counted crossing, plus final_partial_m
    final_partial_m: float | None = None  # a timed race: measured after the horn
    end_ms: int | None = None  # a timed race: when the time runs out (gun + duration)

    @property
    def bib(self) -> str:
        return self.participant.bib

    @property
    def zero_ms(self) -> int:
        """Where chip time runs from: the start-mat passing, else the gun."""
        return self.start_ms if self.start_ms is not None else self.gun_ms

    @property
    def last_lap_ms(self) -> int | None:
        return self.laps[-1].lap_time_ms if self.laps else None

    @property
    def lapped(self) -> bool:
        return (self.laps_behind or 0) >= 1

    def rank_time(self, ranking: str) -> int | None:
        return self.gun_time_ms if ranking == "gun" else self.chip_time_ms


def runner_result(
    person: Participant,
    race: Race,
    gun_ms: int,
    passings: list[Passing],
    override: str | None = None,
    closed: bool = True,
) -> Result:
    """One runner's result; `override` is a director's DNS, DNF or DQ. Until the race
    is `closed`, a runner who started and has not finished is on course (RUN)."""
    start = race.start_point
    start_passing = (
        passings[0] if start is not None and passings and passings[0].index == 0 else None
    )
    start_ms = start_passing.time_ms if start_passing else None
    zero = start_ms if start_ms is not None else gun_ms
    finish = passings[-1] if passings and passings[-1].index == len(race.points) - 1 else None
    if start is not None and len(race.points) == 1:
        finish = None  # a race of one point at 0 m has no finish line to cross
    splits = _splits(race, passings, zero, skip_start=start_passing is not None)
    finish_ms = finish.time_ms if finish else None
    gun_time = finish_ms - gun_ms if finish_ms is not None else None
    chip_time = finish_ms - zero if finish_ms is not None else None
    if override:
        status = override
    elif finish_ms is not None and (race.cutoff_ms is None or gun_time <= race.cutoff_ms):
        status = "FIN"
    else:
        status = unfinished_status(passings, finish_ms, closed)
    return Result(
        person, status, gun_ms, start_ms, finish_ms, gun_time, chip_time, splits, tuple(passings)
    )


def unfinished_status(passings: Sequence[Passing], finish_ms: int | None, closed: bool) -> str:
    """DNS if never seen; DNF once the race is closed or after a finish past the cutoff;
    else on course."""
    if not passings:
        return "DNS"
    return "DNF" if closed or finish_ms is not None else "RUN"


def _splits(race: Race, passings: list[Passing], zero: int, skip_start: bool) -> tuple[Split, ...]:
    splits = []
    previous_ms, previous_m = zero, 0.0
    for passing in passings[1:] if skip_start else passings:
        point = race.points[passing.index]
        segment = passing.time_ms - previous_ms
        splits.append(
            Split(
                point.id,
                point.distance_m,
                passing.time_ms,
                passing.time_ms - zero,
                segment,
                pace_min_per_km(segment, point.distance_m - previous_m),
                passing.manual,
            )
        )
        previous_ms, previous_m = passing.time_ms, point.distance_m
    return tuple(splits)


def rank(
    results: list[Result],
    ranking: str,
    score: Callable[[Result], tuple[int, ...]] | None = None,
    progress: Callable[[Result], tuple[int, ...]] | None = None,
) -> list[Result]:
    """The results in display order, placed overall, by sex and by category.

    Finishers are placed by `score` (lowest first; by default the written time) and
    share a place when it is equal; the others, on course before DNF before DQ before
    DNS, go by `progress` (by default furthest along first, then who got there first).
    A result whose places change is a new Result; the others are returned as given."""

    def written(r: Result) -> tuple[int, ...]:
        time_ms = r.rank_time(ranking)
        assert time_ms is not None
        return (time_ms // 100,)

    def along(r: Result) -> tuple[int, ...]:
        return (-len(r.passings), r.passings[-1].time_ms if r.passings else 0)

    score = score or written
    progress = progress or along
    finishers = [r for r in results if r.status == "FIN"]
    finishers.sort(key=lambda r: (score(r), r.bib))
    overall = _places(finishers, score, lambda r: "")
    by_sex = _places(finishers, score, lambda r: r.participant.sex)
    by_category = _places(finishers, score, lambda r: r.participant.category)
    places = zip(overall, by_sex, by_category, strict=True)
    placed = [_placed(r, place) for r, place in zip(finishers, places, strict=True)]
    others = [  # unplaced already, nearly all of them: no call for those
        r if r.place is None and r.place_sex is None and r.place_category is None else _placed(r)
        for r in results
        if r.status != "FIN"
    ]
    order = {"RUN": 0, "DNF": 1, "DQ": 2, "DNS": 3}
    others.sort(key=lambda r: (order[r.status], progress(r), r.bib))
    return placed + others


Places = tuple[int | None, int | None, int | None]  # overall, by sex, by category


def _placed(r: Result, places: Places = (None, None, None)) -> Result:
    if (r.place, r.place_sex, r.place_category) == places:
        return r
    return replace(r, place=places[0], place_sex=places[1], place_category=places[2])


def _places(finishers: list[Result], score, group) -> list[int]:
    """Each finisher's place within its group (ties share; the next place skips)."""
    seen: dict[str, tuple[int, tuple[int, ...] | None, int]] = {}  # group -> (count, last, place)
    places = []
    for result in finishers:
        key = group(result)
        mine = score(result)
        count, last, last_place = seen.get(key, (0, None, 0))
        count += 1
        place = last_place if mine == last else count
        seen[key] = (count, mine, place)
        places.append(place)
    return places
