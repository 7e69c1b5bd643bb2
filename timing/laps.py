"""Lap races: many crossings of one lap line, counted as laps (README, "Track and timed
races").

A road runner passes each point once, in course order (`timing/passings.py`); on a
track the runner crosses the lap line again and again, so laps bind by their own rule:

- The runner's crossings of the lap line (both chips, every line of a gate, manual
  passings) within a few seconds of each other are one crossing of the body: a group
  takes at most one crossing per chip and line, so the same chip crossing again after
  the dedupe window starts a new one.
- The start: a start point on its own line is the first crossing of it after the gun.
  A start point on the lap line itself (same reader and antennas) makes the first
  crossing after the gun the start, unless it comes later after the gun than a first
  lap could take: then the start read was missed, and it is lap 1 from the gun. With
  no start point the gun is the start.
- Each later crossing is the next lap, unless it comes sooner after the previous lap
  than `min_lap_s` allows (scaled to the length of the lap by Riegel): then it is not
  a lap but a SHORT_LAP flag, kept with its reads, until the director confirms it as a
  lap. A confirmed MISSED_LAP puts the unread crossing back, at the time the runner's
  pace gives, before the crossing that ended the long lap.
- A distance race ends at its `laps`-th crossing; later crossings count for nothing.
  A timed race counts crossings up to the end of time (gun + duration), the one at
  that very millisecond included; the ones after it do not count (but the first one
  ends a lap that MISSED_LAP checks: a lap unread just before the end shows there).

Every crossing a flag can be about is named by `key`, a `PointRef`: the lap point id
and the crossing's local time of day to the tenth ("track@10:23:45.6" in the JSON). It
does not depend on what was counted before, so a director's decision stays with its
crossing.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from timing.config import Race, Validation
from timing.crossings import Crossing, LineKey
from timing.participants import Participant
from timing.passings import MANUAL_LINE, Passing, manual_crossing
from timing.point_refs import PointRef
from timing.records import Record, RecordBook, riegel_ms
from timing.results import Lap, Result, Split, rank, unfinished_status
from timing.times import pace_min_per_km

MIN_LAP_FALLBACK_MS_PER_M = 100  # 10 m/s: without a world record, no faster lap is real


@dataclass(frozen=True, slots=True)
class LapRule:
    """What decides which crossings of the lap line are laps, for one runner."""

    min_lap_ms: int  # for a full lap; a shorter first lap gets its share (Riegel)
    riegel_exponent: float
    end_ms: int | None = None  # a timed race: the last instant a crossing counts
    confirmed_short: frozenset[PointRef] = frozenset()  # SHORT_LAP keys the director counts
    confirmed_missed: frozenset[PointRef] = frozenset()  # MISSED_LAP keys: one lap unread

    def min_ms(self, race: Race, length_m: float) -> float:
        assert race.lap_m is not None
        return riegel_ms(self.min_lap_ms, race.lap_m, length_m, self.riegel_exponent)


@dataclass(frozen=True, slots=True)
class Short:
    """A crossing of the lap line too soon after the previous lap to be one."""

    key: PointRef
    passing: Passing
    after_lap: int  # the laps counted before it
    since_ms: int  # since the previous counted crossing (or the start)
    min_ms: int  # the least a lap of that length can take


@dataclass(slots=True)
class LapBinding:
    start: Passing | None = None
    laps: list[Passing] = field(default_factory=list)  # counted crossings, in order
    keys: list[PointRef] = field(default_factory=list)  # the key of each counted crossing
    confirmed: set[PointRef] = field(default_factory=set)  # confirmed SHORT_LAPs counted
    inferred: set[PointRef] = field(default_factory=set)  # crossings put back (MISSED_LAP)
    short: list[Short] = field(default_factory=list)  # SHORT_LAP crossings, confirmed too
    late: list[Passing] = field(default_factory=list)  # after the end of a timed race
    late_key: PointRef | None = None


def min_lap_record(race: Race, book: RecordBook, settings: Validation) -> Record | None:
    """The record the default shortest lap comes from: of each sex's record of the
    distance nearest the race's (IMPLAUSIBLE_PACE's record), the one allowing the
    faster lap once scaled to it by Riegel."""
    assert race.lap_m is not None
    lap_m = race.lap_m
    found = [book.pace_reference(sex, race.distance_m, race.duration_ms) for sex in ("F", "M")]
    return min(
        (r for r in found if r is not None),
        key=lambda r: riegel_ms(r.time_ms, r.distance_m, lap_m, settings.riegel_exponent),
        default=None,
    )


def default_min_lap_ms(race: Race, book: RecordBook, settings: Validation) -> int:
    """The fastest lap the record book allows anyone: `min_lap_record` scaled to the
    lap, less `pace_tolerance` (IMPLAUSIBLE_PACE's allowance)."""
    assert race.lap_m is not None
    record = min_lap_record(race, book, settings)
    if record is None:
        return round(race.lap_m * MIN_LAP_FALLBACK_MS_PER_M)
    scaled = riegel_ms(record.time_ms, record.distance_m, race.lap_m, settings.riegel_exponent)
    return round(scaled * (1 - settings.pace_tolerance))


def min_lap_ms(race: Race, book: RecordBook, settings: Validation) -> int:
    return (
        race.min_lap_ms if race.min_lap_ms is not None else default_min_lap_ms(race, book, settings)
    )


@dataclass(slots=True)
class _Group:
    indices: frozenset[int]
    first_ms: int
    crossings: list[Crossing]
    seen: set[tuple[str, LineKey]]

    @property
    def time_ms(self) -> int:
        return min(c.time_ms for c in self.crossings)

    @property
    def manual(self) -> bool:
        return any(c.manual for c in self.crossings)

    def passing(self, race: Race, index: int) -> Passing:
        return Passing(race.points[index].id, index, self.time_ms, tuple(self.crossings))


def _groups(
    crossings: list[Crossing],
    lines: dict[LineKey, list[int]],
    manual: list[tuple[int, int]],
    gun_ms: int,
    span_ms: int,
) -> list[_Group]:
    events: list[tuple[int, int, Crossing, frozenset[int]]] = []
    for order, crossing in enumerate(crossings):
        indices = lines.get(crossing.line)
        if indices and crossing.time_ms >= gun_ms:
            events.append((crossing.time_ms, order, crossing, frozenset(indices)))
    for order, (index, time_ms) in enumerate(manual, start=len(crossings)):
        events.append((time_ms, order, manual_crossing(time_ms), frozenset((index,))))
    events.sort(key=lambda e: (e[0], e[1]))
    groups: list[_Group] = []
    for time_ms, order, crossing, indices in events:
        # A manual passing is its own "chip": it joins a group of reads, never another.
        mark = (
            ("manual", (order,)) if crossing.line == MANUAL_LINE else (crossing.chip, crossing.line)
        )
        last = groups[-1] if groups else None
        if (
            last is not None
            and last.indices & indices
            and time_ms - last.first_ms <= span_ms
            and mark not in last.seen
        ):
            last.indices &= indices
            last.crossings.append(crossing)
            last.seen.add(mark)
            continue
        groups.append(_Group(indices, time_ms, [crossing], {mark}))
    return groups


def bind_laps(
    race: Race,
    gun_ms: int,
    crossings: list[Crossing],
    lines: dict[LineKey, list[int]],
    manual: list[tuple[int, int]],
    span_ms: int,
    rule: LapRule,
    tz: ZoneInfo,
) -> LapBinding:
    """One runner's start, counted laps and uncounted crossings of the lap line."""
    lap_index = len(race.points) - 1
    point = race.points[lap_index]
    has_start = race.start_point is not None and lap_index > 0
    first_min = rule.min_ms(race, race.lap_distance_m(1))
    # Groups stay well under a lap apart: two real laps are never one crossing.
    span = max(1, min(span_ms, round(rule.min_lap_ms / 2)))
    out = LapBinding()
    previous_ms = gun_ms
    for group in _groups(crossings, lines, manual, gun_ms, span):
        count = len(out.laps)
        if has_start and out.start is None and count == 0 and 0 in group.indices:
            on_lap_line = lap_index in group.indices
            if not on_lap_line or group.time_ms - gun_ms < first_min:
                out.start = group.passing(race, 0)
                previous_ms = out.start.time_ms
                continue
        if lap_index not in group.indices:
            continue  # the start line crossed again: not a lap
        if race.laps is not None and count >= race.laps:
            break  # finished: later crossings are the cool-down
        time_ms = group.time_ms
        passing = group.passing(race, lap_index)
        key = PointRef.crossing(point.id, time_ms, tz)
        if rule.end_ms is not None and time_ms > rule.end_ms:
            out.late.append(passing)
            out.late_key = key
            if key in rule.confirmed_missed:  # a lap unread before the end of time
                unread = _unread(race, count, previous_ms, time_ms)
                if unread <= rule.end_ms:
                    _put_back(out, point.id, lap_index, unread, tz)
            break
        length = race.lap_distance_m(count + 1) - (race.lap_distance_m(count) if count else 0.0)
        least = rule.min_ms(race, length)
        if not group.manual and time_ms - previous_ms < least:
            out.short.append(Short(key, passing, count, time_ms - previous_ms, round(least)))
            if key not in rule.confirmed_short:
                continue
            out.confirmed.add(key)
        if key in rule.confirmed_missed:
            _put_back(out, point.id, lap_index, _unread(race, count, previous_ms, time_ms), tz)
            if race.laps is not None and len(out.laps) >= race.laps:
                break  # the unread crossing was the finish
        out.laps.append(passing)
        out.keys.append(key)
        previous_ms = time_ms
    return out


def _unread(race: Race, count: int, after_ms: int, before_ms: int) -> int:
    """When the unread crossing was, at an even pace over the two laps it splits."""
    here = race.lap_distance_m(count) if count else 0.0
    middle, end = race.lap_distance_m(count + 1), race.lap_distance_m(count + 2)
    share = (middle - here) / (end - here)
    return after_ms + round((before_ms - after_ms) * share)


def _put_back(out: LapBinding, point_id: str, index: int, time_ms: int, tz: ZoneInfo) -> None:
    """Count the unread crossing of a confirmed MISSED_LAP, at its estimated time."""
    crossing = Crossing("inferred", MANUAL_LINE, time_ms, time_ms, time_ms, 0, None, (), True)
    key = PointRef.crossing(point_id, time_ms, tz)
    out.laps.append(Passing(point_id, index, time_ms, (crossing,)))
    out.keys.append(key)
    out.inferred.add(key)


# ---- results -----------------------------------------------------------------------


def lap_result(
    person: Participant,
    race: Race,
    gun_ms: int,
    binding: LapBinding,
    override: str | None = None,
    partial_m: float | None = None,
    closed: bool = True,
) -> Result:
    """One runner's result in a lap race; `partial_m` is a timed race's final part lap.
    Until the race is `closed`, a runner who started and has not finished is on course."""
    start_ms = binding.start.time_ms if binding.start is not None else None
    zero = start_ms if start_ms is not None else gun_ms
    laps: list[Lap] = []
    previous_ms, previous_m = zero, 0.0
    for number, (passing, key) in enumerate(zip(binding.laps, binding.keys, strict=True), 1):
        distance = race.lap_distance_m(number)
        lap_ms = passing.time_ms - previous_ms
        laps.append(
            Lap(
                number,
                key,
                passing.time_ms,
                passing.time_ms - zero,
                lap_ms,
                distance,
                distance - previous_m,
                pace_min_per_km(lap_ms, distance - previous_m),
                passing.manual and key not in binding.inferred,
                key in binding.confirmed,
                key in binding.inferred,
            )
        )
        previous_ms, previous_m = passing.time_ms, distance
    splits = tuple(
        Split(
            race.points[-1].id,
            lap.distance_m,
            lap.time_ms,
            lap.chip_time_ms,
            lap.lap_time_ms,
            lap.pace_min_per_km,
            lap.manual or lap.inferred,
        )
        for lap in laps
    )
    done = len(laps)
    finish_ms = None
    if race.laps is not None and done >= race.laps:
        finish_ms = laps[race.laps - 1].time_ms
    elif race.is_timed and laps:
        finish_ms = laps[-1].time_ms  # the last counted crossing
    gun_time = finish_ms - gun_ms if finish_ms is not None else None
    chip_time = finish_ms - zero if finish_ms is not None else None
    passings = ([binding.start] if binding.start is not None else []) + binding.laps
    if override:
        status = override
    elif finish_ms is not None and (
        race.cutoff_ms is None or gun_time is None or gun_time <= race.cutoff_ms
    ):
        status = "FIN"
    else:
        status = unfinished_status(passings, finish_ms, closed)
    covered = laps[-1].distance_m if laps else 0.0
    end_ms = None
    if race.is_timed:
        assert race.duration_ms is not None
        end_ms = gun_ms + race.duration_ms
        covered += partial_m or 0.0
    return Result(
        person,
        status,
        gun_ms,
        start_ms,
        finish_ms,
        gun_time,
        chip_time,
        splits,
        tuple(passings),
        laps=tuple(laps),
        laps_completed=done,
        laps_to_go=max(0, race.laps - done) if race.laps is not None else None,
        distance_m=covered,
        final_partial_m=partial_m if race.is_timed else None,
        end_ms=end_ms,
    )


def rank_laps(results: list[Result], race: Race) -> list[Result]:
    """Places by the race's rule, and how many laps down each runner is.

    A distance race places finishers by time; a timed race by laps completed, then by
    the time of the last counted crossing. Runners still on the track follow, most laps
    first, then who completed their last lap first: a lapped runner is never ahead of
    one with more laps, wherever the two are on the track."""

    def last(r: Result) -> int:
        return r.laps[-1].time_ms if r.laps else (r.start_ms or 0)

    def timed(r: Result) -> tuple[int, ...]:
        time_ms = r.rank_time(race.ranking)
        assert time_ms is not None
        return (-(r.laps_completed or 0), time_ms // 100)

    def progress(r: Result) -> tuple[int, ...]:
        return (-(r.laps_completed or 0), last(r))

    ordered = rank(results, race.ranking, timed if race.is_timed else None, progress)
    return _laps_behind(ordered)


def _laps_behind(ordered: list[Result]) -> list[Result]:
    """Laps down on the leader (the first runner with the most laps), as the line shows
    it: the leader's crossings up to the runner's own last one, less the runner's laps.
    Taken at the runner's last crossing, it is final at the line and never guessed."""
    leader = next((r for r in ordered if r.status in ("FIN", "RUN", "DNF")), None)
    times = [lap.time_ms for lap in leader.laps] if leader is not None else []
    out = []
    for r in ordered:
        behind = None
        if leader is not None and r.status != "DNS" and r.laps_completed is not None:
            upto = r.laps[-1].time_ms if r.laps else (r.start_ms or r.gun_ms)
            ahead = bisect_right(times, upto)
            behind = max(0, ahead - (r.laps_completed or 0))
        out.append(r if r.laps_behind == behind else replace(r, laps_behind=behind))
    return out
