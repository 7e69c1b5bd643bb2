"""Backwards validation of a lap race, lap by lap (README, "Track and timed races").

- SHORT_LAP: a crossing of the lap line sooner after the previous lap than
  `min_lap_s` allows. It is not counted (`timing/laps.py`) unless the director
  confirms it; the flag stays either way, so nothing is silently dropped.
- MISSED_LAP: a lap taking more than `missed_lap_ratio` (1.6) times the runner's median
  lap, per metre (so a short first lap compares fairly): about twice the usual lap
  means a crossing went unread and the count may be one short.
- IMPLAUSIBLE_PACE per lap, WRONG_WAY at a lap line that is a gate, FORWARD_FACING at
  its oncoming panel and CHIP_SEPARATED ("apart": both chips over the line seconds
  apart) on every counted crossing, as on the road.

A flag on a crossing points at it by its key (`timing/point_refs.py`); the evidence
names crossings in their text form ("track@10:23:45.6").
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

from timing.chips import PANEL_AFTER_MS, PANEL_BEFORE_MS, apart_flag, forward_facing, panel_line
from timing.config import Validation
from timing.flags import (
    MISSED_LAP,
    SHORT_LAP,
    Flag,
)
from timing.laps import LapBinding, min_lap_record
from timing.passings import Passing
from timing.point_refs import PointRef
from timing.records import RecordBook
from timing.results import Lap
from timing.times import format_duration
from timing.validation import (
    Runner,
    Segment,
    implausible_pace,
    record_ref,
    two_chips,
    wrong_way,
)

MIN_LAPS_FOR_MEDIAN = 3


def validate_laps(
    runner: Runner, binding: LapBinding, laps: list[Lap], settings: Validation, book: RecordBook
) -> list[Flag]:
    if runner.race.min_lap_ms is not None:
        basis: object = "min_lap_s of the race in event.toml"
    else:
        record = min_lap_record(runner.race, book, settings)
        basis = record_ref(record) if record is not None else "no world record: 10 m/s"
    flags = short_laps(binding, basis)
    flags += missed_laps(runner, laps, settings, binding)
    flags += implausible_pace(runner, settings, book, lap_segments(laps))
    counted = list(zip(binding.laps, laps, strict=True))
    # Every crossing of the line, counted or too short to be a lap: how it was crossed
    # (which way, facing which way) is evidence either way.
    crossings = [
        _Crossing(passing, lap.key, lap.number, _from(laps, i))
        for i, (passing, lap) in enumerate(counted)
    ]
    by_number = {lap.number: str(lap.key) for lap in laps}
    crossings += [
        _Crossing(s.passing, s.key, s.after_lap + 1, by_number.get(s.after_lap, "start"))
        for s in binding.short
        if s.key not in binding.confirmed
    ]
    if runner.race.points[-1].is_gate:
        flags += _per_crossing(runner, crossings, lambda one: wrong_way(one, settings))
    if two_chips(runner.race, runner.person):
        flags += _per_crossing(runner, crossings, lambda one: forward_facing(one, settings))
        flags += chips_apart(runner, counted, settings)
    return flags


def _from(laps: list[Lap], index: int) -> str:
    return str(laps[index - 1].key) if index else "start"


# ---- SHORT_LAP ----------------------------------------------------------------------


def short_laps(binding: LapBinding, basis: object) -> list[Flag]:
    """`basis`: where the shortest lap comes from (event.toml, or the record it scales)."""
    flags = []
    for short in binding.short:
        ratio = short.since_ms / short.min_ms if short.min_ms else 0.0
        flags.append(
            Flag(
                SHORT_LAP,
                short.key,
                min(0.99, 0.5 + 0.5 * (1 - ratio)),
                {
                    "after_lap": short.after_lap,
                    "since_previous": format_duration(short.since_ms),
                    "min_lap_time": format_duration(short.min_ms),
                    "min_lap_from": basis,
                    "counted": short.key in binding.confirmed,
                    "reads": sum(c.reads for c in short.passing.crossings),
                },
            )
        )
    return flags


# ---- MISSED_LAP ---------------------------------------------------------------------


def missed_laps(
    runner: Runner, laps: list[Lap], settings: Validation, binding: LapBinding | None = None
) -> list[Flag]:
    """Laps over `missed_laps_ratio` x the median lap per metre; the lap ended by the
    first crossing after the end of a timed race (not counted) is checked too."""
    if len(laps) < MIN_LAPS_FOR_MEDIAN:
        return []
    per_m = [lap.lap_time_ms / lap.length_m for lap in laps if lap.length_m > 0]
    usual = statistics.median(per_m)
    lap_m = runner.race.lap_m or 0.0
    # (key, lap number, its time, time since the previous crossing, length, from)
    candidates = [
        (lap.key, lap.number, lap.time_ms, lap.lap_time_ms, lap.length_m, _from(laps, i))
        for i, lap in enumerate(laps)
    ]
    if binding is not None and binding.late and binding.late_key is not None:
        late = binding.late[0].time_ms
        candidates.append(
            (
                binding.late_key,
                len(laps) + 1,
                late,
                late - laps[-1].time_ms,
                lap_m,
                str(laps[-1].key),
            )
        )
    flags = []
    for key, number, time_ms, lap_ms, length, previous in candidates:
        if length <= 0 or usual <= 0:
            continue
        ratio = lap_ms / length / usual
        if ratio <= settings.missed_lap_ratio:
            continue
        panel = _panel_between(runner, time_ms - lap_ms, time_ms)
        # The time over the usual, in usual full laps: near a whole number, laps unread.
        extra = (lap_ms - usual * length) / (usual * lap_m)
        unread = max(1, round(extra))
        seen = panel == "read during the lap"
        evidence = {
            "lap": number,
            "from": previous,
            "lap_time": format_duration(lap_ms),
            "usual_lap_time": format_duration(round(usual * length)),
            "ratio": round(ratio, 2),
            "max_ratio": settings.missed_lap_ratio,
            "likely_unread": unread,
            "panel": panel,
        }
        if number > len(laps):
            evidence["after_end"] = True  # ended by the crossing after the end of time
        confidence = 0.9 if seen else max(0.3, 0.9 - abs(extra - unread))
        flags.append(Flag(MISSED_LAP, key, confidence, evidence))
    return flags


def _panel_between(runner: Runner, after_ms: int, before_ms: int) -> str:
    """Whether the lap line's oncoming panel read the runner in the middle of a lap."""
    line = panel_line(runner.race.points[-1])
    if line is None:
        return "none at the lap line"
    seen = any(
        c.line == line and after_ms + PANEL_AFTER_MS < c.time_ms < before_ms - PANEL_BEFORE_MS
        for crossings in runner.crossings.values()
        for c in crossings
    )
    return "read during the lap" if seen else "not read during the lap"


# ---- IMPLAUSIBLE_PACE, on the shared segment type --------------------------------------


def lap_segments(laps: list[Lap]) -> list[Segment]:
    """The laps the pace check can judge: not one the director's decision made (a short
    lap confirmed, or timed by estimate next to an unread crossing put back)."""
    return [
        Segment(
            lap.key,
            _from(laps, i),
            lap.length_m,
            lap.lap_time_ms,
            lap.pace_min_per_km,
            lap.manual,
            lap.number,
        )
        for i, lap in enumerate(laps)
        if not (lap.confirmed or lap.inferred or (i and laps[i - 1].inferred))
    ]


# ---- the road checks, one crossing at a time -----------------------------------------


@dataclass(frozen=True, slots=True)
class _Crossing:
    passing: Passing
    key: PointRef
    number: int  # the lap it is, or would be
    previous: str  # the key of the crossing before it, or "start"


def _per_crossing(runner: Runner, crossings: list[_Crossing], check) -> list[Flag]:
    """Run a road check on each crossing alone; name its flags by the crossing."""
    flags = []
    for crossing in crossings:
        if crossing.passing.manual:
            continue
        for flag in check(replace(runner, passings=[crossing.passing])):
            evidence = dict(flag.evidence)
            if "segment_from" in evidence:
                evidence["segment_from"] = crossing.previous
            evidence = {"lap": crossing.number, **evidence}
            flags.append(Flag(flag.code, crossing.key, flag.confidence, evidence))
    return flags


def chips_apart(
    runner: Runner, counted: list[tuple[Passing, Lap]], settings: Validation
) -> list[Flag]:
    """The first crossing where the two chips went over one line seconds apart."""
    person = runner.person
    limit_ms = settings.chip_gap_s * 1000
    for passing, lap in counted:
        front = [c for c in passing.crossings if c.chip == person.chip_front]
        back = [c for c in passing.crossings if c.chip == person.chip_back]
        gaps = [abs(f.time_ms - b.time_ms) for f in front for b in back if f.line == b.line]
        if gaps and min(gaps) > limit_ms:
            gap = min(gaps)
            first = min(front, key=lambda c: c.time_ms).time_ms
            first_back = min(back, key=lambda c: c.time_ms).time_ms
            return [apart_flag(lap.key, gap, gap, first < first_back, settings, lap.number)]
    return []
