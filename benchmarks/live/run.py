"""The runs: the service under load (spectators or ingest only), then the bare baseline.

The service is started as its user starts it, `retrotime serve EVENT --port P`, with
`RETROTIME_TRACE` set so it writes its own trace; nothing in it is patched.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.live.observe import ServiceTrace, read_trace
from benchmarks.live.race import RACE, Race
from benchmarks.live.spectators import PER_PROCESS, kind_and_seq
from benchmarks.live.uplink import Agents, BacklogSampler, drain, write_lines
from benchmarks.procs import (
    cpu_seconds,
    descendants,
    end_leftovers,
    free_port,
    free_port_pair,
    http_json,
    read_line,
    started_at,
    stop_process,
    tell,
    wait_http,
)

DRAIN_MAX_S = 25.0  # after the last line, the most the last acks and updates may take
SETTLE_S = 1.0  # the board's update number unchanged this long: the last update is out
BASELINE_DRAIN_S = 2.0  # after the baseline's last broadcast
START_S = 60.0  # the most a process may take to start answering


@dataclass
class ServiceRun:
    race: Race
    written: list[int]  # crossing index -> ns its first line was written (0: not written)
    trace: ServiceTrace
    t_start: int
    t_end: int
    t_drained: int
    late_s: float
    acked_all: bool
    cpu: dict[str, float]
    spectators: list[dict[str, Any]] = field(default_factory=list)  # one per process
    backlog: list[tuple[int, dict[str, int]]] = field(default_factory=list)


def child(role: str, *args: str, log: Path) -> subprocess.Popen:
    """A role of this benchmark in a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.live", "--role", role, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )


def serve_command(args: argparse.Namespace, event: Path, port: int) -> list[str]:
    command = [sys.executable, "-m", "web.cli", "serve", str(event), "--port", str(port)]
    if args.workers:
        command += ["--workers", str(args.workers)]
    if args.redis_url:
        command += ["--redis-url", args.redis_url]
    if args.database_url:
        command += ["--database-url", args.database_url]
    return command


def spectator_processes(
    args: argparse.Namespace, work: Path, url: str, since: int | None, name: str
) -> list[subprocess.Popen]:
    """ceil(N / 2,500) processes sharing the spectators; client 0 of the first keeps texts."""
    n = max(1, math.ceil(args.spectators / PER_PROCESS))
    counts = [args.spectators // n + (i < args.spectators % n) for i in range(n)]
    procs = []
    for i, count in enumerate(counts):
        extra = ["--since", str(since), "--resume"] if since is not None else []
        command = [
            "--url", url, "--count", str(count), *extra,
            "--out", str(work / f"{name}-{i}.json"), "--max-seconds", str(args.seconds + 120),
            *(["--reference"] if i == 0 else []), *(["--no-deflate"] if args.no_deflate else []),
        ]  # fmt: skip
        procs.append(child("spectators", *command, log=work / f"{name}-{i}.log"))
    return procs


def collect(
    procs: list[subprocess.Popen], work: Path, name: str, last_seq: int | None = None
) -> list[dict[str, Any]]:
    """The spectators' records, once each has shown `last_seq` (bounded) if given."""
    for proc in procs:
        tell(proc, "stop" if last_seq is None else f"stop {last_seq}")
    for proc in procs:
        read_line(proc, 120)
        proc.wait(30)
    return [json.loads((work / f"{name}-{i}.json").read_text()) for i in range(len(procs))]


class Settled:
    """True once the board's update number has not moved for SETTLE_S."""

    def __init__(self, board: str) -> None:
        self.board, self.last, self.since = board, None, time.monotonic()

    def __call__(self) -> bool:
        try:
            seq = http_json(self.board)["seq"]
        except (OSError, ValueError):
            return False
        if seq != self.last:
            self.last, self.since = seq, time.monotonic()
        return time.monotonic() - self.since > SETTLE_S


def run_service(args: argparse.Namespace, race: Race, work: Path) -> ServiceRun:
    port = free_port_pair() if args.workers else free_port()
    base = f"127.0.0.1:{port}"
    env = {
        **os.environ,
        "RETROTIME_TRACE": str(work / "trace"),
        "RETROTIME_DIRECTOR_PASSWORD": "bench-director",
    }
    with (work / "serve.log").open("w") as log:
        server = subprocess.Popen(
            serve_command(args, race.folder, port),
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    agents: Agents | None = None
    spectators: list[subprocess.Popen] = []
    service: dict[int, int | None] = {}  # the command's processes: id -> started_at
    try:
        board = json.loads(wait_http(f"http://{base}/api/races/{RACE}", START_S, server))
        if args.workers:  # the fan-out workers share the next port
            fanout = f"127.0.0.1:{port + 1}"
            wait_http(f"http://{fanout}/health", START_S, server)
        else:
            fanout = base
        tokens = tomllib.loads((race.folder / "tokens.toml").read_text())
        agents = Agents(race, work, f"ws://{base}/uplink", tokens)
        agents.wait_connected()
        if not args.ingest_only:
            url = f"ws://{fanout}/ws/races/{RACE}"
            spectators = spectator_processes(args, work, url, board["seq"], "spectators")
            for proc in spectators:
                ready = read_line(proc, 120).split()
                print(f"spectators: {ready[1]} connected, {ready[2]} failed", flush=True)
        service = {p: started_at(p) for p in descendants(server.pid)}
        pids = {f"service {p}": p for p in service}
        pids.update({f"agent {r}": p.pid for r, p in agents.procs.items()})
        pids.update({f"spectators {i}": p.pid for i, p in enumerate(spectators)})
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        sampler = BacklogSampler(agents)
        sampler.start()
        written = [0] * len(race.crossings)
        t_start = time.time_ns()
        late = write_lines(race, agents.masters, written)
        t_end = time.time_ns()
        settled = (lambda: True) if args.ingest_only else Settled(f"http://{base}/api/races/{RACE}")
        acked_all = drain(agents, race, settled, DRAIN_MAX_S)
        t_drained = time.time_ns()
        sampler.stop.set()
        wall = (t_drained - t_start) / 1e9
        cpu = {name: (cpu_seconds(pid) - cpu0[name]) / wall for name, pid in pids.items()}
        last_seq = settled.last if isinstance(settled, Settled) else None
        received = collect(spectators, work, "spectators", last_seq) if spectators else []
        agents.close()
        agents = None
        stop_process(server, signal.SIGINT, 60)  # the trace is written out at exit
        end_leftovers(service)
        trace = read_trace(work / "trace", RACE)
        cpu = {_named(k, trace): v for k, v in cpu.items() if not math.isnan(v)}
        return ServiceRun(
            race, written, trace, t_start, t_end, t_drained, late, acked_all, cpu,
            received, sampler.samples,
        )  # fmt: skip
    finally:
        for proc in spectators:
            stop_process(proc, wait=10)
        if agents is not None:
            agents.close()
        stop_process(server, signal.SIGINT, 30)
        end_leftovers(service)


def _named(name: str, trace: ServiceTrace) -> str:
    """A service process by the role its trace file gives it (writer, fanout, ...)."""
    kind, _, pid = name.partition(" ")
    if kind == "service" and pid.isdigit():
        return f"service {trace.roles.get(int(pid), 'process')} {pid}"
    return name


def run_baseline(
    args: argparse.Namespace, work: Path, messages: list[tuple[int, str]], deflate: bool
) -> dict:
    """The same messages on the same schedule to as many clients of a bare server, which
    takes up permessage-deflate only if the service did (`deflate`)."""
    (work / "messages.json").write_text(json.dumps(messages))
    port = free_port()
    span_s = (messages[-1][0] - messages[0][0]) / 1e9 if messages else 0.0
    server = child(
        "baseline", "--port", str(port), "--messages", str(work / "messages.json"),
        "--out", str(work / "baseline.json"), *([] if deflate else ["--no-deflate"]),
        log=work / "baseline.log",
    )  # fmt: skip
    spectators: list[subprocess.Popen] = []
    try:
        read_line(server, 30)
        spectators = spectator_processes(args, work, f"ws://127.0.0.1:{port}/", None, "bare")
        for proc in spectators:
            read_line(proc, 120)
        pids = {"server": server.pid} | {f"spectators {i}": p.pid for i, p in enumerate(spectators)}
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        t0 = time.time_ns()
        tell(server, "go")
        read_line(server, span_s + DRAIN_MAX_S + 60)
        time.sleep(BASELINE_DRAIN_S)
        wall = (time.time_ns() - t0) / 1e9
        cpu = {name: (cpu_seconds(pid) - cpu0[name]) / wall for name, pid in pids.items()}
        last_seq = kind_and_seq(messages[-1][1])[1] if messages else None
        received = collect(spectators, work, "bare", last_seq)
        tell(server, "stop")
        return {
            "server": json.loads((work / "baseline.json").read_text()),
            "spectators": received,
            "cpu": cpu,
        }
    finally:
        for proc in [*spectators, server]:
            stop_process(proc, wait=10)
