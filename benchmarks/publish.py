"""Publishing throughput: the static site of a synthetic marathon of 30,000 finishers.

    python -m benchmarks.publish [--runners 30000] [--out DIR] [--profile]

The results are built through the engine (8 points, two chips, two reads per chip per
crossing, fed straight to `Engine.add_reads`), then `results.site.publish_site` writes
the site: one page per athlete, per category and per race, CSV and JSON. Only the
publishing is timed; the target is under a minute for 30,000 finishers.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.replay import POINTS, write_event
from results.site import publish_site
from timing.engine import Engine, EventResults
from timing.folder import load_folder

GUN_MS = 1_791_097_200_000  # 2026-10-04 09:00 Europe/Berlin, the benchmark event's gun


def synthetic_results(
    folder_path: Path, runners: int, seed: int = 1
) -> tuple[Engine, EventResults]:
    write_event(folder_path, runners)
    folder = load_folder(folder_path)
    engine = Engine(folder)
    rng = random.Random(seed)
    rows = []
    rid = 0
    for bib in range(1, runners + 1):
        pace = rng.uniform(320, 800) / 1000  # s per metre
        start = rng.randrange(0, 600_000)
        for i, distance in enumerate(POINTS):
            t = GUN_MS + start + int(distance * pace * 1000 * rng.uniform(0.97, 1.03))
            for chip in (f"{bib:012d}", f"{900000000000 + bib:012d}"):
                for k in range(2):
                    rid += 1
                    rows.append((rid, f"R{i}", chip, 1 + k, t + k * 80, -60.0 - k))
    engine.add_reads(rows)
    return engine, engine.results()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runners", type=int, default=30_000)
    parser.add_argument("--out", type=Path, help="Keep the site here (default: a temp folder).")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        engine, results = synthetic_results(Path(tmp) / "event", args.runners)
        finishers = sum(1 for rr in results.races for r in rr.results if r.status == "FIN")
        print(
            f"set-up: {args.runners:,} runners, {finishers:,} finishers, "
            f"{engine.read_count:,} reads scored in {time.perf_counter() - t0:.1f} s"
        )
        out = args.out or Path(tmp) / "site"
        if out.exists() and args.out is not None:
            shutil.rmtree(out)
        profiler = cProfile.Profile() if args.profile else None
        t1 = time.perf_counter()
        if profiler:
            profiler.enable()
        summary = publish_site(
            out,
            engine.folder,
            results,
            0,
            datetime(2026, 10, 4, 18, 0, tzinfo=UTC),
        )
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - t1
        print(
            f"publish: {summary.files:,} files ({summary.pages:,} pages, "
            f"{summary.bytes / 1e6:.1f} MB) in {elapsed:.1f} s = "
            f"{summary.files / elapsed:,.0f} files/s, {finishers / elapsed:,.0f} finishers/s "
            f"(target: {finishers:,} finishers in under 60 s: "
            f"{'met' if elapsed < 60 else 'MISSED'})"
        )
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
