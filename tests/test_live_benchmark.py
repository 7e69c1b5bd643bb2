"""The live benchmark as an instrument: it runs end to end, and its hole count sees holes."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.live.analysis import Figures, count_holes, first_receipts, match_crossings
from benchmarks.live.observe import ServiceTrace
from benchmarks.live.race import Crossing, build_race, course

ROOT = Path(__file__).resolve().parent.parent


def test_a_tiny_run_reports_no_holes_and_a_finite_p99(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    command = [
        sys.executable, "-m", "benchmarks.live", "--spectators", "20", "--rate", "50",
        "--seconds", "3", "--readers", "2", "--json", str(summary),
    ]  # fmt: skip
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the work folder, gone with the test
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(summary.read_text())
    assert figures["spectators"] == 20 and figures["failed"] == 0
    assert figures["updates"] > 0 and figures["uplink_messages"] > 0
    assert figures["holes"] == 0
    assert figures["p99_ms"] is not None and math.isfinite(figures["p99_ms"])
    assert "TARGET no holes: met" in done.stdout


def _trace(published: dict[int, int]) -> ServiceTrace:
    return ServiceTrace(published={s: (ns, "") for s, ns in published.items()})


def test_an_update_a_spectator_never_showed_is_a_hole() -> None:
    trace = _trace({1: 100, 2: 200, 3: 300, 4: 400})
    fig = Figures()
    whole = first_receipts([[110, "update", 1], [210, "update", 2], [310, "update", 3]])
    missed = first_receipts([[110, "update", 1], [410, "update", 4]])
    count_holes(fig, [whole, missed], [50, 50], [1, 2, 3, 4], trace)
    assert (fig.holes, fig.holed_spectators) == (3, 2)  # 4 for the first, 2 and 3 for the other


def test_a_snapshot_covers_what_it_follows_and_earlier_updates_are_not_owed() -> None:
    trace = _trace({1: 100, 2: 200, 3: 300, 4: 400})
    fig = Figures()
    resumed = first_receipts([[110, "update", 1], [350, "snapshot", 3], [410, "update", 4]])
    late = first_receipts([[410, "update", 4]])  # connected after 3 was published
    count_holes(fig, [resumed, late], [50, 320], [1, 2, 3, 4], trace)
    assert fig.holes == 0


def test_a_crossing_shows_in_the_first_update_whose_changed_rows_show_it() -> None:
    crossings = [Crossing("7", "start", "START", "B7", 0), Crossing("7", "3k", "K3", "B7", 1)]
    row = {"bib": "7", "pos": 1, "status": "RUN", "last_point": None}
    texts = [
        [1, json.dumps({"type": "update", "seq": 5, "rows": [], "moved": [["7", 1]]})],
        [2, json.dumps({"type": "update", "seq": 6, "rows": [row]})],
        [3, json.dumps({"type": "update", "seq": 7, "rows": [{**row, "last_point": "3k"}]})],
    ]
    assert match_crossings(texts, crossings) == {0: 6, 1: 7}


def test_the_race_gives_every_reader_its_share_of_the_rate(tmp_path: Path) -> None:
    assert [p for _, p, _ in course(8)] == [
        "start", "3k", "6k", "9k", "12k", "15k", "18k", "finish",
    ]  # fmt: skip
    race = build_race(tmp_path / "event", 8, rate=480, seconds=30)
    shares = [race.lines_of(r) / 30 for r in race.readers]
    assert all(48 <= share <= 72 for share in shares), shares  # 60 lines/s each
