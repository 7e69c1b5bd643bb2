"""Backwards validation: was every split run backwards, along the course, at a human pace?

Each check reads one runner's passings and crossings and returns flags with their
evidence (README, "Backwards validation and records"):

- WRONG_WAY: at a gate, a chip crossed the downstream line before the upstream one.
- IMPLAUSIBLE_PACE: a segment faster than the backwards world record allows, scaled
  to the segment by Riegel (T2 = T1 x (D2/D1)^1.06), less a tolerance. The record is
  the one of the book's distance nearest the race's (`race_record`): a 5000 m race is
  held to the 5000 m best, a marathon's 5 km segment to the marathon's.
- MISSED_SPLIT: a runner seen at later points but not at an intermediate one; the
  evidence says whether a missed read or a shortcut is the likelier story. A read at
  the point's oncoming panel (a backup antenna) or a manual passing clears it.
- FORWARD_FACING and CHIP_SEPARATED need both chips: `timing/chips.py`.

Every check is a pure function of its arguments, so live and batch agree.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from timing.chips import Alone, chip_separated, forward_facing, panel_line
from timing.config import Point, Race, Validation
from timing.crossings import Crossing, LineKey
from timing.flags import (
    CHIP_SEPARATED,
    FLAG_CODES,
    FORWARD_FACING,
    IMPLAUSIBLE_PACE,
    MISSED_SPLIT,
    WRONG_WAY,
    Flag,
)
from timing.participants import Participant
from timing.passings import Passing
from timing.point_refs import PointRef
from timing.records import Record, RecordBook, riegel_ms
from timing.results import Split
from timing.times import format_duration, pace_min_per_km


@dataclass(frozen=True, slots=True)
class Runner:
    """What the checks read of one runner."""

    person: Participant
    race: Race
    gun_ms: int
    zero_ms: int  # the start-mat passing, else the gun
    passings: list[Passing]
    splits: list[Split]
    crossings: dict[str, list[Crossing]]  # chip -> its crossings at every line
    alone: Alone | None  # two-chip runners: each chip's passings on its own
    read_times: Callable[[Crossing], list[int]]  # the times of a crossing's reads


def validate(runner: Runner, settings: Validation, book: RecordBook) -> list[Flag]:
    flags = wrong_way(runner, settings)
    flags += implausible_pace(runner, settings, book)
    flags += missed_split(runner, settings)
    if two_chips(runner.race, runner.person):
        flags += forward_facing(runner, settings)
        flags += chip_separated(runner, settings)
    return flags


@dataclass(frozen=True, slots=True)
class SkippedCheck:
    """A check a race's set-up cannot run, and why."""

    code: str
    reason: str


def two_chips(race: Race, person: Participant) -> bool:
    return "back" in race.chips and bool(person.chip_back)


def skipped_checks(race: Race, book: RecordBook) -> tuple[SkippedCheck, ...]:
    """The checks a race's set-up cannot run, with why (in the race's JSON)."""
    skipped: list[SkippedCheck] = []
    lap_point = race.lap_point
    if "back" not in race.chips:
        reason = "one-chip race: facing and chip separation need a front and a back chip"
        skipped += [SkippedCheck(FORWARD_FACING, reason)]
        skipped += [SkippedCheck(CHIP_SEPARATED, reason)]
    elif lap_point is not None and not lap_point.oncoming:
        skipped += [SkippedCheck(FORWARD_FACING, "the lap line has no oncoming panel")]
    elif not any(p.oncoming for p in race.points):
        skipped += [SkippedCheck(FORWARD_FACING, "no point has an oncoming panel")]
    if lap_point is not None and not lap_point.is_gate:
        reason = "the lap line is not a gate (upstream + downstream)"
        skipped += [SkippedCheck(WRONG_WAY, reason)]
    elif not any(p.is_gate for p in race.points):
        skipped += [SkippedCheck(WRONG_WAY, "no point is a gate (upstream + downstream)")]
    if lap_point is not None:
        reason = "a lap race has no intermediate point: MISSED_LAP checks every lap"
        skipped += [SkippedCheck(MISSED_SPLIT, reason)]
    elif len(race.points) < 3:
        skipped += [SkippedCheck(MISSED_SPLIT, "no intermediate point")]
    if not any(r.scope == "world" and not r.category for r in book.records):
        skipped += [SkippedCheck(IMPLAUSIBLE_PACE, "no world record in the record book")]
    return tuple(sorted(skipped, key=lambda s: FLAG_CODES.index(s.code)))


# ---- WRONG_WAY ----------------------------------------------------------------------


def gate_order(passing: Passing, point: Point, chip: str) -> float | None:
    """Downstream minus upstream crossing time of one chip at a gate, in seconds."""
    up: LineKey = (point.reader, point.upstream)
    down: LineKey = (point.reader, point.downstream)
    ups = [c.time_ms for c in passing.crossings if c.chip == chip and c.line == up]
    downs = [c.time_ms for c in passing.crossings if c.chip == chip and c.line == down]
    if not ups or not downs:
        return None
    return (min(downs) - min(ups)) / 1000


def wrong_way(runner: Runner, settings: Validation) -> list[Flag]:
    flags = []
    sides = _sides(runner.person)
    for passing in runner.passings:
        point = runner.race.points[passing.index]
        if not point.is_gate:
            continue
        gaps = {side: gate_order(passing, point, chip) for side, chip in sides.items()}
        told = {side: g for side, g in gaps.items() if g is not None}
        against = [s for s, g in told.items() if g <= -settings.gate_min_gap_s]
        along = [s for s, g in told.items() if g >= settings.gate_min_gap_s]
        if not against or along:
            continue  # along the course, too close to tell, or the chips disagree
        confidence = 0.95 if len(against) >= 2 else 0.75
        flags.append(
            Flag(
                WRONG_WAY,
                PointRef(point.id),
                confidence,
                {
                    "downstream_minus_upstream_s": {s: round(g, 2) for s, g in told.items()},
                    "chips_against": len(against),
                    "chips_read_at_both_lines": len(told),
                    "min_gap_s": settings.gate_min_gap_s,
                },
            )
        )
    return flags


def _sides(person: Participant) -> dict[str, str]:
    sides = {"front": person.chip_front}
    if person.chip_back:
        sides["back"] = person.chip_back
    return sides


# ---- IMPLAUSIBLE_PACE ---------------------------------------------------------------


def allowed_ms(record: Record, distance_m: float, settings: Validation) -> tuple[float, float]:
    """(record effort scaled to the distance, the fastest time allowed) in ms."""
    scaled = riegel_ms(record.time_ms, record.distance_m, distance_m, settings.riegel_exponent)
    return scaled, scaled * (1 - settings.pace_tolerance)


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch a runner covered between two passings: a road segment between splits,
    or a lap. The pace check reads segments, so it is written once for both kinds."""

    key: PointRef  # where it ends: the flag's place
    start: str  # where it began: a point id, a lap crossing's key, "gun" or "start"
    length_m: float
    time_ms: int
    pace_min_per_km: float | None
    manual: bool
    lap: int | None = None  # a track: the lap's number


def road_segments(runner: Runner) -> list[Segment]:
    segments = []
    previous_m, previous_point = 0.0, "gun"
    if runner.passings and runner.passings[0].index == 0:
        previous_point = runner.race.points[0].id
    for split in runner.splits:
        segments.append(
            Segment(
                PointRef(split.point),
                previous_point,
                split.distance_m - previous_m,
                split.segment_time_ms,
                split.pace_min_per_km,
                split.manual,
            )
        )
        previous_m, previous_point = split.distance_m, split.point
    return segments


def implausible_pace(
    runner: Runner, settings: Validation, book: RecordBook, segments: list[Segment] | None = None
) -> list[Flag]:
    """Segments (the road's, unless given) run faster than the record allows."""
    record = race_record(book, runner.race, runner.person.sex)
    if record is None:
        return []
    flags = []
    for segment in road_segments(runner) if segments is None else segments:
        if segment.length_m <= 0:
            continue
        scaled, allowed = allowed_ms(record, segment.length_m, settings)
        if segment.time_ms >= allowed:
            continue
        faster = (allowed - segment.time_ms) / allowed
        evidence: dict[str, object] = {} if segment.lap is None else {"lap": segment.lap}
        evidence |= {
            "from": segment.start,
            "distance_m": round(segment.length_m, 1),
            "segment_time": format_duration(segment.time_ms),
            "pace_min_per_km": segment.pace_min_per_km,
            "record_pace_time": format_duration(round(scaled)),
            "allowed_time": format_duration(round(allowed)),
            "tolerance": settings.pace_tolerance,
            "record": record_ref(record),
            "manual": segment.manual,
        }
        flags.append(Flag(IMPLAUSIBLE_PACE, segment.key, min(0.99, 0.6 + 4 * faster), evidence))
    return flags


def race_record(book: RecordBook, race: Race, sex: str) -> Record | None:
    """The record IMPLAUSIBLE_PACE and the lap checks scale from: the world record of
    the book's distance nearest the race's (a timed race: nearest its duration)."""
    return book.pace_reference(sex, race.distance_m, race.duration_ms)


def record_ref(record: Record) -> dict[str, object]:
    return {
        "holder": record.holder,
        "sex": record.sex,
        "distance_m": record.distance_m,
        "time": format_duration(record.time_ms),
        "date": record.date.isoformat() if record.date else None,
        "venue": record.venue,
        "status": record.status,
        "ratified_by": record.ratified_by,
    }


# ---- MISSED_SPLIT -------------------------------------------------------------------


def missed_split(runner: Runner, settings: Validation) -> list[Flag]:
    race = runner.race
    # Marks along the course: (point index, distance, time); the gun at 0 m stands in
    # for a start mat the runner was not read at.
    marks = [(p.index, race.points[p.index].distance_m, p.time_ms) for p in runner.passings]
    if not marks or marks[0][0] != 0:
        marks.insert(0, (-1, 0.0, runner.zero_ms))
    first = 1 if race.start_point is not None else 0  # the start mat is not a split
    flags = []
    for j in range(len(marks) - 1):
        (a_index, a_m, a_ms), (c_index, c_m, c_ms) = marks[j], marks[j + 1]
        missing = [i for i in range(a_index + 1, c_index) if i >= first]
        if not missing or c_m <= a_m:
            continue
        gap_pace = (c_ms - a_ms) / (c_m - a_m)
        neighbours = [
            (marks[k + 1][2] - marks[k][2]) / (marks[k + 1][1] - marks[k][1])
            for k in (j - 1, j + 1)
            if 0 <= k < len(marks) - 1 and marks[k + 1][1] > marks[k][1]
        ]
        own = statistics.fmean(neighbours) if neighbours else None
        for index in missing:
            point = race.points[index]
            if _panel_seen(runner, point, a_ms, c_ms):
                continue  # a backup antenna saw the runner there: a missed read
            flags.append(_missed(point, marks[j], marks[j + 1], race, gap_pace, own, settings))
    return flags


def _panel_seen(runner: Runner, point: Point, after_ms: int, before_ms: int) -> bool:
    line = panel_line(point)
    if line is None:
        return False
    return any(
        c.line == line and after_ms < c.time_ms < before_ms
        for crossings in runner.crossings.values()
        for c in crossings
    )


def _missed(
    point: Point,
    a: tuple[int, float, int],
    c: tuple[int, float, int],
    race: Race,
    gap_pace: float,
    own_pace: float | None,
    settings: Validation,
) -> Flag:
    """`gap_pace` across the missed point and the runner's `own_pace` on the segments
    either side, in ms per metre."""
    threshold = settings.shortcut_pace_ratio
    ratio = gap_pace / own_pace if own_pace else None
    if ratio is None:
        likely, confidence = "unknown", 0.5
    elif ratio < threshold:
        likely, confidence = "shortcut", min(0.99, 0.6 + 2 * (threshold - ratio))
    else:
        likely, confidence = "missed read", max(0.05, 0.4 - 2 * (ratio - threshold))
    return Flag(
        MISSED_SPLIT,
        PointRef(point.id),
        confidence,
        {
            "likely": likely,
            "between": [race.points[a[0]].id if a[0] >= 0 else "gun", race.points[c[0]].id],
            "gap_time": format_duration(c[2] - a[2]),
            "gap_pace_min_per_km": pace_min_per_km(round(gap_pace * 1000), 1000),
            "own_pace_min_per_km": (
                pace_min_per_km(round(own_pace * 1000), 1000) if own_pace else None
            ),
            "pace_ratio": round(ratio, 3) if ratio is not None else None,
            "shortcut_below": threshold,
            "panel": "not read" if point.oncoming else "none at this point",
        },
    )
