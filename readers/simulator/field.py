"""The whole field's true races: paces, start order, then each runner's plan.

Road runners follow `runners.plan_road`, track runners `laps.plan_lap`, spotters
copy the runner they guide (`spotters.plan_spotter`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from readers.simulator.course import Behaviour, Course
from readers.simulator.laps import plan_lap, track_of, track_pace
from readers.simulator.runners import Plan, draw_pace, plan_road, sorted_points
from readers.simulator.spotters import check_spotter, plan_spotter


def plan_runners(
    course: Course, rng: random.Random, inject: Mapping[str, Sequence[Behaviour]]
) -> list[Plan]:
    """Every runner's true race, in `course.runners` order."""
    races = {race.id: race for race in course.races}
    points = {race.id: sorted_points(race) for race in course.races}
    tracks = {race.id: track_of(race, points[race.id]) for race in course.races}
    bibs = {runner.bib: runner for runner in course.runners}
    for bib in inject:
        if bib not in bibs:
            raise ValueError(f"behaviour injected for unknown bib {bib!r}")
    paces: list[float] = []
    groups: dict[tuple[str, str], list[int]] = {}
    for i, runner in enumerate(course.runners):
        race = races.get(runner.race)
        if race is None:
            raise ValueError(f"bib {runner.bib}: unknown race {runner.race!r}")
        if not any(w.id == runner.wave for w in race.waves):
            raise ValueError(f"bib {runner.bib}: race {race.id} has no wave {runner.wave!r}")
        if "back" in race.chips and not runner.chip_back:
            raise ValueError(f"bib {runner.bib}: race {race.id} needs a back chip")
        check_spotter(runner, bibs)
        if runner.role == "spotter":
            paces.append(0.0)  # the runner's
            continue
        track = tracks[race.id]
        if track is None:
            paces.append(draw_pace(rng, course.records, runner.sex, runner.age, race.distance_m))
        else:
            paces.append(track_pace(rng, course.records, runner.sex, runner.age, race, track))
        groups.setdefault((runner.race, runner.wave), []).append(i)
    delays = [0.0] * len(course.runners)
    for (race_id, _), members in groups.items():
        # Faster runners line up at the front and reach the start mat first.
        members.sort(key=lambda i: paces[i])
        if tracks[race_id] is None:
            span_s, first_s, spread_s = min(0.35 * len(members), 420.0), 3.0, 2.0
        else:  # a track start is a few seconds for the whole field
            span_s, first_s, spread_s = min(0.08 * len(members), 6.0), 0.5, 1.0
        for rank, i in enumerate(members):
            delays[i] = first_s + span_s * rank / len(members) + spread_s * rng.random()
    plans: dict[int, Plan] = {}
    for i, runner in enumerate(course.runners):
        if runner.role == "spotter":
            continue
        race = races[runner.race]
        gun = next(w.gun_ms for w in race.waves if w.id == runner.wave)
        behaviours = tuple(inject.get(runner.bib, ()))
        track, pts, records = tracks[race.id], points[race.id], course.records
        if track is None:
            plans[i] = plan_road(
                rng, records, runner, race, pts, gun, paces[i], delays[i], behaviours, bibs
            )
        else:
            plans[i] = plan_lap(
                rng, records, runner, race, pts, track, gun, paces[i], delays[i], behaviours
            )
    by_bib = {plan.runner.bib: plan for plan in plans.values()}
    for i, runner in enumerate(course.runners):
        if runner.role == "spotter":
            guided = by_bib[runner.guides or ""]
            plans[i] = plan_spotter(rng, runner, guided, inject.get(runner.bib, ()))
    return [plans[i] for i in range(len(course.runners))]
