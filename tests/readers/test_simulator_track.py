"""The race simulator on a track: lap races, timed races, spotters, lap behaviours."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import defaultdict
from collections.abc import Iterable

import pytest

from readers.read import Read
from readers.simulator import (
    Behaviour,
    SimRace,
    Simulation,
    demo_course,
    random_injections,
    simulate,
    track_participants,
)
from readers.simulator.runners import record_pace
from tests.readers.sim_courses import RECORDS, track_course

SEED = 4
WINDOW_MS = 3000  # the engine's dedupe window
MAT, PANEL = (1, 2), (3,)
# Bibs 1-20 run the 5,000 m (5K), 21-40 the hour (1H); spotters are 41 and up.
INJECT = {
    "5": [Behaviour.missed_lap_read(4)],
    "7": [Behaviour.short_lap(6)],
    "25": [Behaviour.short_lap(3)],
    "27": [Behaviour.missed_lap_read(10)],
}


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(track_course(seed=SEED), SEED, inject=INJECT)


@pytest.fixture(scope="module")
def clean_sim() -> Simulation:
    return simulate(track_course(seed=SEED), SEED)


def reads_by_chip(sim: Simulation) -> dict[str, list[Read]]:
    out: dict[str, list[Read]] = defaultdict(list)
    for r in sim.reads["LAP"]:
        out[r.chip].append(r)
    return out


@pytest.fixture(scope="module")
def by_chip(sim: Simulation) -> dict[str, list[Read]]:
    return reads_by_chip(sim)


def crossings(reads: Iterable[Read], antennas: Iterable[int], off_ms: int = 0) -> list[int]:
    """Dedupe as the engine does; each crossing's time is its peak read's (true clock)."""
    ants = set(antennas)
    groups: list[list[Read]] = []
    for r in reads:
        if r.antenna not in ants:
            continue
        if groups and r.time_ms - groups[-1][0].time_ms <= WINDOW_MS:
            groups[-1].append(r)
        else:
            groups.append([r])
    return [max(g, key=lambda r: (r.rssi, -r.time_ms)).time_ms + off_ms for g in groups]


def runners_of(sim: Simulation, race: str, injected: bool = False) -> list[dict]:
    return [
        t
        for bib, t in sim.truth.items()
        if t["race"] == race and t["role"] == "runner" and (injected or bib not in INJECT)
    ]


def test_a_5000_m_runner_crosses_the_line_13_times(sim, by_chip) -> None:
    field = runners_of(sim, "5K")
    assert len(field) >= 15
    for truth in field:
        laps = truth["laps"]
        assert len(laps) == truth["laps_completed"] == 13
        assert laps == sorted(laps)
        assert truth["distance_m"] == 5000.0
        assert truth["finish_ms"] == laps[-1]
        assert [c["kind"] for c in truth["crossings"]] == ["lap"] * 13
        # Gun start at the 200 m mark: half a lap to the line, then whole laps.
        first = laps[0] - truth["start_ms"]
        lap = (laps[-1] - laps[0]) / 12
        assert 0.4 < first / lap < 0.6
        assert 0 < truth["start_ms"] - truth["gun_ms"] < 10_000
        for chip in truth["chips"].values():
            seen = crossings(by_chip[chip], MAT)
            assert len(seen) == 13, (truth["bib"], chip)
            assert max(abs(a - b) for a, b in zip(seen, laps, strict=True)) <= 100


def test_timed_race_counts_the_laps_within_the_hour(sim, by_chip) -> None:
    field = runners_of(sim, "1H")
    assert len(field) >= 15
    for truth in field:
        end = truth["end_ms"]
        assert end == truth["gun_ms"] + 3_600_000
        laps, after = truth["laps"], truth["after_time_ms"]
        assert laps and laps[-1] < end < after
        # Started on the line: the start crossing, the counted laps, one crossing after.
        kinds = [c["kind"] for c in truth["crossings"]]
        assert kinds == ["start"] + ["lap"] * len(laps) + ["after_time"]
        assert truth["distance_m"] == 400.0 * len(laps)
        assert after - laps[-1] < 1.5 * (laps[-1] - laps[0]) / max(1, len(laps) - 1)
        for chip in truth["chips"].values():
            seen = crossings(by_chip[chip], MAT)
            assert len(seen) == len(laps) + 2, (truth["bib"], chip)
            assert 0 < seen[0] - truth["gun_ms"] < 10_000  # the start, just after the gun
            assert sum(t > end for t in seen) == 1
            assert abs(seen[-1] - after) <= 100


def test_no_crossing_is_near_the_end_of_time(sim) -> None:
    for truth in runners_of(sim, "1H", injected=True):
        for c in truth["crossings"]:
            assert abs(c["t"] - truth["end_ms"]) >= 1000


def test_spotters_run_beside_their_runner(sim, by_chip) -> None:
    spotters = [t for t in sim.truth.values() if t["role"] == "spotter"]
    assert {t["race"] for t in spotters} == {"5K", "1H"}
    for spotter in spotters:
        runner = sim.truth[spotter["guides"]]
        assert runner["role"] == "runner"
        assert (spotter["race"], spotter["wave"]) == (runner["race"], runner["wave"])
        ours = [c["t"] for c in spotter["crossings"]]
        theirs = [c["t"] for c in runner["crossings"] if c["kind"] != "short_lap"]
        assert len(ours) == len(theirs)
        assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) <= 500
        assert spotter["laps_completed"] == runner["laps_completed"]
        # Facing forwards: the front chip leads at the oncoming panel, the back is shadowed.
        front, back = (by_chip[spotter["chips"][side]] for side in ("front", "back"))
        front_panel = [r for r in front if r.antenna in PANEL]
        back_panel = [r for r in back if r.antenna in PANEL]
        assert len(front_panel) > 3 * len(back_panel)
        assert len(crossings(front, MAT)) == len(ours)
        # Their runner, backwards, the other way round.
        rf, rb = (by_chip[runner["chips"][side]] for side in ("front", "back"))
        assert len([r for r in rb if r.antenna in PANEL]) > 3 * len(
            [r for r in rf if r.antenna in PANEL]
        )


def test_leaders_lap_the_slowest(sim) -> None:
    for race in ("5K", "1H"):
        field = runners_of(sim, race, injected=True)
        leader = min(field, key=lambda t: (-t["laps_completed"], t["laps"][-1]))
        slowest = max(field, key=lambda t: (-t["laps_completed"], t["laps"][-1]))
        done = leader["laps"][-1]
        behind = sum(t <= done for t in slowest["laps"])
        assert leader["laps_completed"] - behind >= 2, race


def test_missed_lap_read_leaves_no_reads_at_that_crossing(sim, by_chip) -> None:
    for bib, lap in (("5", 4), ("27", 10)):
        truth = sim.truth[bib]
        assert len(truth["laps"]) == truth["laps_completed"]
        assert truth["missed_lap_reads"] == [lap]
        t = truth["laps"][lap - 1]
        (unread,) = [c for c in truth["crossings"] if not c["read"]]
        assert unread["t"] == t
        for chip in truth["chips"].values():
            assert not [r for r in by_chip[chip] if abs(r.time_ms - t) <= 8000]
            seen = crossings(by_chip[chip], MAT)
            extra = 2 if truth["race"] == "1H" else 0  # the start and the one after time
            assert len(seen) == len(truth["laps"]) - 1 + extra
    assert len(sim.truth["5"]["laps"]) == 13


def test_short_lap_adds_a_crossing_and_keeps_the_laps(sim, clean_sim, by_chip) -> None:
    for bib, lap in (("7", 6), ("25", 3)):
        truth = sim.truth[bib]
        assert truth["laps"] == clean_sim.truth[bib]["laps"]
        real = truth["laps"][lap - 1]
        (extra,) = truth["short_laps"]
        assert 8000 <= extra - real <= 20_000
        assert [c["kind"] for c in truth["crossings"]].count("short_lap") == 1
        for chip in truth["chips"].values():
            seen = crossings(by_chip[chip], MAT)
            assert any(abs(t - extra) <= 100 for t in seen)
            assert any(abs(t - real) <= 100 for t in seen)
            expected = len(truth["laps"]) + 1 + (2 if truth["race"] == "1H" else 0)
            assert len(seen) == expected
    # Injected behaviours change no one's true race.
    for bib, truth in sim.truth.items():
        assert truth["laps"] == clean_sim.truth[bib]["laps"], bib


def test_same_seed_same_meet(sim) -> None:
    again = simulate(track_course(seed=SEED), SEED, inject=INJECT)
    assert again.truth == sim.truth
    assert list(again.lines("LAP")) == list(sim.lines("LAP"))
    other = simulate(track_course(seed=SEED), SEED + 1, inject=INJECT)
    assert other.truth != sim.truth


def test_track_paces_are_backwards_paces() -> None:
    course = track_course(seed=9, runners=400)
    sim = simulate(course, 9)
    for sex in ("M", "F"):
        times = [
            (t["laps"][-1] - t["start_ms"]) / 60_000
            for t in runners_of(sim, "5K")
            if t["sex"] == sex
        ]
        record_min = record_pace(RECORDS, 5000, sex) * 5 / 60
        assert 0.97 * record_min < min(times) < 1.2 * record_min
        assert max(times) < 52
    all_5k = [(t["laps"][-1] - t["start_ms"]) / 60_000 for t in runners_of(sim, "5K")]
    assert min(all_5k) > 22
    assert 45 < max(all_5k) < 52
    hour = [t["distance_m"] for t in runners_of(sim, "1H")]
    assert min(hour) > 5_000
    assert 10_000 < max(hour) < 14_000


def test_participants_match_the_course() -> None:
    rows = track_participants(seed=3, runners=30)
    course = track_course(seed=3, runners=30)
    assert list(rows[0]) == [
        "bib",
        "first_name",
        "last_name",
        "sex",
        "birth_date",
        "age",
        "club",
        "nation",
        "race",
        "wave",
        "chip_front",
        "chip_back",
        "role",
        "guides",
    ]
    assert [r["bib"] for r in rows] == [p.bib for p in course.runners]
    assert [(r["role"], r["guides"] or None) for r in rows] == [
        (p.role, p.guides) for p in course.runners
    ]
    bibs = {r["bib"]: r for r in rows}
    spotters = [r for r in rows if r["role"] == "spotter"]
    assert spotters and all(bibs[s["guides"]]["role"] == "runner" for s in spotters)
    assert all(bibs[s["guides"]]["race"] == s["race"] for s in spotters)
    chips = [r[c] for r in rows for c in ("chip_front", "chip_back")]
    assert len(set(chips)) == len(chips)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    assert len(out.getvalue().splitlines()) == len(rows) + 1
    (five, hour) = course.races
    assert (five.laps, five.lap_m, five.duration_ms) == (13, 400.0, None)
    assert [p.distance_m for p in five.points] == [5000.0]
    assert (hour.laps, hour.lap_m, hour.duration_ms) == (None, 400.0, 3_600_000)
    assert [p.distance_m for p in hour.points] == [0.0, 400.0]


@pytest.mark.parametrize("fmt", ["ipico", "raceresult", "ultra", "wiclax"])
def test_every_format_shows_every_lap(fmt: str) -> None:
    course = track_course(seed=2, runners=12, reader_format=fmt, clock_offset_s=-0.6)
    sim = simulate(course, 2)
    off = sim.clock_offset_ms("LAP")
    # Without RSSI a crossing is timed at its first read, up to a second early.
    tolerance = 100 if sim.format("LAP").has_rssi else 1000
    by_chip = reads_by_chip(sim)
    for truth in sim.truth.values():
        seen = crossings(by_chip[truth["chips"]["front"]], MAT, off)
        if truth["race"] == "1H":
            assert len(seen) == len(truth["laps"]) + 2
            seen = seen[1:-1]
        errors = [a - b for a, b in zip(seen, truth["laps"], strict=True)]
        assert max(abs(e) for e in errors) <= tolerance, truth["bib"]


def test_random_injections_fit_a_track_meet() -> None:
    for seed in range(4):
        course = track_course(seed=seed, runners=30)
        inject = random_injections(course, seed, 0.5)
        assert inject
        spotters = {p.bib for p in course.runners if p.role == "spotter"}
        assert not spotters & set(inject)
        sim = simulate(course, seed, inject=inject)
        assert all(t["laps"] for t in sim.truth.values())


def _race(**changes) -> SimRace:
    course = track_course(seed=1, runners=4)
    return course.races[0].__class__(**{**_fields(course.races[0]), **changes})


def _fields(race: SimRace) -> dict:
    names = ("id", "distance_m", "chips", "waves", "points", "laps", "lap_m", "duration_ms")
    return {name: getattr(race, name) for name in names}


@pytest.mark.parametrize(
    ("changes", "inject", "message"),
    [
        ({"laps": 12}, {}, "crosses the line 13 times"),
        ({"lap_m": None}, {}, "lap_m"),
        ({"duration_ms": 60_000}, {}, "not both"),
        ({}, {"1": [Behaviour.missed_lap_read(14)]}, "lap must be 1..13"),
        ({}, {"1": [Behaviour.wrong_way("LAP")]}, "not simulated in track race"),
        ({}, {"1": [Behaviour.forward_facing(13)]}, "segment"),
    ],
)
def test_invalid_track_races_are_refused(changes, inject, message) -> None:
    course = track_course(seed=1, runners=4)
    races = [_race(**changes), *course.races[1:]]
    bad = dataclasses.replace(course, races=races)
    with pytest.raises(ValueError, match=message):
        simulate(bad, 1, inject=inject)


def test_lap_behaviours_are_refused_on_the_road_and_spotters_need_a_runner() -> None:
    with pytest.raises(ValueError, match="not a lap race"):
        simulate(
            demo_course(seed=1, runners=10, records=RECORDS),
            1,
            inject={"1": [Behaviour.short_lap(1)]},
        )
    course = track_course(seed=1, runners=10)
    lost = [
        p if p.role == "runner" else p.__class__(**{**_runner(p), "guides": "99"})
        for p in course.runners
    ]
    bad = dataclasses.replace(course, runners=lost)
    with pytest.raises(ValueError, match="spotter guides"):
        simulate(bad, 1)


def _runner(p) -> dict:
    names = ("bib", "sex", "age", "race", "wave", "chip_front", "chip_back", "role", "guides")
    return {name: getattr(p, name) for name in names}
