"""Snapshots: what `results()` hands out never changes, and each says who changed."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.timing.builders import EVENT_TOML, write_folder
from tests.timing.test_engine import RECORDS, _decide, _decide_laps, _race_rows, _track_rows
from tests.timing.track_event import track_folder
from timing.engine import Engine, EventResults
from timing.folder import EventFolder, load_folder
from timing.report import results_json
from timing.results import Result

AT = datetime(2026, 10, 4, 12, 0, tzinfo=UTC)


def _road_folder(path: Path) -> EventFolder:
    folder = write_folder(path, toml=EVENT_TOML + '\n[rules]\ndq_on = ["WRONG_WAY"]\n')
    (folder / "records.csv").write_text(RECORDS, encoding="utf-8")
    return load_folder(folder)


def _by_race(results: EventResults) -> dict[str, dict[str, Result]]:
    return {rr.race.id: {r.bib: r for r in rr.results} for rr in results.races}


def _check_changed(before: EventResults | None, after: EventResults) -> None:
    """`changed` is exactly who is not the same object as before, and exactly who is
    not equal to before: a runner whose result came out the same keeps its object."""
    old = _by_race(before) if before is not None else {}
    for rr in after.races:
        previous = old.get(rr.race.id, {})
        new_object = {r.bib for r in rr.results if r is not previous.get(r.bib)}
        differs = {r.bib for r in rr.results if r != previous.get(r.bib)}
        assert rr.changed == new_object == differs, rr.race.id


def _feed(engine: Engine, rows: list[tuple], sizes: list[int], act) -> None:
    """Feed `rows` in batches of the given sizes (cycled), taking results after each;
    the director acts halfway."""
    before = None
    start, turn = 0, 0
    halfway = len(rows) // 2
    while start < len(rows):
        size = sizes[turn % len(sizes)]
        engine.add_reads(rows[start : start + size])
        if start <= halfway < start + size:
            act(engine)
        start, turn = start + size, turn + 1
        after = engine.results()
        _check_changed(before, after)
        before = after
    again = engine.results()  # nothing new: nobody changed
    assert all(rr.changed == frozenset() for rr in again.races)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shuffle=st.integers(0, 2**32),
    sizes=st.lists(st.integers(1, 60), min_size=1, max_size=8),
)
def test_changed_names_exactly_the_runners_whose_result_changed(
    tmp_path_factory, seed: int, shuffle: int, sizes: list[int]
) -> None:
    folder = _road_folder(tmp_path_factory.mktemp("ev"))
    rows = _race_rows(folder, seed)
    random.Random(shuffle).shuffle(rows)
    _feed(Engine(folder), rows, sizes, _decide)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shuffle=st.integers(0, 2**32),
    sizes=st.lists(st.integers(1, 80), min_size=1, max_size=8),
)
def test_changed_in_lap_races(tmp_path_factory, seed: int, shuffle: int, sizes: list[int]) -> None:
    folder = track_folder(tmp_path_factory.mktemp("track"))
    rows, decisions = _track_rows(folder, seed)
    random.Random(shuffle).shuffle(rows)
    _feed(Engine(folder), rows, sizes, lambda engine: _decide_laps(engine, decisions))


def test_the_first_snapshot_names_every_runner(tmp_path: Path) -> None:
    folder = _road_folder(tmp_path)
    first = Engine(folder).results()
    for rr in first.races:
        assert rr.changed == {r.bib for r in rr.results} and rr.changed


def test_a_snapshot_once_handed_out_never_changes(tmp_path: Path) -> None:
    """A page holding the previous snapshot reads it whole while the engine goes on:
    new reads, places taken, flags decided, a record confirmed, a DQ."""
    folder = _road_folder(tmp_path)
    rows = _race_rows(folder, 7)
    engine = Engine(folder)
    stray = [r for r in rows if r[2] == "STRAY1"]
    engine.add_reads(rows[: len(rows) // 2] + stray[:2])
    held = engine.results()
    tz = folder.event.timezone
    written = results_json("x", held, 0, tz, AT)
    engine.add_reads(rows[len(rows) // 2 :])
    _decide(engine)
    later = engine.results()
    assert results_json("x", held, 0, tz, AT) == written
    assert results_json("x", later, 0, tz, AT) != written


def finished_runner(folder: EventFolder) -> tuple[list[tuple], Result]:
    """A random race (the first seed where bib 101 finishes) and 101's result."""
    for seed in range(50):
        rows = _race_rows(folder, seed)
        engine = Engine(folder)
        engine.add_reads(rows)
        result = engine.result_of("101")
        if result is not None and result.status == "FIN":
            return rows, result
    raise AssertionError("no seed of 50 lets bib 101 finish")


def one_more_read(rows: list[tuple], result: Result) -> tuple:
    """A weak read of the runner's front chip just after its finish crossing: it joins
    that crossing without moving its time."""
    crossing = next(c for c in result.passings[-1].crossings if c.chip.startswith("F"))
    reader, antennas = crossing.line
    return (len(rows) + 1, reader, crossing.chip, antennas[0], crossing.last_ms + 100, -99.0)
