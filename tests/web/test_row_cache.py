"""The live leaderboard rebuilds only the rows of runners whose result changed."""

from __future__ import annotations

from pathlib import Path

from tests.timing.test_snapshots import _road_folder, finished_runner, one_more_read
from timing.engine import Engine
from web.leaderboard import RowCache, race_rows


def test_a_read_of_one_runner_leaves_every_other_row_as_it_was(tmp_path: Path) -> None:
    folder = _road_folder(tmp_path)
    rows, result = finished_runner(folder)
    engine = Engine(folder)
    engine.add_reads(rows)
    cache: RowCache = {}
    before = engine.results().races[0]
    rows_before = {row["bib"]: row for row in race_rows(before, cache=cache)}
    engine.add_reads([one_more_read(rows, result)])
    after = engine.results().races[0]
    assert after.changed == {"101"}  # the crossing counts one read more; no time moved
    rows_after = {row["bib"]: row for row in race_rows(after, cache=cache)}
    others = [r.bib for r in after.results if r.bib != "101"]
    assert others and all(rows_after[bib] is rows_before[bib] for bib in others)
    assert rows_after["101"] == rows_before["101"]  # rebuilt, and the same to a spectator
