"""STEADY_PACE: a runner made to run a whole race at a set pace (a record attempt)."""

from __future__ import annotations

import pytest

from readers.simulator import Behaviour, demo_course, simulate
from tests.readers.sim_courses import RECORDS


def test_a_steady_runner_runs_every_segment_at_the_pace_and_leaves_the_rest_alone() -> None:
    course = demo_course(seed=3, runners=40, records=RECORDS)
    bib = next(r.bib for r in course.runners if r.race == "HM")
    plain = simulate(course, 3)
    steady = simulate(course, 3, {bib: [Behaviour.steady_pace(300.0)]})
    mine = steady.truth[bib]
    times = list(mine["points"].values())
    distances = [0.0, 5_000.0, 10_000.0, 15_000.0, 21_097.5]
    assert len(times) == len(distances)
    for k in range(1, len(times)):
        metres = distances[k] - distances[k - 1]
        assert times[k] - times[k - 1] == pytest.approx(metres / 1000 * 300_000, abs=2)
    assert mine["behaviours"] == [{"kind": "STEADY_PACE", "pace_s_per_km": 300.0}]
    # Everyone else runs the race the seed gives them, read for read.
    others = [b for b in plain.truth if b != bib]
    assert all(plain.truth[b] == steady.truth[b] for b in others)


def test_a_steady_pace_must_be_a_pace() -> None:
    course = demo_course(seed=3, runners=10, records=RECORDS)
    bib = course.runners[0].bib
    with pytest.raises(ValueError, match="pace_s_per_km must be above 0"):
        simulate(course, 3, {bib: [Behaviour.steady_pace(0.0)]})
