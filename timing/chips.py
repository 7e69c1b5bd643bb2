"""The two-chip checks: which way a runner faced, and whether the chips stayed together.

Runners of a two-chip race wear a `front` chip (bib, chest) and a `back` chip
(between the shoulder blades). The body absorbs UHF:

- FORWARD_FACING. A panel facing approaching runners (`oncoming`) mostly reads the
  chip on the leading side of the body: the back chip of a backwards runner, the
  front chip of one facing forwards. The front chip dominating the panel (more reads,
  a higher peak RSSI) while both chips were read at the point's mats is the flag;
  the order in which the chips peak at the mats (the leading chip first, by tens of
  milliseconds) is weaker evidence that raises or lowers the confidence, never a flag
  on its own.
- CHIP_SEPARATED. Both chips at one point seconds apart, or one chip never read again
  from some point on while the other is, when reads this runner's chips otherwise
  get make such a run of misses unlikely by chance. A runner whose chips are read
  sparsely (few of the reads the reader's cadence allows) is not flagged for a chip
  going unread: for them that is a missed read as likely as a lost chip. Once the
  chips are seen apart, the engine times the runner by the front (bib) chip alone.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from timing.config import Point, Race, Validation
from timing.crossings import Crossing, LineKey
from timing.flags import CHIP_SEPARATED, FORWARD_FACING, Flag
from timing.passings import Passing
from timing.point_refs import PointRef

if TYPE_CHECKING:
    from timing.validation import Runner

PANEL_BEFORE_MS = 20_000  # panel reads this long before a passing belong to it
PANEL_AFTER_MS = 10_000
CADENCE_QUANTILE = 0.1  # the reader's cadence for a chip: this quantile of its read gaps

Alone = dict[str, dict[int, Passing]]  # "front"/"back" -> point index -> that chip's passing


def panel_line(point: Point) -> LineKey | None:
    return (point.reader, point.oncoming) if point.oncoming else None


def panel_reads(crossings: list[Crossing], line: LineKey, at_ms: int) -> tuple[int, float | None]:
    """A chip's reads at a panel around a passing: (count, peak RSSI or None)."""
    count, peak = 0, None
    for c in crossings:
        if c.line == line and at_ms - PANEL_BEFORE_MS <= c.time_ms <= at_ms + PANEL_AFTER_MS:
            count += c.reads
            if c.peak_rssi is not None and (peak is None or c.peak_rssi > peak):
                peak = c.peak_rssi
    return count, peak


# ---- FORWARD_FACING -----------------------------------------------------------------


def _leads(
    reads: int, peak: float | None, other_reads: int, other_peak: float | None, s: Validation
) -> bool:
    if reads < s.facing_min_reads or reads < 2 * other_reads:
        return False
    return peak is None or other_peak is None or peak >= other_peak + s.facing_min_db


def forward_facing(runner: Runner, settings: Validation) -> list[Flag]:
    person = runner.person
    front, back = person.chip_front, person.chip_back or ""
    flags = []
    previous = None
    for passing in runner.passings:
        point = runner.race.points[passing.index]
        line = panel_line(point)
        seen = {c.chip for c in passing.crossings}
        if line is not None and front in seen and back in seen:
            flag = _facing(runner, passing, point, line, previous, settings)
            if flag is not None:
                flags.append(flag)
        previous = point.id
    return flags


def _facing(
    runner: Runner,
    passing: Passing,
    point: Point,
    line: LineKey,
    previous: str | None,
    settings: Validation,
) -> Flag | None:
    person = runner.person
    front, back = person.chip_front, person.chip_back or ""
    f_reads, f_peak = panel_reads(runner.crossings.get(front, []), line, passing.time_ms)
    b_reads, b_peak = panel_reads(runner.crossings.get(back, []), line, passing.time_ms)
    if not _leads(f_reads, f_peak, b_reads, b_peak, settings):
        return None  # the back chip leads (backwards), or the panel cannot tell
    with_rssi = f_peak is not None
    confidence = 0.85 if with_rssi else 0.7
    order = []
    for role, antennas in point.lines().items():
        key = (point.reader, antennas)
        fc = _first(passing, front, key)
        bc = _first(passing, back, key)
        if fc is None or bc is None or fc.peak_rssi is None or bc.peak_rssi is None:
            continue
        by_ms = bc.time_ms - fc.time_ms  # > 0: the front chip peaked first
        if by_ms == 0:
            continue
        order.append({"line": role, "first": "front" if by_ms > 0 else "back", "by_ms": abs(by_ms)})
        confidence += 0.05 if by_ms > 0 else -0.15
    if confidence < 0.5:
        return None
    return Flag(
        FORWARD_FACING,
        PointRef(point.id),
        min(0.99, confidence),
        {
            "segment_from": previous or "gun",
            "panel": {
                "front": {"reads": f_reads, "peak_rssi": f_peak},
                "back": {"reads": b_reads, "peak_rssi": b_peak},
            },
            "mat_peak_order": order,
        },
    )


def _first(passing: Passing, chip: str, line: LineKey) -> Crossing | None:
    found = [c for c in passing.crossings if c.chip == chip and c.line == line]
    return min(found, key=lambda c: c.time_ms) if found else None


# ---- CHIP_SEPARATED -----------------------------------------------------------------


def alone_passings(
    front: list[Crossing], back: list[Crossing], bind: Callable[[list[Crossing]], list[Passing]]
) -> Alone:
    """Each chip's passings as if it were the only chip."""
    return {
        "front": {p.index: p for p in bind(front)},
        "back": {p.index: p for p in bind(back)},
    }


def chip_separated(runner: Runner, settings: Validation) -> list[Flag]:
    alone = runner.alone
    if alone is None:
        return []
    found = [f for f in (apart(runner.race, alone, settings), _lost(runner, alone, settings)) if f]
    if not found:
        return []
    return [min(found, key=lambda f: f[0])[1]]


def apart(race: Race, alone: Alone, settings: Validation) -> tuple[int, Flag] | None:
    """The first point where the two chips crossed seconds apart."""
    limit_ms = settings.chip_gap_s * 1000
    for index in sorted(alone["front"].keys() & alone["back"].keys()):
        f, b = alone["front"][index], alone["back"][index]
        times = [
            (fc.time_ms, bc.time_ms)
            for fc in f.crossings
            for bc in b.crossings
            if fc.line == bc.line
        ]
        # On a common line the chips of one body cross within a second; between the
        # two lines of a gate they may differ by the gate's crossing time as well.
        if times:
            gap = min(abs(ft - bt) for ft, bt in times)
        else:
            gap = abs(f.time_ms - b.time_ms) - limit_ms
        if gap > limit_ms:
            point = race.points[index]
            apart_ms = abs(f.time_ms - b.time_ms)
            timed_by = {"timed_by": "front chip"}
            flag = apart_flag(PointRef(point.id), gap, apart_ms, f.time_ms < b.time_ms, settings)
            return index, replace(flag, evidence=flag.evidence | timed_by)
    return None


def apart_flag(
    key: PointRef,
    gap_ms: int,
    apart_ms: int,
    front_first: bool,
    settings: Validation,
    lap: int | None = None,
) -> Flag:
    """CHIP_SEPARATED "apart": the two chips over one line `gap_ms` apart, more than a
    body's two chips can be; `apart_ms` is the gap the evidence shows."""
    limit_ms = settings.chip_gap_s * 1000
    evidence: dict[str, object] = {"kind": "apart"} | ({} if lap is None else {"lap": lap})
    evidence |= {
        "apart_s": round(apart_ms / 1000, 1),
        "first_chip": "front" if front_first else "back",
        "max_apart_s": settings.chip_gap_s,
    }
    return Flag(CHIP_SEPARATED, key, 0.95 if gap_ms > 2 * limit_ms else 0.75, evidence)


def _lost(runner: Runner, alone: Alone, settings: Validation) -> tuple[int, Flag] | None:
    """One chip read up to some point and never again while the other went on."""
    for gone, kept in (("back", "front"), ("front", "back")):
        if not alone[gone]:
            continue  # never read at all: not worn, or dead, but not seen apart
        last = max(alone[gone])
        later = sorted(i for i in alone[kept] if i > last)
        if not later:
            continue
        chip = runner.person.chip_back if gone == "back" else runner.person.chip_front
        lines = 0
        for index in later:
            point = runner.race.points[index]
            line = panel_line(point)
            if gone == "back" and line is not None:
                at = alone[kept][index].time_ms
                if panel_reads(runner.crossings.get(chip or "", []), line, at)[0]:
                    break  # the panel still reads it: with the runner, missed at the mats
                lines += 1
            lines += len(point.lines())
        else:
            misses, seen = _line_misses(runner, set(later))
            rate = (misses + 0.5) / (seen + 1)  # Krichevsky-Trofimov estimate
            log_chance = lines * math.log10(rate)  # in logs: many lines underflow a float
            unlikely = log_chance < math.log10(settings.lost_chip_chance)
            share = read_share(runner) if unlikely else None
            if unlikely and (share is None or share >= settings.min_read_share):
                point = runner.race.points[later[0]]
                below = math.log10(settings.lost_chip_chance) - log_chance
                confidence = 0.5 + 0.15 * below
                return later[0], Flag(
                    CHIP_SEPARATED,
                    PointRef(point.id),
                    min(0.99, confidence),
                    {
                        "kind": "lost",
                        "chip": gone,
                        "last_read_at": runner.race.points[last].id,
                        "unread_lines": lines,
                        "line_misses_before": f"{misses}/{seen}",
                        "chance_of_missed_reads": float(f"{10**log_chance:.2g}"),
                        "max_chance": settings.lost_chip_chance,
                        "read_share": round(share, 2) if share is not None else None,
                    },
                )
    return None


def _line_misses(runner: Runner, skip: set[int]) -> tuple[int, int]:
    """How often this runner's chips went unread at the lines of the points passed
    (outside `skip`): (misses, lines x chips). The back chip counts at panels too."""
    person = runner.person
    misses = seen = 0
    for passing in runner.passings:
        if passing.index in skip or passing.manual:
            continue
        point = runner.race.points[passing.index]
        read = {(c.chip, c.line) for c in passing.crossings}
        for antennas in point.lines().values():
            for chip in person.chips:
                seen += 1
                misses += (chip, (point.reader, antennas)) not in read
        line = panel_line(point)
        if line is not None and person.chip_back:
            seen += 1
            reads = panel_reads(runner.crossings.get(person.chip_back, []), line, passing.time_ms)
            misses += reads[0] == 0
    return misses, seen


def read_share(runner: Runner) -> float | None:
    """How fully this runner's chips are read: per crossing, the reads it got over the
    reads the reader's cadence (a low quantile of the gaps between its reads) allowed
    in the same time; the median over the runner's crossings of 4 reads or more. None
    where no crossing has that many reads (a decoder that sends one read per crossing)."""
    shares = []
    for passing in runner.passings:
        for crossing in passing.crossings:
            if crossing.reads < 4 or crossing.last_ms <= crossing.first_ms:
                continue
            times = runner.read_times(crossing)
            if len(times) < 4 or times[-1] <= times[0]:
                continue
            gaps = sorted(b - a for a, b in itertools.pairwise(times))
            cadence = gaps[int(CADENCE_QUANTILE * (len(gaps) - 1))]
            shares.append(min(1.0, (len(times) - 1) * cadence / (times[-1] - times[0])))
    return statistics.median(shares) if shares else None
