"""Where a runner is: points passed, distance covered, and projections with their
uncertainty at the next point and at the finish, for the live runner page.

A projection is the runner's own fitted pace (`timing.projection`); its uncertainty
grows with the distance still to run and with how unevenly the runner has paced so
far (the spread of their segment paces), never below a few per cent.
"""

from __future__ import annotations

import statistics
from typing import Any

from results.chart import segment_pace
from results.format import format_distance, format_short, point_name
from timing.config import Race
from timing.projection import project_ms
from timing.records import Record, RecordBook
from timing.results import Result
from timing.times import format_duration

MIN_SPREAD = 0.03  # a projection is never better than 3 % of the time still to run
RIEGEL = 1.06


def pace_spread(result: Result) -> float:
    """The relative spread (coefficient of variation) of the runner's segment paces."""
    paces, previous = [], 0.0
    for split in result.splits:
        pace = segment_pace(split, previous)
        if pace is not None:
            paces.append(pace)
        previous = split.distance_m
    if len(paces) < 2:
        return 2 * MIN_SPREAD  # one segment says little about the next
    return max(MIN_SPREAD, statistics.pstdev(paces) / statistics.fmean(paces))


def projection(result: Result, distance_m: float, exponent: float = RIEGEL) -> dict | None:
    """Projected elapsed time at `distance_m`, ± its uncertainty, both written."""
    at = project_ms(result.splits, distance_m, exponent)
    if at is None or not result.splits:
        return None
    last = result.splits[-1]
    still = max(0, at - last.chip_time_ms)
    plus_minus = round(still * pace_spread(result))
    return {
        "time": format_duration(at),
        "ms": at,
        "plus_minus": format_short(plus_minus),
        "clock_ms": result.passings[-1].time_ms + still if result.passings else None,
    }


def course_progress(race: Race, result: Result) -> dict[str, Any]:
    """The course as a strip: each point, passed or not, and how far the runner got."""
    passed = {p.index for p in result.passings}
    last_index = len(race.points) - 1
    points = [
        {
            "id": p.id,
            "name": point_name(p.distance_m, i == 0, i == last_index),
            "distance": format_distance(p.distance_m),
            "passed": i in passed,
            "at": p.distance_m / race.distance_m * 100 if race.distance_m else 0,
        }
        for i, p in enumerate(race.points)
    ]
    covered = result.splits[-1].distance_m if result.splits else 0.0
    if result.finish_ms is not None:
        covered = race.distance_m
    done = covered / race.distance_m * 100 if race.distance_m else 0
    return {
        "points": points,
        "passed": sum(1 for p in points if p["passed"]),
        "covered": format_distance(covered),
        "distance": format_distance(race.distance_m),
        "percent": round(min(100.0, done), 1),
    }


def next_point(race: Race, result: Result) -> tuple[int, float] | None:
    """(index, distance) of the next point the runner has not passed, for one on course."""
    if result.finish_ms is not None or not result.passings:
        return None
    last = result.passings[-1].index
    for i in range(last + 1, len(race.points)):
        return i, race.points[i].distance_m
    return None


def record_watch(book: RecordBook, race: Race, result: Result) -> list[dict[str, str]]:
    """The records a runner on course is on pace for, each with what it is measured against."""
    if not result.on_record_pace:
        return []
    p = result.participant
    applicable = book.applicable(race.distance_m, p.sex, p.category, p.nation, p.bib)
    shown = []
    for scope in result.on_record_pace:
        record = next((r for r in applicable if r.scope == scope), None)
        if record is not None:
            shown.append({"scope": scope, "against": record_text(record)})
    return shown


def record_text(record: Record) -> str:
    """ "3:43:39 by Xu Zhenjun (CHN, 2004)": a record as a spectator reads it."""
    when = ", ".join(x for x in (record.nation, str(record.date.year) if record.date else "") if x)
    holder = f" by {record.holder}" if record.holder else ""
    return f"{format_duration(record.time_ms)[:-2]}{holder}" + (f" ({when})" if when else "")
