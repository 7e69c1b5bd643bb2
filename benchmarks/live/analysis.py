"""From what was written, traced and received to figures: latencies, stages, holes."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

from benchmarks.live.observe import ServiceTrace
from benchmarks.live.race import Crossing

INF = float("inf")


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank); inf stands for "never received"."""
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q / 100 * len(values)))]


def ms(value: float) -> str:
    return "never" if value == INF else f"{value:,.1f} ms"


def line_ms(values: list[float], label: str, note: str = "") -> str:
    return (
        f"  {label:<36} p50 {ms(pct(values, 50)):>12}   p99 {ms(pct(values, 99)):>12}   "
        f"max {ms(max(values) if values else float('nan')):>12}{note}"
    )


def first_receipts(log: list[list]) -> dict[int, int]:
    """seq -> when this client first showed it (a snapshot covers every seq up to its own)."""
    got: dict[int, int] = {}
    low = 0
    for t, kind, seq in log:
        if kind == "update":
            got.setdefault(seq, t)
        elif kind == "snapshot":
            for s in range(low + 1, seq + 1):
                got.setdefault(s, t)
            low = max(low, seq)
    return got


def match_crossings(texts: list[list], crossings: list[Crossing]) -> dict[int, int]:
    """Crossing index -> seq of the first update (or snapshot) whose rows show it, read
    from the reference spectator's messages: a row that changed is in `rows`; `moved`
    says nothing of a crossing and is not read."""
    wanted: dict[str, list[int]] = defaultdict(list)
    for n, c in enumerate(crossings):
        wanted[c.bib].append(n)
    seq_of: dict[int, int] = {}
    seen: set[int] = set()
    for _t, text in texts:
        message = json.loads(text)
        if message.get("type") not in ("update", "snapshot") or message["seq"] in seen:
            continue
        seq = message["seq"]
        seen.add(seq)
        for row in message["rows"]:
            for n in wanted.get(row["bib"], ()):
                if n in seq_of:
                    continue
                point = crossings[n].point
                shows = row["status"] != "DNS" if point == "start" else row["last_point"] == point
                if shows:
                    seq_of[n] = seq
    return seq_of


@dataclass
class Figures:
    e2e: list[float] = field(default_factory=list)  # line written -> shown, every spectator
    stages: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    unshown: int = 0  # crossings no update showed before the drain ended
    missing: int = 0  # receipts of a showing update that a spectator never had
    holes: int = 0  # updates published after a spectator connected, never received
    holed_spectators: int = 0


def crossing_figures(
    crossings: list[Crossing],
    written: list[int],
    seq_of: dict[int, int],
    receipts: list[dict[int, int]],
    trace: ServiceTrace,
) -> Figures:
    """End to end per crossing and spectator, and the stages on the reference path."""
    stored: dict[tuple[str, str, int], tuple[int, int]] = {}  # -> (agent received, stored)
    for ns, reader, reads in trace.stored:
        for chip, time_ms, received_ms in reads:
            stored.setdefault((reader, chip, time_ms), (received_ms * 1_000_000, ns))
    sent = {seq: min(times) for seq, times in trace.sent.items() if times}
    fig = Figures()
    for n, c in enumerate(crossings):
        w = written[n]
        if not w:
            continue
        seq = seq_of.get(n)
        if seq is None:
            fig.unshown += 1
            fig.e2e.extend([INF] * len(receipts))
            continue
        for got in receipts:
            t = got.get(seq)
            fig.missing += t is None
            fig.e2e.append(INF if t is None else (t - w) / 1e6)
        agent_ns, stored_ns = stored.get((c.reader, c.chip, c.time_ms), (0, 0))
        pub = trace.published.get(seq, (0, ""))[0]
        if agent_ns and stored_ns and pub:
            fig.stages["pty -> agent journal (ms clock)"].append((agent_ns - w) / 1e6)
            fig.stages["agent -> service stored"].append((stored_ns - agent_ns) / 1e6)
            fig.stages["stored -> update published"].append((pub - stored_ns) / 1e6)
            if seq in sent:
                fig.stages["published -> sent (first worker)"].append((sent[seq] - pub) / 1e6)
    return fig


def count_holes(
    fig: Figures, receipts: list[dict[int, int]], connected: list[int], window: list[int],
    trace: ServiceTrace,
) -> None:  # fmt: skip
    """Every update published after a spectator connected must have reached it (as an
    update, or inside a snapshot)."""
    for got, since_ns in zip(receipts, connected, strict=True):
        if not since_ns:
            continue  # never connected: counted as failed, not as holes
        lost = sum(1 for s in window if trace.published[s][0] > since_ns and s not in got)
        fig.holes += lost
        fig.holed_spectators += lost > 0


def fanout_latency(
    receipts: list[dict[int, int]], window: list[int], trace: ServiceTrace
) -> tuple[str, list[float]]:
    """Published (or sent, where fan-out workers say when) -> spectator, every update."""
    sent = {seq: min(times) for seq, times in trace.sent.items() if times}
    label = "sent -> spectator" if sent else "published -> spectator"

    def origin(s: int) -> int:
        return sent.get(s) or trace.published[s][0]

    return label, [
        (got[s] - origin(s)) / 1e6 if s in got else INF for got in receipts for s in window
    ]
