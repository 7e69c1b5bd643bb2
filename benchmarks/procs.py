"""Child processes and ports for the benchmarks: bounded waits, CPU from /proc."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A port nothing listens on now (the OS picks it; a later bind may still race)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_pair(attempts: int = 50) -> int:
    """A free port P whose next, P+1, is free too (a command that listens on both)."""
    for _ in range(attempts):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free neighbouring ports on 127.0.0.1")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far; nan once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The process and every process below it (a command that spawns workers)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        p = pending.pop()
        found.append(p)
        pending.extend(parents.get(p, ()))
    return found


def started_at(pid: int) -> int | None:
    """When a process started (clock ticks since boot): tells it from a later one that
    reuses its id."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def end_leftovers(processes: dict[int, int | None], wait: float = 10) -> None:
    """SIGTERM, then SIGKILL, each process (id -> started_at) still running as itself:
    workers a stopped command left behind."""
    deadline = time.monotonic() + wait
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = [p for p, t in processes.items() if t is not None and started_at(p) == t]
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = [p for p in left if started_at(p) == processes[p]]
        if not left:
            return


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    """One line of a child's stdout, or TimeoutError (never an unbounded wait)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError(f"no answer from {proc.args!r} within {timeout:.0f} s")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"{proc.args!r} exited with {proc.wait(5)}")
    return line.strip()


def tell(proc: subprocess.Popen, word: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(word + "\n")
    proc.stdin.flush()


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, wait: float = 20) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def http_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_http(url: str, seconds: float, proc: subprocess.Popen | None = None) -> bytes:
    """GET `url` until it answers 200 (or `proc` exits, or time is up); the body."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
