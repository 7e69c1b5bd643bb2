"""Scoring a simulated race recovers the truth: every clean runner's chip time within
0.1 s, through every reader format (the example event uses five)."""

import statistics
from pathlib import Path

import pytest

from readers.simulator import simulate
from timing.folder import load_folder
from timing.store import Store
from web.course import course_from_folder
from web.replay import replay

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "riverside"


@pytest.mark.parametrize("seed", [3, 11])
def test_replay_recovers_true_chip_times(tmp_path: Path, seed: int) -> None:
    folder = load_folder(EXAMPLE)
    sim = simulate(course_from_folder(folder), seed)
    logs = sim.write_logs(tmp_path / "logs")
    store = Store(f"sqlite:///{tmp_path / 'journal.db'}")
    results, summary = replay(folder, store, sorted(logs.items()))
    assert summary.quarantined_new == sim.garbage_count
    assert summary.new_reads == sim.read_count()
    cutoff = {race.id: race.cutoff_ms for race in folder.event.races}
    errors = []
    for race in results.races:
        for result in race.results:
            truth = sim.truth[result.bib]
            if truth["gun_time_ms"] > cutoff[race.race.id]:
                assert result.status == "DNF"
                continue
            assert result.status == "FIN", result.bib
            errors.append(abs(result.chip_time_ms - truth["chip_time_ms"]))
    quantiles = statistics.quantiles(errors, n=100)
    print(
        f"\nseed {seed}: {len(errors)} finishers, chip-time error ms: median "
        f"{statistics.median(errors):.0f}, p90 {quantiles[89]:.0f}, p99 {quantiles[98]:.0f}, "
        f"max {max(errors)}"
    )
    assert max(errors) <= 100
    assert {u.chip for u in results.unknown_chips} == set(sim.stray_chips)
