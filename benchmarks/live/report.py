"""The report: what was offered, where the time went, the baseline, the targets."""

from __future__ import annotations

import json
import math
import os
from statistics import linear_regression
from typing import Any

from benchmarks.live.analysis import (
    INF,
    count_holes,
    crossing_figures,
    fanout_latency,
    first_receipts,
    line_ms,
    match_crossings,
    ms,
    pct,
)
from benchmarks.live.run import ServiceRun

# The targets, each with the load it is stated at.
P99_1000_MS, P99_5000_MS = 100.0, 500.0
INGEST_RATE, INGEST_S = 1100.0, 60.0
WINDOW_S = 10  # the backlog's first and last seconds, shown (and the first peak: growth)


def ratio(value: float, bare: float) -> str:
    return f"x{value / bare:,.1f}" if bare > 0 else "n/a (no baseline figure)"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def uplink_lines(run: ServiceRun) -> tuple[float, list[str]]:
    """The uplink as the service committed it: one "stored" per uplink message."""
    drained = (run.t_drained - run.t_start) / 1e9
    duration = (run.t_end - run.t_start) / 1e9
    messages, reads = run.trace.stored_between(run.t_start, run.t_drained)
    per = [len(r) for ns, _, r in run.trace.stored if run.t_start <= ns <= run.t_drained]
    lines = len(run.race.lines)
    return reads / drained, [
        f"  {lines:,} reader lines written in {duration:.1f} s ({lines / duration:,.0f} "
        f"lines/s on {len(run.race.readers)} readers: {', '.join(run.race.readers)}; the writer "
        f"fell at most {run.late_s * 1000:.0f} ms behind); {reads:,} reads in uplink messages "
        f"committed by the end of the drain ({drained:.1f} s: {reads / drained:,.0f} reads/s)"
        + ("" if run.acked_all else "; NOT every line was acknowledged within the drain"),
        f"  uplink: {messages:,} messages committed ({messages / drained:,.1f} messages/s, "
        f"{messages / drained / len(run.race.readers):,.1f} per agent), reads per message "
        f"p50 {pct(per, 50):,.0f}, mean {reads / max(messages, 1):,.1f}, max {max(per or [0]):,}",
    ]


def cpu_line(cpu: dict[str, float], base: dict[str, float] | None) -> str:
    text = "CPU, cores busy during the run: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
    if base:
        text += "; baseline: " + ", ".join(f"{k} {v:.2f}" for k, v in base.items())
    return text + f" (this machine: {os.cpu_count()} cores)"


def report_service(args: Any, run: ServiceRun, base: dict) -> dict[str, Any]:
    trace = run.trace
    logs = [log for part in run.spectators for log in part["logs"]]
    connected = [t for part in run.spectators for t in part["connected"]]
    stats = {k: sum(p["stats"][k] for p in run.spectators) for k in run.spectators[0]["stats"]}
    receipts = [first_receipts(log) for log in logs]
    seq_of = match_crossings(run.spectators[0]["texts"], run.race.crossings)
    fig = crossing_figures(run.race.crossings, run.written, seq_of, receipts, trace)
    window = sorted(s for s, (t, _) in trace.published.items() if run.t_start <= t <= run.t_drained)
    count_holes(fig, receipts, connected, window, trace)
    fan_label, fanout = fanout_latency(receipts, window, trace)
    drained = (run.t_drained - run.t_start) / 1e9
    delivered = sum(1 for got in receipts for s in window if s in got)
    messages = [json.loads(trace.published[s][1]) for s in window]
    sizes = [len(trace.published[s][1]) for s in window]
    rows = [len(m.get("rows", ())) for m in messages]
    moved = [len(m.get("moved", ())) for m in messages]
    scored = [(b - a) / 1e6 for a, b in trace.scored if a >= run.t_start]
    rate, uplink = uplink_lines(run)
    n = len(logs)

    print()
    print(f"SERVICE `retrotime serve` (--workers {args.workers}), {run.race.runners:,} runners")
    print("\n".join(uplink))
    print(
        f"  {n:,} spectators in {len(run.spectators)} process(es) ({stats['failed']} failed to "
        f"connect, {stats['gaps']} gaps and {stats['resyncs']} resyncs resumed with ?since=, "
        f"{stats['reconnects']} reconnects; permessage-deflate taken up on "
        f"{stats['deflate']:,}); {len(window)} updates published "
        f"({len(window) / drained:.1f}/s); {delivered:,} messages shown "
        f"({delivered / drained:,.0f} msg/s, "
        f"{sum(sizes) * n / drained / 1e6:,.1f} MB/s of JSON)"
    )
    print(
        f"  HOLES: {fig.holes:,} updates published after a spectator connected never reached "
        f"it ({fig.holed_spectators:,} of {n:,} spectators)"
    )
    print(
        f"  update size p50 {pct(sizes, 50) / 1000:,.1f} kB (max {max(sizes or [0]) / 1000:,.1f}"
        f" kB); changed rows per update p50 {pct(rows, 50):,.0f}, moved pairs p50 "
        f"{pct(moved, 50):,.0f}"
    )
    print(line_ms(scored, "scoring (trace: scored)"))
    print(
        f"  read -> spectator, {sum(1 for w in run.written if w):,} crossings x {n:,} "
        f"spectators ({fig.unshown} crossings not shown before the drain ended, "
        f"{fig.missing:,} receipts missing; both count as never):"
    )
    print(line_ms(fig.e2e, "END TO END (line written -> shown)"))
    for name, values in fig.stages.items():
        print(line_ms(values, name, "  (reference spectator's updates)"))
    print(line_ms(fanout, fan_label))

    b_sends = dict(base["server"]["sends"])
    b_receipts = [first_receipts(log) for part in base["spectators"] for log in part["logs"]]
    b_lat = [
        (got[s] - t) / 1e6 if s in got else INF for got in b_receipts for s, t in b_sends.items()
    ]
    b_total = sum(1 for got in b_receipts for s in b_sends if s in got)
    print(
        f"BASELINE bare `websockets` broadcast() of the same {len(b_sends)} messages, same "
        f"schedule, to {base['server']['clients']:,} clients in as many spectator processes, "
        f"{'with' if stats['deflate'] else 'without'} permessage-deflate as the service: "
        f"{b_total:,} delivered"
    )
    print(line_ms(b_lat, "broadcast -> client"))
    p50, p99 = pct(fig.e2e, 50), pct(fig.e2e, 99)
    f50, f99 = pct(fanout, 50), pct(fanout, 99)
    bp50, bp99 = pct(b_lat, 50), pct(b_lat, 99)
    print(
        f"RATIO to baseline: end to end p50 {ratio(p50, bp50)}, p99 {ratio(p99, bp99)}; "
        f"the service's fan-out alone p50 {ratio(f50, bp50)}, p99 {ratio(f99, bp99)}"
    )
    print(cpu_line(run.cpu, base["cpu"]))
    at = f"(this run: {n:,} spectators, {args.rate:g} reads/s)"
    if 1000 <= n < 5000 and args.rate >= 500:  # each target at the load it names
        print(f"TARGET p99 < 100 ms at 1,000 spectators / 500 reads/s: {verdict(p99 < P99_1000_MS)}"
              f" (p99 {ms(p99)}) {at}")  # fmt: skip
    else:
        print(f"TARGET p99 < 100 ms at 1,000 spectators / 500 reads/s: not measured {at}")
    if n >= 5000:
        print(f"TARGET p99 < 500 ms at 5,000 spectators: {verdict(p99 < P99_5000_MS)} "
              f"(p99 {ms(p99)}, --workers {args.workers}) {at}")  # fmt: skip
    else:
        print(f"TARGET p99 < 500 ms at 5,000 spectators: not measured {at}")
    print(f"TARGET no holes: {verdict(fig.holes == 0)} ({fig.holes:,} holes)")
    return {
        "mode": "spectators", "spectators": n, "failed": stats["failed"], "holes": fig.holes,
        "gaps": stats["gaps"], "resyncs": stats["resyncs"], "updates": len(window),
        "p50_ms": _finite(p50), "p99_ms": _finite(p99), "max_ms": _finite(max(fig.e2e or [INF])),
        "baseline_p99_ms": _finite(bp99), "stored_reads_per_s": rate,
        "uplink_messages": run.trace.stored_between(run.t_start, run.t_drained)[0],
    }  # fmt: skip


def report_ingest(args: Any, run: ServiceRun) -> dict[str, Any]:
    """Backlog per second: journalled by the agents minus acknowledged by the service."""
    _, uplink = uplink_lines(run)
    samples = [(ns, sum(b.values())) for ns, b in run.backlog if ns <= run.t_end]
    totals = [b for _, b in samples]
    first, last = totals[:WINDOW_S], totals[-WINDOW_S:]
    # Growth is a trend, not one sample: a backlog of a few dozen reads in flight goes up
    # and down by itself. It grows if its least-squares slope over the run adds more
    # than the first window's peak by the end (a queue building up, not noise).
    slope = 0.0
    if len(samples) > 2:
        t0 = samples[0][0]
        slope = linear_regression([(ns - t0) / 1e9 for ns, _ in samples], totals).slope
    span_s = (samples[-1][0] - samples[0][0]) / 1e9 if samples else 0.0
    grows = bool(first and last) and slope * span_s > max(max(first), 1)
    per_second: dict[int, int] = {}
    for ns, _, reads in run.trace.stored:
        if run.t_start <= ns <= run.t_end:
            second = (ns - run.t_start) // 1_000_000_000
            per_second[second] = per_second.get(second, 0) + len(reads)
    whole = [per_second.get(s, 0) for s in range(int((run.t_end - run.t_start) / 1e9))]
    offered = len(run.race.lines) / ((run.t_end - run.t_start) / 1e9)
    stored_rate = sum(whole) / max(len(whole), 1)
    print()
    print(f"INGEST ONLY `retrotime serve` (--workers {args.workers}), {run.race.runners:,} runners")
    print("\n".join(uplink))
    print(
        f"  stored reads/s while the lines were written: mean {stored_rate:,.0f}, p10 "
        f"{pct(whole, 10):,.0f}, p50 {pct(whole, 50):,.0f}, min {min(whole or [0]):,}"
    )
    print(
        f"  backlog (all agents, journalled - acked, sampled each second): first {WINDOW_S} s "
        f"max {max(first or [0]):,}, last {WINDOW_S} s max {max(last or [0]):,}, max "
        f"{max(totals or [0]):,}; trend {slope:+.2f} reads/s; {'GROWS' if grows else 'no growth'}"
    )
    print(
        "  per agent, max backlog: "
        + ", ".join(
            f"{r} {max((b[r] for _, b in run.backlog), default=0):,}" for r in run.race.readers
        )
    )
    print(cpu_line(run.cpu, None))
    kept_up = not grows and run.acked_all and stored_rate >= 0.95 * offered
    if args.rate >= INGEST_RATE and args.seconds >= INGEST_S:
        print(
            f"TARGET ingest sustained at 1,100 reads/s for 60 s with no backlog growth: "
            f"{verdict(kept_up)} ({stored_rate:,.0f} reads/s stored of {offered:,.0f} offered, "
            f"backlog max {max(totals or [0]):,}, {'grows' if grows else 'no growth'})"
        )
    else:
        print(
            "TARGET ingest sustained at 1,100 reads/s for 60 s: not measured (this run: "
            f"{args.rate:g} reads/s for {args.seconds:g} s)"
        )
    return {
        "mode": "ingest", "stored_reads_per_s": stored_rate, "offered_reads_per_s": offered,
        "backlog_max": max(totals or [0]), "backlog_grows": grows, "kept_up": kept_up,
    }  # fmt: skip


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
