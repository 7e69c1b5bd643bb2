"""The uplink side: reader lines into pseudo-terminals, one real `retrotime agent` per
reader reading the other end (as `retrotime demo` starts them), and what the agents'
own journals say of their backlog."""

from __future__ import annotations

import contextlib
import os
import select
import sqlite3
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from benchmarks.live.race import TZ_NAME, Line, Race
from web.demo import agent_command, open_ports

CONNECT_S = 30.0


class Agents:
    """One pseudo-terminal and one agent process per reader."""

    def __init__(self, race: Race, work: Path, server: str, tokens: dict[str, str]) -> None:
        self.work = work
        self.ports = open_ports(race.readers)
        self.masters = {r: p[0] for r, p in self.ports.items()}
        self.procs: dict[str, subprocess.Popen] = {}
        for master in self.masters.values():
            os.set_blocking(master, False)
        for reader, (_m, _s, path) in self.ports.items():
            command = agent_command(
                reader, path, "retrotime-csv", TZ_NAME, server, self.journal(reader)
            )
            env = {**os.environ, "RETROTIME_AGENT_TOKEN": tokens[reader]}
            with self.log(reader).open("w") as log:
                self.procs[reader] = subprocess.Popen(
                    command, env=env, stdout=subprocess.DEVNULL, stderr=log
                )

    def journal(self, reader: str) -> Path:
        return self.work / f"agent-{reader}.db"

    def log(self, reader: str) -> Path:
        return self.work / f"agent-{reader}.log"

    def wait_connected(self) -> None:
        deadline = time.monotonic() + CONNECT_S
        for reader, proc in self.procs.items():
            while "uplink: connected" not in self.log(reader).read_text():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"agent {reader} did not connect (see {self.log(reader)})")
                time.sleep(0.1)

    def backlog(self) -> dict[str, tuple[int, int]]:
        """Per reader: (lines the agent has journalled, lines the service acknowledged)."""
        return {r: journal_counts(self.journal(r), r) for r in self.procs}

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for master, slave, _path in self.ports.values():
            for fd in (master, slave):
                with contextlib.suppress(OSError):
                    os.close(fd)


def journal_counts(journal: Path, reader: str) -> tuple[int, int]:
    """(last journalled seq, last acknowledged seq) from an agent's journal, read-only."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True)) as db:
            last = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM entries WHERE reader = ?", (reader,)
            ).fetchone()
            acked = db.execute("SELECT seq FROM acked WHERE reader = ?", (reader,)).fetchone()
    except sqlite3.Error:
        return 0, 0
    return int(last[0]), int(acked[0]) if acked else 0


def write_all(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    "a pseudo-terminal would not take bytes (agent stuck?)"
                ) from None
            select.select([], [fd], [], 0.05)


def write_lines(race: Race, masters: dict[str, int], written: list[int]) -> float:
    """Write each line at its time (5 ms ticks); note when each crossing's first line went.
    Returns the largest lateness behind schedule, in seconds."""
    lines = race.lines
    start = time.monotonic()
    i, late = 0, 0.0
    while i < len(lines):
        now = time.monotonic() - start
        if lines[i].wall_s > now:
            time.sleep(min(lines[i].wall_s - now, 0.005))
            continue
        late = max(late, now - lines[i].wall_s)
        batch: dict[str, list[Line]] = defaultdict(list)
        while i < len(lines) and lines[i].wall_s <= now:
            batch[lines[i].reader].append(lines[i])
            i += 1
        for reader, group in batch.items():
            t = time.time_ns()
            write_all(masters[reader], b"".join(x.data for x in group), time.monotonic() + 10)
            for x in group:
                if x.event >= 0:
                    written[x.event] = t
    return late


class BacklogSampler(threading.Thread):
    """Every second: each agent's unacknowledged lines (journalled minus acked)."""

    def __init__(self, agents: Agents, every_s: float = 1.0) -> None:
        super().__init__(name="backlog", daemon=True)
        self.agents, self.every_s = agents, every_s
        self.samples: list[tuple[int, dict[str, int]]] = []  # (ns, reader -> backlog)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            counts = self.agents.backlog()
            self.samples.append((time.time_ns(), {r: j - a for r, (j, a) in counts.items()}))


def drain(agents: Agents, race: Race, settled: Callable[[], bool], max_s: float) -> bool:
    """Bounded wait for the tail: every line acknowledged (the agents' journals say so),
    then `settled()` (the service has published what it stored). True if all acked."""
    deadline = time.monotonic() + max_s
    wanted = {r: race.lines_of(r) for r in race.readers}
    while time.monotonic() < deadline:
        counts = agents.backlog()
        if all(counts[r][1] >= n for r, n in wanted.items()):
            break
        time.sleep(0.1)
    else:
        return False
    while time.monotonic() < deadline and not settled():
        time.sleep(0.1)
    return True
