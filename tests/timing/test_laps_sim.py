"""A simulated track meet scored from its reads: every runner's laps and places as they
really were where no read was missed, and a flag on each injected missed or short lap.

With the default `min_lap_s` (the backwards record allowance for a lap), a lap run
facing forwards by a fast runner is quicker than any backwards lap can be: it is not
counted but flagged SHORT_LAP, and FORWARD_FACING at the same crossing says why. With
`min_lap_s = 60` it counts, and is flagged FORWARD_FACING."""

from __future__ import annotations

from pathlib import Path

import pytest

from readers.simulator import Behaviour, random_injections, simulate
from tests.timing.sim_event import feed
from tests.timing.track_sim import track_meet
from timing.engine import Engine
from timing.laps import LapRule
from web.course import course_from_folder

TOLERANCE_MS = 100  # a crossing's time from its reads against the true time
SPARSE_TOLERANCE_MS = 500  # few reads, noisy RSSI: the peak is found less exactly


def _injections(course, seed: int) -> dict[str, list[Behaviour]]:
    inject = random_injections(course, seed, 0.5)
    # and always one of each kind in both races, away from the ends
    inject.update(
        {
            "2": [Behaviour.missed_lap_read(6)],
            "3": [Behaviour.short_lap(4)],
            "5": [Behaviour.forward_facing(8)],
            "24": [Behaviour.missed_lap_read(3)],
            "25": [Behaviour.short_lap(7)],
            "26": [Behaviour.forward_facing(5)],
        }
    )
    return inject


def _unread(engine: Engine, result, true_laps: list[int]) -> set[int]:
    """The crossings (numbered from 1) at which no chip of the runner was read at the mat."""
    line = engine.event.race(result.participant.race).points[-1]
    mat = (line.reader, line.antennas)
    seen = [
        c.time_ms
        for chip in result.participant.chips
        for c in engine.chip_crossings(chip)
        if c.line == mat
    ]
    return {n for n, t in enumerate(true_laps, 1) if not any(abs(t - s) <= 1000 for s in seen)}


def _near(result, code: str, true_ms: int) -> bool:
    """A flag of `code` on the runner's crossing within 1 s of the true time."""
    return any(
        f.code == code and abs(_clock_ms(str(f.point), true_ms) - true_ms) <= 1000
        for f in result.flags
    )


def _clock_ms(point: str, near_ms: int) -> int:
    """The instant a crossing key names, taken as the one nearest `near_ms`."""
    clock = point.rpartition("@")[2]
    hh, mm, rest = clock.split(":")
    seconds = int(hh) * 3600 + int(mm) * 60 + float(rest)
    day_ms = 86_400_000
    local = (near_ms + 3_600_000) % day_ms  # the race day is in British Summer Time
    return near_ms - local + round(seconds * 1000)


@pytest.mark.parametrize(("seed", "min_lap_s"), [(1, None), (2, None), (3, 60), (4, 60)])
def test_a_simulated_track_meet(tmp_path: Path, seed: int, min_lap_s: float | None) -> None:
    folder = track_meet(tmp_path, seed, min_lap_s=min_lap_s)
    course = course_from_folder(folder)
    sim = simulate(course, seed, inject=_injections(course, seed))
    engine = Engine(folder)
    feed(engine, sim)
    results = engine.results()
    assert {u.chip for u in results.unknown_chips} <= set(sim.stray_chips)
    spotters = {bib for bib, t in sim.truth.items() if t.get("role") == "spotter"}
    assert spotters and spotters <= set(engine.spotters)
    checked = {"clean": 0, "guided": 0, "missed": 0, "short": 0, "forward": 0, "too fast": 0}
    guided = {sim.truth[bib]["guides"] for bib in spotters}
    for rr in results.races:
        race = rr.race
        rule = LapRule(engine.min_lap_ms[race.id], engine.event.validation.riegel_exponent)
        assert not spotters & {r.bib for r in rr.results}  # never ranked
        clean = []
        for r in rr.results:
            truth = sim.truth[r.bib]
            true_laps = truth["laps"]
            # Injected unread crossings, and those a sparse runner's chips missed by chance
            missed = sorted(set(truth["missed_lap_reads"]) | _unread(engine, r, true_laps))
            shorts = [t for t in truth["short_laps"] if t < true_laps[-1]]
            starts = [c["t"] for c in truth["crossings"] if c["kind"] == "start"]
            previous = [starts[0] if starts else truth["gun_ms"], *true_laps]
            too_fast = [
                t
                for n, t in enumerate(true_laps, 1)
                if t - previous[n - 1]
                < rule.min_ms(
                    race, race.lap_distance_m(n) - (race.lap_distance_m(n - 1) if n > 1 else 0)
                )
            ]
            for t in too_fast:
                assert _near(r, "SHORT_LAP", t) and _near(r, "FORWARD_FACING", t), r.bib
                checked["too fast"] += 1
            if not missed and not too_fast:
                assert r.laps_completed == truth["laps_completed"], r.bib
                errors = [abs(a.time_ms - b) for a, b in zip(r.laps, true_laps, strict=True)]
                sparse = any(b["kind"] == "SPARSE" for b in truth["behaviours"])
                limit = SPARSE_TOLERANCE_MS if sparse else TOLERANCE_MS
                assert max(errors) <= limit, (r.bib, max(errors))
                assert r.status == "FIN" and r.laps_to_go in (0, None)
                assert not any(f.code == "MISSED_LAP" for f in r.flags), (r.bib, r.flags)
                clean.append((r.place, r.bib, truth))
                checked["clean"] += 1
                if not truth["behaviours"]:  # spotter beside them or not: nothing raised
                    assert r.flags == (), (r.bib, r.flags)
                    checked["guided"] += r.bib in guided
            for number in missed:
                if number == len(true_laps):
                    continue  # the last crossing: nothing after it shows the gap
                assert _near(r, "MISSED_LAP", true_laps[number]), (r.bib, number, r.flags)
                checked["missed"] += 1
            for t in shorts:
                assert _near(r, "SHORT_LAP", t), (r.bib, t, r.flags)
                checked["short"] += 1
            if not shorts and not too_fast:
                assert not any(f.code == "SHORT_LAP" for f in r.flags), (r.bib, r.flags)
            for behaviour in truth["behaviours"]:
                if behaviour["kind"] == "FORWARD_FACING":
                    assert _near(r, "FORWARD_FACING", true_laps[behaviour["segment"]]), r.bib
                    checked["forward"] += 1
        # Places where no read was missed: the true order (by laps, then time).
        if race.is_timed:
            order = sorted(
                clean, key=lambda x: (-x[2]["laps_completed"], x[2]["laps"][-1] - x[2]["start_ms"])
            )
        else:
            order = sorted(clean, key=lambda x: x[2]["chip_time_ms"])
        placed = sorted(clean, key=lambda x: (x[0], x[1]))
        assert [bib for _, bib, _ in placed] == [bib for _, bib, _ in order]
    print(f"\nseed {seed}, min_lap_s {min_lap_s}: {checked}")
    assert checked["clean"] >= 20 and checked["guided"] >= 1, checked
    assert min(checked["missed"], checked["short"], checked["forward"]) >= 2, checked
    if min_lap_s is not None:
        assert checked["too fast"] == 0


def test_the_example_track_meet_replays_to_its_truth(tmp_path: Path) -> None:
    """examples/track: its log, in the Ultra format, scores to the laps of truth.json."""
    import json

    from timing.folder import load_folder
    from timing.store import Store
    from web.replay import replay

    example = Path(__file__).resolve().parents[2] / "examples" / "track"
    folder = load_folder(example)
    truth = json.loads((example / "truth.json").read_text(encoding="utf-8"))["runners"]
    store = Store(f"sqlite:///{tmp_path / 'journal.db'}")
    results, _ = replay(folder, store, [("LAP", example / "logs" / "LAP.log")])
    store.close()
    races = {rr.race.id: rr for rr in results.races}
    assert {r.bib for rr in results.races for r in rr.results} == {
        bib for bib, t in truth.items() if t.get("role") != "spotter"
    }
    for rr in races.values():
        for r in rr.results:
            true_laps = truth[r.bib]["laps"]
            assert r.status == "FIN" and r.laps_completed == len(true_laps), r.bib
            assert max(abs(a.time_ms - b) for a, b in zip(r.laps, true_laps, strict=True)) <= 100
    five = [r.bib for r in races["5K"].results]
    assert five == sorted(five, key=lambda b: truth[b]["laps"][-1])
    hour = [r.bib for r in races["1H"].results]
    assert hour == sorted(
        hour, key=lambda b: (-len(truth[b]["laps"]), truth[b]["laps"][-1] - truth[b]["start_ms"])
    )
