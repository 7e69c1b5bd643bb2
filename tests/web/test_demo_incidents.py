"""The demo's incidents, replayed: the flags, the review and the record watch all show."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from readers.formats import format_names
from readers.simulator import simulate
from tests.web.conftest import EXAMPLE
from timing.folder import load_folder
from timing.report import claim_json
from timing.store import Store
from web.course import course_from_folder
from web.demo import SAMPLE, _moved_starts, demo_incidents
from web.replay import replay


def test_the_demo_shows_a_record_claim_and_each_kind_of_flag(tmp_path: Path) -> None:
    folder = load_folder(EXAMPLE, set(format_names()))
    incidents = demo_incidents(folder)
    kinds = {bib: [str(b.kind) for b in bs] for bib, bs in incidents.items()}
    assert sorted(k for ks in kinds.values() for k in ks) == [
        "FORWARD_FACING",
        "MISSED_SPLIT",
        "STEADY_PACE",
        "WRONG_WAY",
    ]
    sim = simulate(course_from_folder(folder), 7, incidents)
    logs = sim.write_logs(tmp_path / "logs")
    store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    results, _ = replay(folder, store, sorted(logs.items()))
    store.close()
    by_bib = {r.participant.bib: r for rr in results.races for r in rr.results}
    for bib, ks in kinds.items():
        result = by_bib[bib]
        if ks == ["STEADY_PACE"]:
            world = [claim_json(x) for x in result.records if x.scope == "world"]
            assert result.status == "FIN" and world and world[0]["verdict"] == "broken"
            assert world[0]["claim"] == "pending review"  # until the director reviews it
        else:
            assert ks[0] in {f.code for f in result.flags}, (bib, result.flags)


def test_demo_waves_keep_their_gaps_and_never_start_past_midnight() -> None:
    text = (SAMPLE / "event.toml").read_text(encoding="utf-8")
    assert _moved_starts(text, datetime(2026, 12, 1, 10, 0, 0)) == [
        "10:30:00",
        "10:40:00",
        "10:00:00",
    ]
    late = _moved_starts(text, datetime(2026, 12, 1, 23, 40, 0))
    assert late[2] == "23:40:00" and late[0] < late[1] <= "23:59:59"
