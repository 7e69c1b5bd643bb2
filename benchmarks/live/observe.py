"""What the service says of itself: the trace files `retrotime serve` writes with
`RETROTIME_TRACE=<folder>` (web/trace.py), one `<role>-<pid>.jsonl` per process."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ServiceTrace:
    # (ns, reader, [[chip, time_ms, received_ms], ...]): one per committed uplink message
    stored: list[tuple[int, str, list[list]]] = field(default_factory=list)
    scored: list[tuple[int, int]] = field(default_factory=list)  # (start ns, end ns)
    published: dict[int, tuple[int, str]] = field(default_factory=dict)  # seq -> (ns, text)
    sent: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))  # seq -> ns
    roles: dict[int, str] = field(default_factory=dict)  # pid -> role

    def stored_between(self, start_ns: int, end_ns: int) -> tuple[int, int]:
        """(uplink messages, reads) committed in [start_ns, end_ns]."""
        inside = [len(r) for ns, _, r in self.stored if start_ns <= ns <= end_ns]
        return len(inside), sum(inside)


def read_trace(folder: Path, race: str) -> ServiceTrace:
    trace = ServiceTrace()
    for path in sorted(folder.glob("*.jsonl")):
        role, _, pid = path.stem.rpartition("-")
        if pid.isdigit():
            trace.roles[int(pid)] = role
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
            except ValueError:  # a line cut by a process killed mid-write
                continue
            ev = e.get("ev")
            if ev == "stored":
                trace.stored.append((e["ns"], e["reader"], e["reads"]))
            elif ev == "scored":
                trace.scored.append((e["start_ns"], e["end_ns"]))
            elif ev == "published" and e.get("race") == race:
                trace.published.setdefault(e["seq"], (e["ns"], e["text"]))
            elif ev == "sent" and e.get("race") == race:
                trace.sent[e["seq"]].append(e["ns"])
    trace.stored.sort(key=lambda s: s[0])
    return trace
