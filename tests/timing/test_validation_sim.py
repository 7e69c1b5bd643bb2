"""Validation against the simulator's truth: precision and recall of every flag code.

Four seeds of 1,000 runners on the recommended layout (tests/timing/sim_event.py).
Half the runners get one injected behaviour each (simulator `random_injections`):
a segment run facing forwards, a gate crossed the wrong way, a point cut, a back chip
lost or carried by another runner, or clean running with sparse reads (many missed
reads, noisy RSSI). The other half run clean.

Truth, per (bib, code, point):
- FORWARD_FACING: the point at the end of the forward segment (where it is seen).
- WRONG_WAY, MISSED_SPLIT: the injected point.
- CHIP_SEPARATED: per runner; the flag names the point where the chips are first seen
  apart, which is later than the injected point when, say, the carrier cut the course.
- IMPLAUSIBLE_PACE: a segment whose true time (the simulator's) beats the allowance of
  the record nearest the race's distance; segments within 0.5 % of it count neither way.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from readers.simulator import random_injections, simulate
from readers.simulator.runners import sorted_points
from tests.timing.sim_event import feed, write_event
from timing.engine import Engine
from timing.flags import FLAG_CODES, LAP_CODES
from timing.validation import allowed_ms, race_record
from web.course import course_from_folder

SEEDS = (1, 2, 3, 4)
RUNNERS = 1000
INJECTED = 0.5
ROAD_CODES = tuple(c for c in FLAG_CODES if c not in LAP_CODES)  # a road course raises these
CLASSES = ("CLEAN", "SPARSE", *[c for c in ROAD_CODES if c != "IMPLAUSIBLE_PACE"])
Key = tuple[int, str, str, str]  # (seed, bib, code, point)


@dataclass
class Outcome:
    truth: set[Key]
    dont_care: set[Key]
    flagged: set[Key]
    kind: dict[tuple[int, str], str]  # (seed, bib) -> injected behaviour or CLEAN


def _race(seed: int, root: Path) -> Outcome:
    folder = write_event(root / f"seed{seed}", seed, RUNNERS)
    course = course_from_folder(folder)
    sim = simulate(course, seed, inject=random_injections(course, seed, INJECTED))
    engine = Engine(folder)
    feed(engine, sim)
    results = {r.bib: r for rr in engine.results().races for r in rr.results}
    people = {p.bib: p for p in folder.participants}
    points = {race.id: sorted_points(race) for race in course.races}
    out = Outcome(set(), set(), set(), {})
    for bib, truth in sim.truth.items():
        behaviours = truth["behaviours"]
        out.kind[seed, bib] = behaviours[0]["kind"] if behaviours else "CLEAN"
        ids = [p.id for p in points[truth["race"]]]
        for b in behaviours:
            if b["kind"] == "FORWARD_FACING":
                out.truth.add((seed, bib, "FORWARD_FACING", ids[b["segment"] + 1]))
            elif b["kind"] == "CHIP_SEPARATED":
                out.truth.add((seed, bib, "CHIP_SEPARATED", ""))
            elif b["kind"] != "SPARSE":
                out.truth.add((seed, bib, b["kind"], b["point"]))
        passed = [
            (p.distance_m, truth["points"][p.id], p.id)
            for p in points[truth["race"]]
            if p.id in truth["points"]
        ]
        for (d0, t0, _), (d1, t1, point) in itertools.pairwise(passed):
            race = folder.event.race(truth["race"])
            assert race is not None
            record = race_record(engine.book, race, people[bib].sex)
            assert record is not None
            _, allowed = allowed_ms(record, d1 - d0, folder.event.validation)
            key = (seed, bib, "IMPLAUSIBLE_PACE", point)
            if abs((t1 - t0) / allowed - 1) < 0.005:
                out.dont_care.add(key)
            elif t1 - t0 < allowed:
                out.truth.add(key)
    for bib, result in results.items():
        for flag in result.flags:
            point = "" if flag.code == "CHIP_SEPARATED" else str(flag.point)
            out.flagged.add((seed, bib, flag.code, point))
    return out


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    root = tmp_path_factory.mktemp("validation")
    total = Outcome(set(), set(), set(), {})
    for seed in SEEDS:
        one = _race(seed, root)
        total.truth |= one.truth
        total.dont_care |= one.dont_care
        total.flagged |= one.flagged
        total.kind.update(one.kind)
    return total


def _scores(o: Outcome, code: str) -> tuple[int, int, int]:
    truth = {k for k in o.truth if k[2] == code}
    flagged = {k for k in o.flagged if k[2] == code} - o.dont_care
    return len(truth & flagged), len(flagged - truth), len(truth - flagged)


def test_precision_and_recall_of_every_flag_code(
    outcome: Outcome, capsys: pytest.CaptureFixture[str]
) -> None:
    runners = Counter(outcome.kind.values())
    flagged_runners = Counter((outcome.kind[k[:2]], k[2]) for k in {k[:3] for k in outcome.flagged})
    lines = [
        f"\nvalidation on {len(outcome.kind)} simulated runners, seeds {SEEDS}: runners of each "
        "injected behaviour (rows) with a flag of each code (columns)",
        f"{'':16}{'runners':>8}" + "".join(f"{c[:14]:>16}" for c in ROAD_CODES),
    ]
    for kind in CLASSES:
        cells = "".join(f"{flagged_runners[kind, code]:>16}" for code in ROAD_CODES)
        lines.append(f"{kind[:16]:16}{runners[kind]:>8}{cells}")
    lines.append(f"{'code':18}{'true+':>7}{'false+':>7}{'false-':>7}{'precision':>10}{'recall':>8}")
    scores = {}
    for code in ROAD_CODES:
        tp, fp, fn = _scores(outcome, code)
        precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
        scores[code] = (tp, precision, recall)
        lines.append(f"{code:18}{tp:>7}{fp:>7}{fn:>7}{precision:>10.3f}{recall:>8.3f}")
    with capsys.disabled():
        print("\n".join(lines))
    for code, (tp, precision, recall) in scores.items():
        assert tp >= 100, (code, tp)  # enough cases to measure
        assert precision >= 0.95, (code, precision)
        assert recall >= 0.95, (code, recall)


def test_no_flags_on_clean_runners_even_with_sparse_reads(outcome: Outcome) -> None:
    quiet = {"CLEAN", "SPARSE"}
    assert sum(1 for kind in outcome.kind.values() if kind == "SPARSE") >= 300
    noisy = sorted(k for k in outcome.flagged if outcome.kind[k[:2]] in quiet)
    assert noisy == []
