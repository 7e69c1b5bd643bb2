"""Leaderboard rows: what a spectator sees of each runner, as plain JSON-ready dicts.

One function builds them from the engine's results; the pages render them, the
websocket sends them, and the JSON API returns them, so all three agree.
"""

from __future__ import annotations

from typing import Any

from timing.config import Race
from timing.engine import EventResults, RaceResults
from timing.results import Result
from timing.times import format_duration

Row = dict[str, Any]


def race_rows(rr: RaceResults, decided: frozenset[str] = frozenset()) -> list[Row]:
    """Rows in live order: finishers by place, then runners on course by how far they got
    (and who got there first), then DNF, DQ, DNS. `decided` holds the bibs whose status
    a director set: a DNF of theirs is final, not "still running"."""
    race = rr.race
    finishers = [r for r in rr.results if r.status == "FIN"]
    on_course = [r for r in rr.results if _running(r, decided)]
    rest = [r for r in rr.results if r.status != "FIN" and not _running(r, decided)]
    on_course.sort(key=lambda r: (-r.passings[-1].index, r.passings[-1].time_ms - r.gun_ms))
    ordered = finishers + on_course + rest
    leader_at = _leader_times(ordered)
    return [
        _row(race, r, pos, leader_at, _running(r, decided))
        for pos, r in enumerate(ordered, start=1)
    ]


def _running(r: Result, decided: frozenset[str]) -> bool:
    return (
        r.status == "DNF"
        and r.finish_ms is None
        and bool(r.passings)
        and r.participant.bib not in decided
    )


def _leader_times(ordered: list[Result]) -> dict[int, int]:
    """For each point index, the fastest chip time there among everyone (the leader's)."""
    best: dict[int, int] = {}
    for result in ordered:
        for index, split in _indexed_splits(result):
            if index not in best or split < best[index]:
                best[index] = split
    return best


def _indexed_splits(result: Result) -> list[tuple[int, int]]:
    skip = 1 if result.start_ms is not None else 0
    return [
        (p.index, s.chip_time_ms)
        for p, s in zip(result.passings[skip:], result.splits, strict=False)
    ]


def _row(race: Race, r: Result, pos: int, leader_at: dict[int, int], running: bool) -> Row:
    p = r.participant
    last = r.splits[-1] if r.splits else None
    last_index = r.passings[-1].index if r.passings else None
    gap = None
    if last is not None and last_index is not None and last_index in leader_at:
        gap = last.chip_time_ms - leader_at[last_index]
    projected = getattr(r, "projected_finish_ms", None)
    on_pace = getattr(r, "on_record_pace", None) or []
    return {
        "pos": pos,
        "place": r.place,
        "place_category": r.place_category,
        "bib": p.bib,
        "name": p.name,
        "sex": p.sex,
        "category": p.category,
        "club": p.club,
        "status": "RUN" if running else r.status,
        "last_point": last.point if last else None,
        "last_distance_m": last.distance_m if last else 0,
        "time": format_duration(
            r.chip_time_ms if r.chip_time_ms is not None else (last.chip_time_ms if last else None)
        ),
        "gap": format_duration(gap) if gap else ("" if gap is None else "0:00:00.0"),
        "projected": format_duration(projected),
        "on_record_pace": list(on_pace),
        "flags": [f.get("code") for f in r.flags if f.get("status") == "confirmed"],
        "finished": r.finish_ms is not None,
        "race": race.id,
    }


def event_rows(
    results: EventResults, decided: frozenset[str] = frozenset()
) -> dict[str, list[Row]]:
    return {rr.race.id: race_rows(rr, decided) for rr in results.races}
