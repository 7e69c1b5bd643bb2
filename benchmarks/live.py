"""Live path latency: reader line written -> spectator's websocket shows the row change.

    python -m benchmarks.live [--spectators 1000] [--rate 500] [--seconds 30] [--profile]

The real path, each part in its own process (the machine has 2 cores):

    writer (this process) -> 4 pseudo-terminals -> 4 `retrotime agent` processes (pyserial,
    SQLite journal) -> uplink websocket -> the service (`create_app` under uvicorn, as
    `retrotime serve` runs it) -> Channels -> N websocket spectators (one asyncio
    process, the `websockets` client, subscribed to /ws/races/half like live.js).

The synthetic half marathon runs on an accelerated race clock (x120): runners start
one after another over the race, so each of the 4 readers (start, 7k, 14k, finish)
sees a steady flow of crossings: 2 chips x 3 reads each. A reader line's timestamp is
the race clock at the moment it is written.

Latency is matched from the outside, nothing is embedded in the protocol: for every
crossing, the time its first line was written to the pseudo-terminal, to the time each
spectator received the first update in which that runner's row shows it (status no
longer DNS for the start mat, `last_point` at the split otherwise). The reference
spectator's messages say which update that is; every spectator's receive time of that
update counts. Stages come from the service process, instrumented by wrapping
(not changing) LiveService.ingest_reads and its publish callable.

Spectators connect as live.js does after loading the page: `?since=<the page's update
number>` (so no snapshot), offering permessage-deflate as browsers do (`--no-deflate`
to compare), and resume with `?since=` when they see a gap.

Bare baseline, measured in the same run: a minimal `websockets` server that
`broadcast()`s the very messages the service published, on the same schedule, to the
same number of clients in the same spectator process. The report gives the ratio of
the service's figures to it, the stages (pty -> agent, agent -> stored, stored ->
published, published -> spectator), update sizes, CPU per process and, with
`--profile`, the service's event-loop thread by own time (cProfile).

Options: --spectators N, --rate LINES_PER_S, --seconds S, --publish-interval S (the
service's; default that of Settings), --no-deflate, --profile, --keep (the work folder).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import random
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import tty
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

TZ_NAME = "Europe/London"
TZ = ZoneInfo(TZ_NAME)
DATE = "2026-04-12"
RACE = "half"
READERS = ("START", "K7", "K14", "FIN")
POINTS = (("start", 0.0), ("7k", 7000.0), ("14k", 14000.0), ("finish", 21097.5))
DISTANCE = POINTS[-1][1]
SPEED = 120  # race clock speed-up: two hours of racing per wall minute
READS_PER_CHIP = 3  # per crossing; two chips, so 6 lines per crossing
PRE_RACE_MIN = 150  # race minutes already run when the benchmark starts
COURSE_MIN = (75.0, 150.0)  # runners' chip times, race minutes
DRAIN_MAX_S = 25.0  # after the last line, the most the last updates may take
BASELINE_DRAIN_S = 5.0  # after the baseline's last broadcast
SEQ_RE = re.compile(r'"type":"(\w+)".*?"seq":(\d+)')
TOKENS = {reader: f"bench-{reader.lower()}" for reader in READERS}


def now_ns() -> int:
    return time.time_ns()


# ---- the synthetic race ---------------------------------------------------------------


@dataclass(slots=True)
class Line:
    wall_s: float  # when to write it, seconds after the writer starts
    reader: str
    data: bytes
    event: int  # index of the crossing this line opens, else -1


@dataclass(slots=True)
class Crossing:
    bib: str
    point: int  # index into POINTS
    reader: str
    chip: str
    time_ms: int  # reader clock of the first line


def event_toml() -> str:
    parts = [
        f'[event]\nname = "Live Benchmark Retro Half"\ndate = "{DATE}"\n'
        f'timezone = "{TZ_NAME}"\n\n[timing]\ndedupe_window_s = 3.0\n'
    ]
    for reader in READERS:
        parts.append(
            f'[[readers]]\nid = "{reader}"\nformat = "retrotime-csv"\nport = "/dev/null"\n'
        )
    parts.append(
        f'[[races]]\nid = "{RACE}"\nname = "Half Marathon"\ndistance_m = {DISTANCE}\n'
        'chips = ["front", "back"]\nranking = "chip"\n\n'
        '[[races.waves]]\nid = "A"\nstart = "09:00:00"\n'
    )
    for (point, distance), reader in zip(POINTS, READERS, strict=True):
        parts.append(
            f'[[races.points]]\nid = "{point}"\ndistance_m = {distance}\nreader = "{reader}"\n'
            "antennas = [1, 2]\n"
        )
    return "\n".join(parts)


def build_race(
    folder: Path, rate: float, seconds: float, seed: int = 1
) -> tuple[list[Line], list[Crossing], int]:
    """Write the event folder; return the lines to write, the crossings, the runners."""
    from readers.formats import get_format
    from readers.read import FormatContext, Read
    from timing.folder import load_folder

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "event.toml").write_text(event_toml(), encoding="utf-8")
    rng = random.Random(seed)
    per_reader = rate / len(READERS) / (2 * READS_PER_CHIP)  # crossings per wall second
    spacing_ms = SPEED * 1000 / per_reader  # race time between two starters
    window = (PRE_RACE_MIN * 60_000, PRE_RACE_MIN * 60_000 + seconds * SPEED * 1000)
    runners: list[tuple[int, float, float]] = []  # (bib, start offset ms, course ms)
    bib = 1000
    offset = 0.0
    while offset < window[1]:
        runners.append((bib, offset + rng.uniform(0, spacing_ms / 4), rng.uniform(*COURSE_MIN)))
        bib += 1
        offset += spacing_ms
    with (folder / "participants.csv").open("w", encoding="utf-8") as f:
        f.write("bib,first_name,last_name,sex,age,race,wave,chip_front,chip_back,club,nation\n")
        for b, _, _ in runners:
            f.write(
                f"{b},Runner{b},Retro,{'FMX'[b % 3]},{20 + b % 55},{RACE},A,"
                f"F{b:07d},B{b:07d},Club {b % 40},GBR\n"
            )
    gun = load_folder(folder).event.races[0].waves[0].gun_ms
    fmt = get_format("retrotime-csv")
    lines: list[Line] = []
    crossings: list[Crossing] = []
    for b, start, course_min in runners:
        for index, (_point, distance) in enumerate(POINTS):
            at = start + course_min * 60_000 * distance / DISTANCE
            if not window[0] <= at < window[1]:
                continue
            reader = READERS[index]
            ctx = FormatContext(reader, TZ)
            reads = []
            for chip, lead in ((f"B{b:07d}", 0.0), (f"F{b:07d}", rng.uniform(50, 400))):
                for k in range(READS_PER_CHIP):
                    t = at + lead + k * 120
                    rssi = -72.0 + 9 * (1 - abs(k - 1)) + rng.randint(-3, 3)
                    reads.append((t, Read(reader, chip, 1 + k % 2, gun + int(t), rssi)))
            reads.sort(key=lambda x: x[0])
            first = reads[0][1]
            crossings.append(Crossing(str(b), index, reader, first.chip, first.time_ms))
            for n, (t, read) in enumerate(reads):
                lines.append(
                    Line(
                        (t - window[0]) / (SPEED * 1000),
                        reader,
                        (fmt.emit(read, ctx) + "\n").encode(),
                        len(crossings) - 1 if n == 0 else -1,
                    )
                )
    lines.sort(key=lambda line: line.wall_s)
    return lines, crossings, len(runners)


# ---- processes --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, wait: float = 20) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def child(role: str, *args: str, stdin: bool = True, log: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.live", "--role", role, *args],
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log.open("w") if log else None,
        text=True,
    )


def http_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_http(url: str, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return http_json(url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# ---- role: the service, instrumented from outside ----------------------------------------


def role_server(args: argparse.Namespace) -> None:
    import uvicorn

    from web.app import create_app
    from web.cli import server_config
    from web.settings import Settings, hash_password

    extra = {"publish_interval_s": args.publish_interval} if args.publish_interval else {}
    settings = Settings(
        Path(args.event), args.database_url, hash_password("bench"), dict(TOKENS), **extra
    )
    app = create_app(settings)
    live = app.state.live
    ingests: list[tuple[int, str, list[tuple[str, int, int]]]] = []
    publishes: list[tuple[int, str]] = []
    refreshes: list[tuple[int, int]] = []
    publish, ingest_reads, refresh = live.publish, live.ingest_reads, live.refresh

    def timed_publish(channel: str, data: str) -> None:
        publishes.append((now_ns(), data))
        publish(channel, data)

    async def timed_ingest(reader: str, journal_id: str, entries: list[dict]) -> int:
        held = await ingest_reads(reader, journal_id, entries)
        done = now_ns()
        ingests.append(
            (done, reader, [(e["chip"], e["time_ms"], e["received_ms"]) for e in entries])
        )
        return held

    async def timed_refresh() -> None:
        start = now_ns()
        await refresh()
        refreshes.append((start, now_ns()))

    live.publish, live.ingest_reads, live.refresh = timed_publish, timed_ingest, timed_refresh
    # As web.cli.run_server runs it; built here to reach the app's LiveService.
    server = uvicorn.Server(server_config(app, "127.0.0.1", args.port, backlog=4096))
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT it handled
        server.run()  # until SIGINT
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    Path(args.out).write_text(
        json.dumps(
            {
                "ingests": ingests,
                "publishes": publishes,
                "refreshes": refreshes,
                "interval_s": live.interval_s,
            }
        )
    )


# ---- role: N websocket spectators in one asyncio process -----------------------------------


def role_spectators(args: argparse.Namespace) -> None:
    asyncio.run(spectators(args))


async def spectators(args: argparse.Namespace) -> None:
    """Connect `count` clients, record (receive ns, type, seq) of every message, and the
    reference client's texts; stop on "stop" from stdin (or after `max_seconds`)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    n = args.count
    logs: list[list[tuple[int, str, int]]] = [[] for _ in range(n)]
    texts: list[tuple[int, str]] = []
    stats = {"gaps": 0, "reconnects": 0, "failed": 0}
    opened = 0
    all_open = asyncio.Event()
    gate = asyncio.Semaphore(50)  # connection attempts in flight
    compression = None if args.no_deflate else "deflate"

    async def client(i: int) -> None:
        nonlocal opened
        last: int | None = args.since
        first = True
        while True:
            url = args.url + (f"?since={last}" if last is not None and args.resume else "")
            try:
                async with gate:
                    ws = await connect(
                        url,
                        open_timeout=60,
                        ping_interval=None,  # browsers do not ping; the server does
                        max_size=None,
                        compression=compression,
                        close_timeout=1,
                    )
            except (OSError, TimeoutError, ConnectionClosed) as exc:
                if first:
                    stats["failed"] += 1
                    print(f"spectator {i}: {exc!r}", file=sys.stderr)
                    opened += 1
                    if opened == n:
                        all_open.set()
                    return
                await asyncio.sleep(0.5)
                continue
            if first:
                first = False
                opened += 1
                if opened == n:
                    all_open.set()
            else:
                stats["reconnects"] += 1
            log = logs[i]
            try:
                async for text in ws:
                    t = now_ns()
                    m = SEQ_RE.search(text, 0, 200)
                    if not m:
                        continue
                    kind, seq = m.group(1), int(m.group(2))
                    log.append((t, kind, seq))
                    if i == 0:
                        texts.append((t, text))
                    if kind == "update" and args.resume and last is not None:
                        if seq <= last:
                            continue  # a duplicate around the snapshot: live.js drops it
                        if seq > last + 1:  # missed some: resume from the last one, as live.js
                            stats["gaps"] += 1
                            await ws.close()
                            break
                    if kind in ("update", "snapshot"):
                        last = seq
            except ConnectionClosed:
                pass
            finally:
                await ws.close()

    tasks = [asyncio.create_task(client(i)) for i in range(n)]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_open.wait(), args.max_seconds)
    print(f"ready {opened - stats['failed']} {stats['failed']}", flush=True)
    loop = asyncio.get_running_loop()
    stdin = loop.run_in_executor(None, sys.stdin.readline)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stdin, args.max_seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "logs": logs,
                "texts": texts,
                "stats": stats,
            }
        )
    )
    print("written", flush=True)
    os._exit(0)  # the stdin reader thread may still block


# ---- role: the bare baseline ----------------------------------------------------------------


def role_baseline(args: argparse.Namespace) -> None:
    asyncio.run(baseline_server(args))


async def baseline_server(args: argparse.Namespace) -> None:
    """A minimal websockets broadcast server: replays the service's published messages
    with their original spacing after "go" on stdin, then writes the send times."""
    from websockets.asyncio.server import broadcast, serve

    messages: list[tuple[int, str]] = json.loads(Path(args.messages).read_text())
    clients: set = set()

    async def handler(ws) -> None:
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    loop = asyncio.get_running_loop()
    async with serve(
        handler,
        "127.0.0.1",
        args.port,
        ping_interval=None,
        max_size=None,
        compression=None if args.no_deflate else "deflate",
        backlog=4096,
    ):
        print("listening", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # "go"
        start = now_ns()
        first = messages[0][0] if messages else 0
        sends: list[tuple[int, int]] = []
        for at, text in messages:
            delay = (start + at - first - now_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            m = SEQ_RE.search(text, 0, 200)
            sends.append((int(m.group(2)) if m else -1, now_ns()))
            broadcast(clients, text)
        Path(args.out).write_text(json.dumps({"sends": sends, "clients": len(clients)}))
        print("done", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
    os._exit(0)


# ---- the writer: reader lines into pseudo-terminals ------------------------------------------


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


def write_lines(lines: list[Line], masters: dict[str, int], written: list[int]) -> float:
    """Write each line at its time (5 ms ticks); note when each crossing's first line went.
    Returns the largest lateness behind schedule, in seconds."""
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
            t = now_ns()
            write_all(masters[reader], b"".join(x.data for x in group), time.monotonic() + 10)
            for x in group:
                if x.event >= 0:
                    written[x.event] = t
    return late


def acked(journal: Path, reader: str) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT seq FROM acked WHERE reader = ?", (reader,)).fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row else 0


def drain(work: Path, counts: dict[str, int], board: str, interval: float) -> None:
    """Bounded wait for the tail: every line acknowledged by the service (the agents'
    journals say so), the leaderboard's update number settled, then the last fan-out."""
    deadline = time.monotonic() + DRAIN_MAX_S
    while time.monotonic() < deadline and any(
        acked(work / f"agent-{r}.db", r) < n for r, n in counts.items()
    ):
        time.sleep(0.1)
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            seq = http_json(board)["seq"]
            if seq != last:
                last, since = seq, time.monotonic()
            elif time.monotonic() - since > max(1.0, 3 * interval):
                break
        time.sleep(0.1)
    time.sleep(max(0.0, min(2.0, deadline - time.monotonic())))


# ---- analysis -----------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank); inf stands for "never received"."""
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q / 100 * len(values)))]


def ms(value: float) -> str:
    return "never" if value == float("inf") else f"{value:,.1f} ms"


def first_receipts(log: list[tuple[int, str, int]]) -> dict[int, int]:
    """seq -> when this client first had it (a snapshot covers every seq up to its own)."""
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


@dataclass
class Updates:
    seq_of: dict[int, int]  # crossing index -> seq of the first update showing it
    rows: dict[int, int]  # seq -> rows in that update
    pos_only: int = 0  # rows re-sent whole because only their `pos` changed
    changed: int = 0  # rows in updates, all told
    trimmed: dict[int, int] | None = None  # seq -> bytes, pos-only rows sent as [bib, pos]


def match_crossings(texts: list[tuple[int, str]], crossings: list[Crossing]) -> Updates:
    """Read the reference spectator's messages: which update first shows each crossing,
    and what the updates are made of."""
    wanted: dict[str, list[int]] = defaultdict(list)
    for n, c in enumerate(crossings):
        wanted[c.bib].append(n)
    found = Updates({}, {}, trimmed={})
    previous: dict[str, dict] = {}
    for _t, text in texts:
        message = json.loads(text)
        if message.get("type") not in ("update", "snapshot"):
            continue
        seq = message["seq"]
        if seq in found.rows:
            continue
        found.rows[seq] = len(message["rows"])
        size = len(text)
        for row in message["rows"]:
            bib = row["bib"]
            before = previous.get(bib)
            previous[bib] = row
            if message["type"] == "update":
                found.changed += 1
                if before and all(before.get(k) == v for k, v in row.items() if k != "pos"):
                    found.pos_only += 1
                    size -= len(json.dumps(row, separators=(",", ":"))) - len(f'["{bib}",1234]')
            for n in wanted.get(bib, ()):
                if n in found.seq_of:
                    continue
                point_id = POINTS[crossings[n].point][0]
                if point_id == "start":
                    shows = row["status"] != "DNS"
                else:
                    shows = row["last_point"] == point_id
                if shows:
                    found.seq_of[n] = seq
        found.trimmed[seq] = size
    return found


def line_ms(values: list[float], label: str, note: str = "") -> str:
    return (
        f"  {label:<36} p50 {ms(pct(values, 50)):>12}   p99 {ms(pct(values, 99)):>12}   "
        f"max {ms(max(values) if values else float('nan')):>12}{note}"
    )


# ---- the benchmark --------------------------------------------------------------------------


@dataclass
class ServiceRun:
    crossings: list[Crossing]
    written: list[int]
    spectators: dict[str, Any]
    server: dict[str, Any]
    t_start: int
    t_end: int
    t_drained: int
    lines: int
    late_s: float
    cpu: dict[str, float]
    runners: int


def run_service(args: argparse.Namespace, work: Path) -> ServiceRun:
    lines, crossings, runners = build_race(work / "event", args.rate, args.seconds)
    print(
        f"race: {runners:,} runners, {len(crossings):,} crossings, {len(lines):,} reader lines "
        f"over {args.seconds:g} s ({len(lines) / args.seconds:,.0f} lines/s on "
        f"{len(READERS)} readers), race clock x{SPEED}",
        flush=True,
    )
    port = free_port()
    base = f"127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []
    ptys: list[int] = []
    server_args = [
        "--event", str(work / "event"), "--database-url", f"sqlite:///{work / 'live.db'}",
        "--port", str(port), "--out", str(work / "server.json"),
    ]  # fmt: skip
    if args.publish_interval:
        server_args += ["--publish-interval", str(args.publish_interval)]
    if args.profile:
        server_args += ["--profile", str(work / "server.prof")]
    server = child("server", *server_args, stdin=False, log=work / "server.log")
    procs.append(server)
    try:
        board = wait_http(f"http://{base}/api/races/{RACE}", 60)
        masters: dict[str, int] = {}
        agents: dict[str, subprocess.Popen] = {}
        for reader in READERS:
            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            ptys += [master, slave]
            masters[reader] = master
            log = (work / f"agent-{reader}.log").open("w")
            agents[reader] = subprocess.Popen(
                [
                    sys.executable, "-m", "web.cli", "agent", "--reader", reader,
                    "--port", os.ttyname(slave), "--format", "retrotime-csv",
                    "--server", f"ws://{base}/uplink", "--token", TOKENS[reader],
                    "--journal", str(work / f"agent-{reader}.db"), "--timezone", TZ_NAME,
                    "--day", DATE, "--baudrate", "921600",
                ],
                stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
            procs.append(agents[reader])
        deadline = time.monotonic() + 30
        for reader in READERS:
            while "uplink: connected" not in (work / f"agent-{reader}.log").read_text():
                if time.monotonic() > deadline or agents[reader].poll() is not None:
                    raise RuntimeError(f"agent {reader} did not connect (see agent-{reader}.log)")
                time.sleep(0.1)
        spectators = child(
            "spectators", "--url", f"ws://{base}/ws/races/{RACE}", "--count",
            str(args.spectators), "--since", str(board["seq"]), "--resume",
            "--out", str(work / "spectators.json"), "--max-seconds", str(args.seconds + 120),
            *(["--no-deflate"] if args.no_deflate else []),
            log=work / "spectators.log",
        )  # fmt: skip
        procs.append(spectators)
        ready = read_line(spectators, 120).split()
        print(f"spectators: {ready[1]} connected, {ready[2]} failed", flush=True)
        pids = {"service": server.pid, "spectators": spectators.pid}
        pids.update({f"agent {r}": p.pid for r, p in agents.items()})
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        written = [0] * len(crossings)
        t_start = now_ns()
        late = write_lines(lines, masters, written)
        t_end = now_ns()
        counts = {r: sum(1 for x in lines if x.reader == r) for r in READERS}
        drain(work, counts, f"http://{base}/api/races/{RACE}", args.publish_interval or 0.2)
        t_drained = now_ns()
        wall = (t_drained - t_start) / 1e9
        cpu = {name: (cpu_seconds(pid) - cpu0[name]) / wall for name, pid in pids.items()}
        assert spectators.stdin is not None
        spectators.stdin.write("stop\n")
        spectators.stdin.flush()
        read_line(spectators, 120)
        spectators.wait(30)
        for agent in agents.values():
            stop_process(agent)
        stop_process(server, signal.SIGINT, 60)
        return ServiceRun(
            crossings,
            written,
            json.loads((work / "spectators.json").read_text()),
            json.loads((work / "server.json").read_text()),
            t_start,
            t_end,
            t_drained,
            len(lines),
            late,
            cpu,
            runners,
        )
    finally:
        for proc in reversed(procs):
            stop_process(proc, wait=10)
        for fd in ptys:
            with contextlib.suppress(OSError):
                os.close(fd)


def run_baseline(args: argparse.Namespace, work: Path, messages: list[tuple[int, str]]) -> dict:
    (work / "messages.json").write_text(json.dumps(messages))
    port = free_port()
    deflate = ["--no-deflate"] if args.no_deflate else []
    server = child(
        "baseline", "--port", str(port), "--messages", str(work / "messages.json"),
        "--out", str(work / "baseline.json"), *deflate, log=work / "baseline.log",
    )  # fmt: skip
    procs = [server]
    try:
        read_line(server, 30)
        spectators = child(
            "spectators", "--url", f"ws://127.0.0.1:{port}/", "--count", str(args.spectators),
            "--out", str(work / "baseline-spectators.json"),
            "--max-seconds", str(args.seconds + 120), *deflate,
            log=work / "baseline-spectators.log",
        )  # fmt: skip
        procs.append(spectators)
        read_line(spectators, 120)
        cpu0 = {"server": cpu_seconds(server.pid), "spectators": cpu_seconds(spectators.pid)}
        t0 = now_ns()
        assert server.stdin is not None and spectators.stdin is not None
        server.stdin.write("go\n")
        server.stdin.flush()
        read_line(server, args.seconds + DRAIN_MAX_S + 60)
        time.sleep(BASELINE_DRAIN_S)
        wall = (now_ns() - t0) / 1e9
        cpu = {
            "server": (cpu_seconds(server.pid) - cpu0["server"]) / wall,
            "spectators": (cpu_seconds(spectators.pid) - cpu0["spectators"]) / wall,
        }
        spectators.stdin.write("stop\n")
        spectators.stdin.flush()
        read_line(spectators, 120)
        server.stdin.write("stop\n")
        server.stdin.flush()
        return {
            "server": json.loads((work / "baseline.json").read_text()),
            "spectators": json.loads((work / "baseline-spectators.json").read_text()),
            "cpu": cpu,
        }
    finally:
        for proc in reversed(procs):
            stop_process(proc, wait=10)


def report(args: argparse.Namespace, run: ServiceRun, base: dict, work: Path) -> None:
    spec, srv = run.spectators, run.server
    n_clients = len(spec["logs"])
    updates = match_crossings(spec["texts"], run.crossings)
    receipts = [first_receipts(log) for log in spec["logs"]]
    published: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for t, text in srv["publishes"]:
        m = SEQ_RE.search(text, 0, 200)
        if m:
            published.setdefault(int(m.group(2)), t)
            sizes.setdefault(int(m.group(2)), len(text))
    # The service's ingest log: (reader, chip, reader time) -> (agent received, stored).
    stored: dict[tuple[str, str, int], tuple[int, int]] = {}
    for done, reader, entries in srv["ingests"]:
        for chip, time_ms, received_ms in entries:
            stored.setdefault((reader, chip, time_ms), (received_ms * 1_000_000, done))

    inf = float("inf")
    e2e: list[float] = []
    unshown = missing = 0
    stages: dict[str, list[float]] = defaultdict(list)
    for n, c in enumerate(run.crossings):
        w = run.written[n]
        if not w:
            continue
        seq = updates.seq_of.get(n)
        if seq is None:  # never shown before the drain ended: counts as never received
            unshown += 1
            e2e.extend([inf] * n_clients)
            continue
        for got in receipts:
            t = got.get(seq)
            if t is None:
                missing += 1
            e2e.append(inf if t is None else (t - w) / 1e6)
        agent_ns, stored_ns = stored.get((c.reader, c.chip, c.time_ms), (0, 0))
        pub = published.get(seq)
        if agent_ns and stored_ns and pub:
            stages["pty -> agent journal (ms clock)"].append((agent_ns - w) / 1e6)
            stages["agent -> service stored"].append((stored_ns - agent_ns) / 1e6)
            stages["stored -> update published"].append((pub - stored_ns) / 1e6)
    window = [s for s, t in published.items() if run.t_start <= t <= run.t_drained]
    fanout = [
        (got[s] - published[s]) / 1e6 if s in got else inf for got in receipts for s in window
    ]
    delivered = sum(1 for got in receipts for s in window if s in got)
    crossings_written = sum(1 for w in run.written if w)
    duration = (run.t_end - run.t_start) / 1e9
    drained = (run.t_drained - run.t_start) / 1e9
    stored_reads = sum(len(e) for d, _, e in srv["ingests"] if run.t_start <= d)
    refresh_ms = [(b - a) / 1e6 for a, b in srv["refreshes"] if a >= run.t_start]
    msg_bytes = [sizes[s] for s in window]
    rows = [updates.rows[s] for s in window if s in updates.rows]
    trimmed = [updates.trimmed[s] for s in window if updates.trimmed and s in updates.trimmed]

    print()
    print(
        f"SERVICE  {run.lines:,} reader lines written in {duration:.1f} s "
        f"({run.lines / duration:,.0f} lines/s; the writer fell at most "
        f"{run.late_s * 1000:.0f} ms behind); {stored_reads:,} reads stored by the end of the "
        f"drain ({drained:.1f} s: {stored_reads / drained:,.0f} reads/s)"
    )
    print(
        f"  {n_clients:,} spectators ({spec['stats']['failed']} failed to connect, "
        f"{spec['stats']['gaps']} gaps resumed with ?since=, {spec['stats']['reconnects']} "
        f"reconnects); {len(window)} updates published "
        f"({len(window) / drained:.1f}/s, publish interval {srv['interval_s']:g} s); "
        f"{delivered:,} messages delivered ({delivered / drained:,.0f} msg/s, "
        f"{sum(sizes[s] for s in window) * n_clients / drained / 1e6:,.1f} MB/s of JSON)"
    )
    print(
        f"  update size p50 {pct(msg_bytes, 50) / 1000:,.1f} kB (max "
        f"{max(msg_bytes or [0]) / 1000:,.1f} kB), rows per update p50 {pct(rows, 50):,.0f}; "
        f"{updates.pos_only:,} of {updates.changed:,} rows sent "
        f"({updates.pos_only / max(updates.changed, 1):.0%}) differ only in `pos`; sent as "
        f'["bib",pos] pairs the updates would be p50 {pct(trimmed, 50) / 1000:,.1f} kB'
    )
    print(
        f"  refresh (engine.results + event_rows, under the lock) p50 {ms(pct(refresh_ms, 50))}, "
        f"p99 {ms(pct(refresh_ms, 99))}, max {ms(max(refresh_ms or [0]))}"
    )
    print(
        f"  read -> spectator latency, {crossings_written:,} crossings x {n_clients:,} "
        f"spectators ({unshown} crossings not shown before the drain ended, {missing:,} "
        f"receipts missing; both count as never):"
    )
    print(line_ms(e2e, "END TO END (line written -> shown)"))
    for name, values in stages.items():
        print(line_ms(values, name, "  (reference client)"))
    print(line_ms(fanout, "update published -> spectator"))

    b_sends = dict(base["server"]["sends"])
    b_receipts = [first_receipts(log) for log in base["spectators"]["logs"]]
    b_lat = [
        (got[s] - t) / 1e6 if s in got else inf for got in b_receipts for s, t in b_sends.items()
    ]
    b_total = sum(1 for got in b_receipts for s in b_sends if s in got)
    print(
        f"BASELINE bare `websockets` broadcast() of the same {len(b_sends)} messages, same "
        f"schedule, to {base['server']['clients']:,} clients in the same spectator process: "
        f"{b_total:,} delivered ({b_total / drained:,.0f} msg/s over the same {drained:.1f} s)"
    )
    print(line_ms(b_lat, "broadcast -> client"))
    p50, p99 = pct(e2e, 50), pct(e2e, 99)
    f50, f99 = pct(fanout, 50), pct(fanout, 99)
    bp50, bp99 = pct(b_lat, 50), pct(b_lat, 99)
    print(
        f"RATIO to baseline: end to end p50 x{p50 / bp50:,.1f}, p99 x{p99 / bp99:,.1f}; "
        f"the service's fan-out alone p50 x{f50 / bp50:,.1f}, p99 x{f99 / bp99:,.1f}"
    )
    verdict = "met" if p99 < 250 else "MISSED"
    print(f"TARGET p99 < 250 ms at {n_clients:,} spectators: {verdict} (p99 {ms(p99)})")
    print(
        "CPU, cores busy during the run: "
        + ", ".join(f"{k} {v:.2f}" for k, v in run.cpu.items())
        + f"; baseline: server {base['cpu']['server']:.2f}, spectators "
        f"{base['cpu']['spectators']:.2f} (this machine: {os.cpu_count()} cores)"
    )
    if args.profile:
        out = io.StringIO()
        stats = pstats.Stats(str(work / "server.prof"), stream=out)
        stats.sort_stats("tottime").print_stats(20)
        print("SERVICE PROFILE (event-loop thread, by own time; to_thread work not included):")
        print("\n".join(out.getvalue().splitlines()[6:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--spectators", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=500, help="reader lines/s, all readers")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument(
        "--publish-interval", type=float, default=None, help="the service's (default: Settings')"
    )
    parser.add_argument("--no-deflate", action="store_true", help="spectators without compression")
    parser.add_argument("--profile", nargs="?", const=True, default=False)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    # child roles
    for name in ("--event", "--database-url", "--out", "--url", "--messages"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--since", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--max-seconds", type=float, default=300, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "server":
        return role_server(args)
    if args.role == "spectators":
        return role_spectators(args)
    if args.role == "baseline":
        return role_baseline(args)

    work = Path(tempfile.mkdtemp(prefix="retrotime-bench-live-"))
    started = time.monotonic()
    print(
        f"live benchmark: {args.spectators:,} spectators, {args.rate:g} reads/s on "
        f"{len(READERS)} readers (pseudo-terminals -> retrotime agent -> service), "
        f"{args.seconds:g} s; work folder {work}",
        flush=True,
    )
    run = run_service(args, work)
    messages = [
        (t, text) for t, text in run.server["publishes"] if run.t_start <= t <= run.t_drained
    ]
    base = run_baseline(args, work, messages)
    report(args, run, base, work)
    print(f"(whole run {time.monotonic() - started:.0f} s)")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
