"""Replay throughput: a synthetic marathon scored by `retrotime replay`'s code path.

    python -m benchmarks.replay [--runners 30000] [--reads 15]

30,000 runners x 8 points x 2 chips x ~15 reads is about 7 million retrotime-csv
lines. The bare baseline, measured in the same run on the same files: each line split
with str.split and inserted with sqlite3 executemany in batches of 5,000, in one
transaction per file. The ratio is RetroTime's reads/s over the baseline's.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from readers.formats import get_format
from readers.read import FormatContext, Read
from timing.folder import load_folder
from timing.store import Store
from web.replay import replay

POINTS = [0, 5000, 10000, 15000, 21097.5, 30000, 35000, 42195]
TZ = "Europe/Berlin"


def write_event(folder: Path, runners: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    toml = [f'[event]\nname = "Benchmark Retro Marathon"\ndate = "2026-10-04"\ntimezone = "{TZ}"\n']
    for i in range(len(POINTS)):
        toml.append(f'[[readers]]\nid = "R{i}"\nformat = "retrotime-csv"\nport = "/dev/null"\n')
    toml.append(
        '[[races]]\nid = "full"\nname = "Marathon"\ndistance_m = 42195\n'
        'chips = ["front", "back"]\nranking = "chip"\n'
        '[[races.waves]]\nid = "A"\nstart = "09:00:00"\n'
    )
    for i, d in enumerate(POINTS):
        toml.append(
            f'[[races.points]]\nid = "P{i}"\ndistance_m = {d}\nreader = "R{i}"\n'
            "antennas = [1, 2, 3, 4]\n"
        )
    (folder / "event.toml").write_text("\n".join(toml))
    with (folder / "participants.csv").open("w") as f:
        f.write("bib,first_name,last_name,sex,age,race,wave,chip_front,chip_back\n")
        for bib in range(1, runners + 1):
            f.write(
                f"{bib},Run,Ner{bib},{'FM'[bib % 2]},{20 + bib % 50},full,A,"
                f"{bib:012d},{900000000000 + bib:012d}\n"
            )


def write_logs(folder: Path, runners: int, reads: int, seed: int = 1) -> list[tuple[str, Path]]:
    rng = random.Random(seed)
    fmt = get_format("retrotime-csv")
    gun = 1_791_097_200_000  # 2026-10-04 09:00 Europe/Berlin
    paces = [rng.uniform(320, 800) / 1000 for _ in range(runners)]  # s per metre
    starts = [rng.randrange(0, 600_000) for _ in range(runners)]
    logs = []
    for i, distance in enumerate(POINTS):
        ctx = FormatContext(f"R{i}", ZoneInfo(TZ))
        rows = []
        for bib in range(1, runners + 1):
            t = gun + starts[bib - 1] + int(distance * paces[bib - 1] * 1000)
            for chip in (f"{bib:012d}", f"{900000000000 + bib:012d}"):
                for k in range(reads):
                    rows.append(
                        Read(
                            f"R{i}",
                            chip,
                            1 + k % 4,
                            t + k * 70 + rng.randrange(30),
                            float(-70 + min(k, reads - k) * 2),
                        )
                    )
        rows.sort(key=lambda r: r.time_ms)
        path = folder / f"R{i}.log"
        with path.open("w") as f:
            f.writelines(fmt.emit(r, ctx) + "\n" for r in rows)
        logs.append((f"R{i}", path))
    return logs


def baseline(logs: list[tuple[str, Path]], db: Path) -> int:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE reads (reader TEXT, chip TEXT, antenna INT, ts TEXT, rssi REAL)")
    count = 0
    for _reader, path in logs:
        with path.open() as f, conn:
            batch = []
            for line in f:
                batch.append(line.rstrip("\n").split(","))
                if len(batch) == 5000:
                    conn.executemany("INSERT INTO reads VALUES (?,?,?,?,?)", batch)
                    count += len(batch)
                    batch = []
            conn.executemany("INSERT INTO reads VALUES (?,?,?,?,?)", batch)
            count += len(batch)
    conn.close()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", type=int, default=30_000)
    parser.add_argument("--reads", type=int, default=15, help="reads per chip per crossing")
    parser.add_argument("--profile", action="store_true", help="print where replay spends time")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="retrotime-bench-"))
    event = work / "event"
    write_event(event, args.runners)
    t = time.perf_counter()
    logs = write_logs(event, args.runners, args.reads)
    lines = sum(1 for _, p in logs for _ in p.open())
    print(f"generated {lines:,} lines in {time.perf_counter() - t:.1f} s ({work})")

    t = time.perf_counter()
    count = baseline(logs, work / "baseline.db")
    base_s = time.perf_counter() - t
    print(
        f"baseline (str.split + sqlite3 executemany): {count / base_s:,.0f} reads/s "
        f"({base_s:.1f} s)"
    )

    folder = load_folder(event)
    store = Store(f"sqlite:///{work / 'retrotime.db'}")
    profile = cProfile.Profile() if args.profile else None
    t = time.perf_counter()
    if profile:
        profile.enable()
    results, summary = replay(folder, store, logs)
    if profile:
        profile.disable()
    ours_s = time.perf_counter() - t
    finishers = sum(1 for r in results.races[0].results if r.status == "FIN")
    print(
        f"retrotime replay: {summary.new_reads / ours_s:,.0f} reads/s ({ours_s:.1f} s; "
        f"{results.crossings:,} crossings, {finishers:,} finishers)"
    )
    print(f"ratio to baseline: {base_s / ours_s:.2f} (target >= 0.25)")
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
