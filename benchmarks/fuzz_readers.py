"""The long fuzz run: mutated real lines through every format's `parse` and session.

    python -m benchmarks.fuzz_readers [--lines 120000] [--seed 1]

For each format, `--lines` lines made from the real lines of `tests/readers/fuzz_lines.py`
by one to three random mutations (field replaced by a hostile value, characters inserted
or deleted, fields dropped or repeated, IPICO checksums made right again), each parsed
in two contexts (without and with the event day and device names). Prints, per format,
how many became reads, replies and ParseErrors, how many escaped as another exception or
as a read the journal cannot hold (both must be 0: the exit status is 1 otherwise), and
the lines per second beside the bare `str.split` of the same lines.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback

from readers.read import ParseError, Read
from tests.readers.fuzz_lines import CONTEXTS, REAL_LINES, SEPARATOR, outcome, random_line


def run(name: str, count: int, seed: int) -> int:
    rng = random.Random(f"{seed}:{name}")
    lines = [random_line(name, rng) for _ in range(count)]
    reads = replies = errors = escaped = 0
    t = time.perf_counter()
    for line in lines:
        for ctx in CONTEXTS:
            try:
                got = outcome(name, line, ctx)
            except Exception:  # what the run is for: anything but ParseError is a defect
                escaped += 1
                if escaped <= 3:
                    print(f"  {name}: {line[:80]!r}", file=sys.stderr)
                    traceback.print_exc()
                continue
            if isinstance(got, Read):
                reads += 1
            elif isinstance(got, ParseError):
                errors += 1
            else:
                replies += 1
    ours = 2 * count / (time.perf_counter() - t)
    sep = SEPARATOR[name] or None
    t = time.perf_counter()
    for line in lines:
        for _ctx in CONTEXTS:
            line.split(sep)
    bare = 2 * count / (time.perf_counter() - t)
    print(
        f"{name:<14} {2 * count:>9,} {reads:>9,} {replies:>9,} {errors:>9,} {escaped:>8,} "
        f"{ours:>12,.0f} {bare:>14,.0f}"
    )
    return escaped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=120_000, help="lines per format")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(
        f"{'format':<14} {'parses':>9} {'reads':>9} {'replies':>9} {'ParseError':>9} "
        f"{'escaped':>8} {'parse+feed/s':>12} {'str.split/s':>14}"
    )
    escaped = sum(run(name, args.lines, args.seed) for name in sorted(REAL_LINES))
    print("escaped: 0 (every outcome a storable read, a reply or a ParseError)" if not escaped
          else f"escaped: {escaped}")  # fmt: skip
    sys.exit(1 if escaped else 0)


if __name__ == "__main__":
    main()
