"""Leaderboard rows: what a spectator sees of each runner, as plain JSON-ready dicts.

One function builds them from the engine's results; the pages render them, the
websocket sends them, and the JSON API returns them, so all three agree.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from results.format import point_name
from timing.config import COURSE, TRACK, Race
from timing.engine import EventResults, RaceResults
from timing.flags import public_flags
from timing.results import ON_COURSE, Result
from timing.times import format_duration

Row = dict[str, Any]
# What a phone shows of a row at a glance; the other columns are a tap away.
PHONE_KEYS = frozenset({"place", "name", "last_split", "time", "laps", "distance"})
RowCache = dict[str, tuple[Result, Any, Row]]  # bib -> (result, leader time at its point, row)


def race_rows(
    rr: RaceResults,
    now_ms: int | None = None,
    cache: RowCache | None = None,
    rebuilt: set[str] | None = None,
) -> list[Row]:
    """Rows in live order, each race's kind its own way (`BOARDS`).

    `rebuilt` gathers the bibs whose rows were built anew (the others' are the cached
    rows, whatever their position): the only rows an update may need to carry."""
    return BOARDS[rr.race.kind].rows(rr, now_ms, cache, rebuilt)


def tells_time(race: Race) -> bool:
    """Whether the race's rows change with the clock, not only with its results."""
    return BOARDS[race.kind].tells_time


class CourseBoard:
    """Finishers by place, then runners on course by how far they got (and who got
    there first), then DNF, DQ, DNS. Who is on course is the engine's word (status RUN),
    so a DNF the director set or a closed race is never "still running". A row shows
    the last split passed, the time there, the gap to the leader at that point and the
    projected finish."""

    tells_time = False

    @staticmethod
    def rows(
        rr: RaceResults, now_ms: int | None, cache: RowCache | None, rebuilt: set[str] | None
    ) -> list[Row]:
        race = rr.race
        finishers: list[Result] = []
        on_course: list[Result] = []
        rest: list[Result] = []
        for r in rr.results:  # one pass: this runs for every runner at every refresh
            status = r.status
            group = finishers if status == "FIN" else on_course if status == ON_COURSE else rest
            group.append(r)
        on_course.sort(key=lambda r: (-r.passings[-1].index, r.passings[-1].time_ms - r.gun_ms))
        ordered = finishers + on_course + rest
        leader_at = _leader_times(ordered)
        rows = []
        for pos, r in enumerate(ordered, start=1):
            running = r.status == ON_COURSE
            last = r.passings[-1].index if r.passings else None
            # A row is a function of its Result, which the engine hands out frozen (a
            # runner whose result, places included, did not change keeps the same
            # object), and of the leader's time at the runner's last point (its gap).
            key = leader_at.get(last)
            cached = cache.get(r.participant.bib) if cache is not None else None
            if cached is not None and cached[0] is r and cached[1] == key:
                row = cached[2] if cached[2]["pos"] == pos else {**cached[2], "pos": pos}
            else:
                row = _row(race, r, pos, leader_at, running)
                if rebuilt is not None:
                    rebuilt.add(r.participant.bib)
            if cache is not None:
                cache[r.participant.bib] = (r, key, row)
            rows.append(row)
        return rows

    @staticmethod
    def columns(race: Race) -> list[tuple[str, str]]:
        return [("last_split", "Last split"), ("time", "Time"), ("gap", "Gap"),
                ("projected", "Projected")]  # fmt: skip


class TrackBoard:
    """The engine's lap order (a lapped runner is never ahead of one with more laps). A
    row shows laps done and to go, the last lap, the gap in laps; a timed race shows the
    distance covered instead of the laps to go."""

    tells_time = True  # a timed race is still running until a minute after its end

    @staticmethod
    def rows(
        rr: RaceResults, now_ms: int | None, cache: RowCache | None, rebuilt: set[str] | None
    ) -> list[Row]:
        if rebuilt is not None:
            rebuilt.update(r.participant.bib for r in rr.results)
        race = rr.race
        return [_lap_row(race, r, pos, now_ms) for pos, r in enumerate(rr.results, start=1)]

    @staticmethod
    def columns(race: Race) -> list[tuple[str, str]]:
        if race.is_timed:
            own = [("laps", "Laps"), ("distance", "Distance"), ("last_lap", "Last lap")]
        else:
            own = [("laps", "Laps"), ("to_go", "To go"), ("last_lap", "Last lap"), ("time", "Time")]
        return [*own, ("gap", "Gap")]


def _leader_times(ordered: list[Result]) -> dict[int, int]:
    """For each point index, the fastest chip time there among everyone (the leader's)."""
    best: dict[int, int] = {}
    get = best.get
    for result in ordered:
        if not result.splits:
            continue
        skip = 1 if result.start_ms is not None else 0
        for p, s in zip(result.passings[skip:], result.splits, strict=False):
            held = get(p.index)
            if held is None or s.chip_time_ms < held:
                best[p.index] = s.chip_time_ms
    return best


def _row(race: Race, r: Result, pos: int, leader_at: dict[int, int], running: bool) -> Row:
    last = r.splits[-1] if r.splits else None
    last_index = r.passings[-1].index if r.passings else None
    gap = None
    if last is not None and last_index is not None and last_index in leader_at:
        gap = last.chip_time_ms - leader_at[last_index]
    return {
        **_runner_fields(race, r, pos, running),
        "last_point": last.point if last else None,
        "last_split": point_names(race).get(last.point, last.point) if last else "",
        "last_distance_m": last.distance_m if last else 0,
        "time": format_duration(
            r.chip_time_ms if r.chip_time_ms is not None else (last.chip_time_ms if last else None)
        ),
        "gap": format_duration(gap) if gap else ("" if gap is None else "0:00:00.0"),
        "projected": format_duration(r.projected_finish_ms),
        "on_record_pace": list(r.on_record_pace),
        "finished": r.finish_ms is not None,
    }


@cache
def point_names(race: Race) -> dict[str, str]:
    last = len(race.points) - 1
    return {p.id: point_name(p.distance_m, i == 0, i == last) for i, p in enumerate(race.points)}


def _runner_fields(race: Race, r: Result, pos: int, running: bool) -> Row:
    """What every leaderboard row shows, road or track."""
    p = r.participant
    return {
        "pos": pos,
        "place": r.place,
        "place_category": r.place_category,
        "bib": p.bib,
        "name": p.name,
        "sex": p.sex,
        "category": p.category,
        "club": p.club,
        "nation": p.nation,
        "status": shown_status(r, running),
        "flags": [f.code for f in public_flags(r.flags)],
        "race": race.id,
    }


def shown_status(r: Result, running: bool) -> str:
    """The status spectators see: on course, or the engine's FIN, DNF, DNS, DQ."""
    return ON_COURSE if running or r.status == ON_COURSE else r.status


def _lap_row(race: Race, r: Result, pos: int, now_ms: int | None) -> Row:
    """A lap race's row: laps done and to go, last lap, gap in laps (a lapped runner is
    shown as lapped, not as ahead), and in a timed race the distance covered."""
    running = (
        r.status in ("FIN", ON_COURSE)
        and (r.end_ms is not None and (now_ms is None or now_ms < r.end_ms + 60_000))
        if race.is_timed
        else r.status == ON_COURSE
    )
    behind = r.laps_behind or 0
    return {
        **_runner_fields(race, r, pos, running),  # status FIN/DNF only: a DQ never runs
        "laps": r.laps_completed,
        "to_go": r.laps_to_go,
        "last_lap": format_duration(r.last_lap_ms),
        "gap": ("lapped" if behind == 1 else f"{behind} laps") if behind >= 1 else "",
        "lapped": behind >= 1,
        "distance": f"{r.distance_m / 1000:.3f} km" if r.distance_m is not None else "",
        "bell": r.laps_to_go == 1,
        "time": format_duration(r.chip_time_ms),
        "on_record_pace": [],
        "finished": r.finish_ms is not None and not running,
        "last_point": None,
        "last_split": "",
        "last_distance_m": r.distance_m or 0,
        "projected": None,
    }


def columns(race: Race) -> list[tuple[str, str]]:
    """The leaderboard's columns (key, heading): the page and live.js draw the same."""
    runner = [("place", "#"), ("bib", "Bib"), ("name", "Name"), ("category", "Cat")]
    return [*runner, *BOARDS[race.kind].columns(race), ("status", "Status")]


BOARDS = {COURSE: CourseBoard, TRACK: TrackBoard}


def phone_keys(race: Race) -> frozenset[str]:
    """The columns a phone shows of `race`'s rows (the rest open under the name)."""
    return PHONE_KEYS & {key for key, _ in columns(race)}


def event_rows(
    results: EventResults,
    now_ms: int | None = None,
    cache: RowCache | None = None,
    rebuilt: set[str] | None = None,
) -> dict[str, list[Row]]:
    return {rr.race.id: race_rows(rr, now_ms, cache, rebuilt) for rr in results.races}
