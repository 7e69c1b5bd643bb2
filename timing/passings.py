"""Passings: crossings bound to a participant and a timing point, in course order.

A runner passes the points of the race in order. Walking the runner's chip crossings
in time, each one is bound to a point along the course after the last one passed that
its line belongs to: on a line of one point, that point; on a mat several points
share (a start and finish, an out-and-back), the one the runner can have reached by
then, nearest their own pace. Crossings at a point within `span_ms` of the passing
there (the other chip, the other line of a gate) join it as evidence; its time is the
earliest of them. Crossings before the wave's gun, and at points the runner already
passed later, are not passings. Manual passings join afterwards, each at its own
point, so a mistyped one never shifts the chip crossings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

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


def antenna_lines(races: Iterable[Race]) -> dict[tuple[str, int], LineKey]:
    """Each (reader, antenna) to the line it belongs to; lines include oncoming panels."""
    line_of: dict[tuple[str, int], LineKey] = {}
    for race in races:
        for point in race.points:
            groups = [*point.lines().values()]
            if point.oncoming:
                groups.append(point.oncoming)
            for antennas in groups:
                for antenna in antennas:
                    line_of[(point.reader, antenna)] = (point.reader, antennas)
    return line_of


def manual_crossing(time_ms: int) -> Crossing:
    return Crossing("manual", MANUAL_LINE, time_ms, time_ms, time_ms, 0, None, (), manual=True)


# The fastest a runner may cover a length (m) in ms: the backwards record pace, Riegel-
# scaled to the length, less the validation tolerance (0 where there is no record).
Fastest = Callable[[float], float]


@dataclass(frozen=True, slots=True)
class Binding:
    passings: list[Passing]
    unexplained: list[Crossing] = field(default_factory=list)  # fits no point: no split
    # A manual passing and a chip passing at one point: (point index, manual ms, chip
    # ms, which counts).
    contradictions: list[tuple[int, int, int, str]] = field(default_factory=list)


def bind(
    race: Race,
    gun_ms: int,
    crossings: list[Crossing],
    lines: dict[LineKey, list[int]],
    manual: list[tuple[int, int]],
    span_ms: int,
) -> list[Passing]:
    """The passings of one runner, without the pace rule of shared mats."""
    return bind_all(race, gun_ms, crossings, lines, manual, span_ms).passings


def bind_all(
    race: Race,
    gun_ms: int,
    crossings: list[Crossing],
    lines: dict[LineKey, list[int]],
    manual: list[tuple[int, int]],
    span_ms: int,
    fastest: Fastest | None = None,
    prefer: dict[int, str] | None = None,
) -> Binding:
    """The passings of one runner from all crossings of their chips at the race's lines.

    `manual` holds (point index, time) entries from the director; they bind to exactly
    their point. With `fastest`, a crossing on a line several points share binds only
    to a point the runner can have reached since their last passing (the one nearest
    their own pace); one that fits none is unexplained and makes no split. A manual
    and a chip passing at the same point at different times: `prefer` (index ->
    "manual" or "chip") says which counts, else the one that fits the runner's times
    (the manual one where both do).
    """
    events = [
        (c.time_ms, order, c, lines[c.line])
        for order, c in enumerate(crossings)
        if lines.get(c.line) and c.time_ms >= gun_ms
    ]
    for order, (index, time_ms) in enumerate(manual, start=len(crossings)):
        events.append((time_ms, order, manual_crossing(time_ms), [index]))
    events.sort(key=lambda e: (e[0], e[1]))
    walk = _Walk(race, gun_ms, span_ms, fastest, prefer or {})
    for time_ms, _order, crossing, indices in events:
        walk.step(time_ms, crossing, indices)
    passings = [
        Passing(race.points[index].id, index, min(c.time_ms for c in group), tuple(group))
        for index, _first, group in walk.bound
    ]
    return Binding(passings, walk.unexplained, walk.contradictions)


class _Walk:
    """The runner's crossings walked in time, each bound, joined, or set aside."""

    def __init__(
        self,
        race: Race,
        gun_ms: int,
        span_ms: int,
        fastest: Fastest | None,
        prefer: dict[int, str],
    ) -> None:
        self.gun_ms, self.span_ms, self.fastest, self.prefer = gun_ms, span_ms, fastest, prefer
        self.distance = [p.distance_m for p in race.points]
        self.bound: list[tuple[int, int, list[Crossing]]] = []  # (index, first ms, crossings)
        self.unexplained: list[Crossing] = []
        self.contradictions: list[tuple[int, int, int, str]] = []

    def step(self, time_ms: int, crossing: Crossing, indices: list[int]) -> None:
        bound = self.bound
        if bound and bound[-1][0] in indices and time_ms - bound[-1][1] <= self.span_ms:
            bound[-1][2].append(crossing)
            return
        last = bound[-1][0] if bound else -1
        later = [i for i in indices if i > last]
        shared = len(indices) > 1 and self.fastest is not None
        if shared:
            later = [i for i in later if self._reachable(len(bound), i, time_ms)]
        if later:
            chosen = self._nearest_pace(later, time_ms) if shared else min(later)
            bound.append((chosen, time_ms, [crossing]))
            return
        if self._contradicts(time_ms, crossing, indices) or not shared:
            return  # not shared: a point already passed, a crossing and no passing
        self.unexplained.append(crossing)

    def _reachable(self, at: int, index: int, time_ms: int) -> bool:
        """Can the runner be at point `index` at `time_ms`, from the passing before `at`?"""
        assert self.fastest is not None
        if at:
            ref_index, ref_ms, _ = self.bound[at - 1]
            ref_ms, ref_m = ref_ms, self.distance[ref_index]
        else:
            ref_ms, ref_m = self.gun_ms, 0.0
        return time_ms - ref_ms >= self.fastest(self.distance[index] - ref_m)

    def _nearest_pace(self, fits: list[int], time_ms: int) -> int:
        """Of the points a crossing can time, the one nearest the runner's own pace so
        far (the first along the course while there is no pace yet)."""
        if not self.bound or self.distance[self.bound[-1][0]] <= 0:
            return min(fits)
        ref_index, ref_ms, _ = self.bound[-1]
        ref_m = self.distance[ref_index]
        pace = (ref_ms - self.gun_ms) / ref_m  # ms per metre
        elapsed = max(time_ms - ref_ms, 1)

        def misfit(i: int) -> float:
            expected = max(pace * (self.distance[i] - ref_m), 1.0)
            return abs(math.log(elapsed / expected))

        return min(fits, key=lambda i: (misfit(i), i))

    def _contradicts(self, time_ms: int, crossing: Crossing, indices: list[int]) -> bool:
        """A manual and a chip passing at one point: record it and keep the one that
        counts. False if the crossing meets no passing of the other kind."""
        for at, (index, first, group) in enumerate(self.bound):
            if index not in indices or any(c.manual for c in group) == crossing.manual:
                continue
            manual_ms, chip_ms = (time_ms, first) if crossing.manual else (first, time_ms)
            for seen_index, _manual, seen_chip, seen_choice in self.contradictions:
                if seen_index == index and abs(seen_chip - chip_ms) <= self.span_ms:
                    if seen_choice == "chip" and not crossing.manual:
                        group.append(crossing)  # the other chip of the passing that counts
                    return True
            choice = self.prefer.get(index)
            if choice is None:
                manual_fits = self._fits_between(at, index, manual_ms)
                chip_fits = self._fits_between(at, index, chip_ms)
                choice = "chip" if chip_fits and not manual_fits else "manual"
            self.contradictions.append((index, manual_ms, chip_ms, choice))
            if (choice == "manual") == crossing.manual:
                self.bound[at] = (index, time_ms, [crossing])
            return True
        return False

    def _fits_between(self, at: int, index: int, time_ms: int) -> bool:
        if self.fastest is None:
            return True
        before = self.bound[at - 1] if at else None
        after = self.bound[at + 1] if at + 1 < len(self.bound) else None
        if before is not None and time_ms <= before[1]:
            return False
        if after is not None and time_ms >= after[1]:
            return False
        if not self._reachable(at, index, time_ms):
            return False
        if after is None:
            return True
        return after[1] - time_ms >= self.fastest(self.distance[after[0]] - self.distance[index])
