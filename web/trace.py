"""An optional trace of the live path, for benchmarks and for timing a race-day problem.

With `RETROTIME_TRACE=<folder>` in its environment, each process of `retrotime serve`
(the writer and every fan-out worker) writes one JSON object per line to
`<folder>/<role>-<pid>.jsonl`, buffered in memory and written once a second and at
exit, so tracing costs no disk wait on the live path. Events (`ns` is `time.time_ns()`):

    {"ev": "stored", "ns", "reader", "reads": [[chip, time_ms, received_ms], ...]}
        the writer committed an uplink message's reads (before its ack)
    {"ev": "scored", "start_ns", "end_ns", "reads"}   the writer brought results up to date
    {"ev": "published", "ns", "race", "seq", "text"}  the writer published an update
    {"ev": "sent", "ns", "race", "seq", "clients"}    a fan-out worker sent it on

Without the variable every call is a no-op.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

FLUSH_S = 1.0


class Trace:
    def __init__(self, folder: str | None, role: str) -> None:
        self.on = bool(folder)
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._path = Path(folder or ".") / f"{role}-{os.getpid()}.jsonl"
        if self.on:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            atexit.register(self.flush)
            threading.Thread(target=self._flusher, name="trace", daemon=True).start()

    def event(self, ev: str, **fields: Any) -> None:
        if self.on:
            line = json.dumps({"ev": ev, "ns": time.time_ns(), **fields}, separators=(",", ":"))
            with self._lock:
                self._lines.append(line)

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
        if lines:
            with self._path.open("a", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")

    def _flusher(self) -> None:
        while True:
            time.sleep(FLUSH_S)
            self.flush()


def trace_for(role: str) -> Trace:
    return Trace(os.environ.get("RETROTIME_TRACE"), role)
