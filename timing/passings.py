"""Passings: crossings bound to a participant and a timing point, in course order.

A runner passes the points of the race in order. Walking the runner's crossings in
time, each one is bound to the first point along the course after the last one
passed that its line belongs to (a start and finish on the same mat, say). Crossings
at a point within `span_ms` of the passing there (the other chip, the other line of
a gate) join it as evidence; its time is the earliest of them. Crossings before the
wave's gun, and at points the runner already passed later, are not passings.
"""

from __future__ import annotations

from dataclasses import dataclass

from timing.config import Race
from timing.crossings import Crossing, LineKey

MANUAL_LINE: LineKey = ("manual", ())


@dataclass(frozen=True, slots=True)
class Passing:
    point: str
    index: int  # position of the point along the race
    time_ms: int
    crossings: tuple[Crossing, ...]

    @property
    def manual(self) -> bool:
        return any(c.manual for c in self.crossings)


def race_lines(race: Race) -> dict[LineKey, list[int]]:
    """For each timing line of the race, the points (by index) it times."""
    lines: dict[LineKey, list[int]] = {}
    for index, point in enumerate(race.points):
        for antennas in point.lines().values():
            lines.setdefault((point.reader, antennas), []).append(index)
    return lines


def manual_crossing(time_ms: int) -> Crossing:
    return Crossing("manual", MANUAL_LINE, time_ms, time_ms, time_ms, 0, None, (), manual=True)


def bind(
    race: Race,
    gun_ms: int,
    crossings: list[Crossing],
    lines: dict[LineKey, list[int]],
    manual: list[tuple[int, int]],
    span_ms: int,
) -> list[Passing]:
    """The passings of one runner from all crossings of their chips at the race's lines.

    `manual` holds (point index, time) entries from the director; they bind like
    crossings, to exactly their point.
    """
    events: list[tuple[int, int, Crossing, list[int]]] = []
    for order, crossing in enumerate(crossings):
        indices = lines.get(crossing.line)
        if indices and crossing.time_ms >= gun_ms:
            events.append((crossing.time_ms, order, crossing, indices))
    for order, (index, time_ms) in enumerate(manual, start=len(crossings)):
        events.append((time_ms, order, manual_crossing(time_ms), [index]))
    events.sort(key=lambda e: (e[0], e[1]))

    bound: list[tuple[int, int, list[Crossing]]] = []  # (index, first time, crossings)
    last = -1
    for time_ms, _order, crossing, indices in events:
        if bound and bound[-1][0] in indices and time_ms - bound[-1][1] <= span_ms:
            bound[-1][2].append(crossing)
            continue
        later = [i for i in indices if i > last]
        if not later:
            continue  # a point already passed: kept as a crossing, not a passing
        last = min(later)
        bound.append((last, time_ms, [crossing]))
    return [
        Passing(race.points[index].id, index, min(c.time_ms for c in group), tuple(group))
        for index, _first, group in bound
    ]
