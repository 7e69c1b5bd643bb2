"""Spotters: guides who run forwards beside a runner, watching the way.

A spotter crosses every line the runner crosses within about half a second of
them (but not the runner's extra short-lap crossings), wears the same chips, faces
forwards, so both chips read as a forward-facing runner's, and stops when the
runner stops. A spotter's place has no meaning; the truth lists their crossings.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from readers.simulator.course import Behaviour, Kind, SimRunner
from readers.simulator.laps import apply_lap_behaviours, lap_plan
from readers.simulator.runners import Plan

BIAS_S = 0.25  # the spotter's usual place: a little ahead of or behind the runner
JITTER_S = 0.15  # and how it varies from one crossing to the next


def check_spotter(runner: SimRunner, bibs: Mapping[str, SimRunner]) -> None:
    where = f"bib {runner.bib}"
    if runner.role != "spotter":
        if runner.role != "runner":
            raise ValueError(f"{where}: role must be 'runner' or 'spotter', not {runner.role!r}")
        if runner.guides is not None:
            raise ValueError(f"{where}: only a spotter guides a runner")
        return
    guided = bibs.get(runner.guides or "")
    if guided is None:
        raise ValueError(f"{where}: a spotter guides the bib of a runner ({runner.guides!r})")
    if guided.role != "runner":
        raise ValueError(f"{where}: bib {guided.bib} is a spotter, not a runner")
    if (guided.race, guided.wave) != (runner.race, runner.wave):
        raise ValueError(f"{where}: a spotter runs in the race and wave of bib {guided.bib}")


def plan_spotter(
    rng: random.Random, runner: SimRunner, guided: Plan, behaviours: Sequence[Behaviour]
) -> Plan:
    """The spotter's race, beside `guided`'s."""
    sparse = False
    missed: list[int] = []
    shorts: list[int] = []
    track = guided.track
    for b in behaviours:
        if b.kind is Kind.SPARSE:
            sparse = True
        elif track is not None and b.kind in (Kind.MISSED_LAP_READ, Kind.SHORT_LAP):
            if b.lap is None or b.lap < 1:
                raise ValueError(f"bib {runner.bib}: {b.kind}: lap must be 1 or more")
            (missed if b.kind is Kind.MISSED_LAP_READ else shorts).append(b.lap)
        else:
            raise ValueError(f"bib {runner.bib}: {b.kind}: not simulated for a spotter")
    bias = rng.uniform(-BIAS_S, BIAS_S)

    def beside(t: float) -> float:
        return t + 1000.0 * (bias + rng.uniform(-JITTER_S, JITTER_S))

    start_ms = beside(guided.start_ms)
    passes = [
        p._replace(t=beside(p.t), forward=True, wrong_way=False, read=True)
        for p in guided.passes
        if p.tag != "short_lap"
    ]
    behaviours = tuple(behaviours)
    if track is not None:
        passes = apply_lap_behaviours(passes, missed, shorts, runner.bib)
        return lap_plan(
            runner,
            guided.race,
            guided.points,
            track,
            guided.gun_ms,
            guided.pace_s_per_km,
            start_ms,
            passes,
            sparse,
            behaviours,
        )
    n = len(guided.points)
    times: list[float | None] = [None] * n
    for p in passes:
        times[p.point] = p.t
    return Plan(
        runner=runner,
        race=guided.race,
        points=guided.points,
        gun_ms=guided.gun_ms,
        pace_s_per_km=guided.pace_s_per_km,
        start_ms=start_ms,
        times=times,
        speeds=list(guided.speeds),
        forward=[True] * n,
        wrong_way=[False] * n,
        back_gone_from=None,
        carrier=None,
        sparse=sparse,
        shortcut_m=0.0,
        behaviours=behaviours,
        passes=passes,
    )
