"""`python -m benchmarks.live`: the options, the child roles, the whole run."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import benchmarks.live as package
from benchmarks.live import baseline, spectators
from benchmarks.live.race import RACE, SPEED, build_race
from benchmarks.live.report import report_ingest, report_service
from benchmarks.live.run import run_baseline, run_service


def options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=(package.__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--spectators", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=500, help="reader lines/s, all readers")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--readers", type=int, default=8, help="start, splits, finish (>= 2)")
    parser.add_argument(
        "--workers", type=int, default=0, help="`retrotime serve --workers K` (fan-out on P+1)"
    )
    parser.add_argument("--redis-url", help="passed to `retrotime serve`")
    parser.add_argument("--database-url", help="passed to `retrotime serve` (default: SQLite)")
    parser.add_argument("--ingest-only", action="store_true", help="no spectators: the backlog")
    parser.add_argument("--no-deflate", action="store_true", help="spectators without compression")
    parser.add_argument("--json", type=Path, help="also write the summary figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    # child roles
    for name in ("--out", "--url", "--messages"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--since", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--max-seconds", type=float, default=300, help=argparse.SUPPRESS)
    return parser


def main() -> None:
    parser = options()
    args = parser.parse_args()
    if args.role == "spectators":
        return spectators.run(args)
    if args.role == "baseline":
        return baseline.run(args)
    if args.readers < 2:
        parser.error("--readers: at least 2 (a start and a finish)")
    if args.workers and not args.redis_url:
        parser.error("--workers needs --redis-url (the fan-out goes through Redis)")
    work = Path(tempfile.mkdtemp(prefix="retrotime-bench-live-"))
    started = time.monotonic()
    load = "ingest only" if args.ingest_only else f"{args.spectators:,} spectators"
    print(
        f"live benchmark: {load}, {args.rate:g} reads/s on {args.readers} readers "
        f"(pseudo-terminals -> retrotime agent -> retrotime serve, --workers {args.workers}), "
        f"{args.seconds:g} s; work folder {work}",
        flush=True,
    )
    race = build_race(work / "event", args.readers, args.rate, args.seconds)
    print(
        f"race: {race.runners:,} runners, {len(race.crossings):,} crossings, "
        f"{len(race.lines):,} reader lines over {args.seconds:g} s, race clock x{SPEED}",
        flush=True,
    )
    try:
        run = run_service(args, race, work)
        if args.ingest_only:
            summary = report_ingest(args, run)
        else:
            published = run.trace.published
            messages = sorted(
                (ns, text) for ns, text in published.values() if run.t_start <= ns <= run.t_drained
            )
            deflate = sum(part["stats"]["deflate"] for part in run.spectators) > 0
            summary = report_service(args, run, run_baseline(args, work, messages, deflate))
    except (RuntimeError, TimeoutError, OSError) as exc:
        sys.exit(f"live benchmark failed: {exc}\n(logs in {work}: serve.log, agent-*.log, ...)")
    print(f"(whole run {time.monotonic() - started:.0f} s; race {RACE})")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
