"""Live fan-out through real processes with faults: `retrotime serve` (the writer, and
with --workers its fan-out workers on one port) and `retrotime fanout`, Redis, the
journal in an SQLite file, and spectators on real websockets that reconnect as
live.js does (`?since=<the last number seen>`).

Killed -9: a fan-out worker (its phones resume on another, by number, with no
snapshot), the writer (restarted on its journal, it numbers on from a snapshot and
reuses no number). Redis killed and started again (the worker polls the outbox
meanwhile and says so in /health). A phone that never reads (closed, the others
unaffected). Across each test every spectator's numbers have no hole.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import sqlite3
import struct
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from benchmarks.procs import end_leftovers, free_port_pair, started_at
from tests.net import free_port
from tests.timing.builders import person, write_folder
from tests.web.conftest import TOKENS, send_reads
from tests.web.test_live_faults import Procs, serve_cmd, service_up, wait_until
from timing.folder import load_folder

pytestmark = pytest.mark.timeout(90)

REPO = Path(__file__).resolve().parents[2]
UP_S = 30.0  # a process starting on a busy machine
SEEN_S = 15.0  # an update on its way to every spectator


# ---- the event, its journal, and what the writer numbered --------------------------


@dataclass
class Event:
    folder: Path
    journal: Path
    tokens: Path
    gun_ms: int
    journal_id: str = field(default_factory=lambda: os.urandom(8).hex())
    next_bib: int = 100

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.journal}"

    def start_runners(self, writer_port: int, count: int = 1) -> int:
        """The next `count` runners cross the start mat (one agent message); return the
        writer's update number for it, once it is in the outbox."""
        before = last_number(self.journal)
        bibs = range(self.next_bib, self.next_bib + count)
        self.next_bib += count
        reads = [(f"F{bib:04d}", 1, self.gun_ms + 4_000 + bib) for bib in bibs]
        send_reads(
            f"ws://127.0.0.1:{writer_port}", "START", TOKENS["START"], self.journal_id, reads
        )
        wait_until(lambda: last_number(self.journal) > before, SEEN_S, "the update numbered")
        return last_number(self.journal)


def new_event(tmp_path: Path, runners: int = 40) -> Event:
    people = [person(100 + i, "FM"[i % 2]) for i in range(runners)]
    folder = write_folder(tmp_path / "event", people)
    tokens = tmp_path / "tokens.toml"
    tokens.write_text("".join(f'{r} = "{t}"\n' for r, t in TOKENS.items()))
    gun = load_folder(folder).event.races[0].waves[0].gun_ms
    return Event(folder, tmp_path / "live.db", tokens, gun)


def outbox(journal: Path) -> list[tuple[int, str, str]]:
    """The race's outbox: (seq, kind, body), in order."""
    if not journal.exists():
        return []
    db = sqlite3.connect(journal, timeout=10)
    try:
        rows = db.execute(
            "SELECT seq, kind, body FROM live_updates WHERE race = 'half' ORDER BY seq, kind"
        )
        return rows.fetchall()
    except sqlite3.OperationalError:  # not made yet
        return []
    finally:
        db.close()


def last_number(journal: Path) -> int:
    return max((seq for seq, _kind, _body in outbox(journal)), default=0)


# ---- processes -------------------------------------------------------------------

ENV = {**os.environ, "PYTHONPATH": str(REPO)}  # the children run this tree's code


def writer_cmd(event: Event, port: int, redis_url: str, *extra: str) -> list[str]:
    cmd = serve_cmd(event.folder, port, event.tokens, event.journal)
    return [*cmd, "--redis-url", redis_url, *extra]


def fanout_cmd(event: Event, port: int, redis_url: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "web.cli", "fanout", str(event.folder), "--host", "127.0.0.1",
        "--port", str(port), "--database-url", event.database_url, "--redis-url", redis_url,
        *extra,
    ]  # fmt: skip


def health(port: int) -> dict[str, Any] | None:
    """A fan-out worker's /health (one of those on the port), or None if none answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def start(procs: Procs, name: str, cmd: list[str], port: int) -> Any:
    proc = procs.start(name, cmd, ENV)
    wait_until(lambda: service_up(port) or proc.poll() is not None, UP_S, f"{name} up")
    assert proc.poll() is None, f"{name} exited while starting"
    return proc


# ---- spectators --------------------------------------------------------------------


@dataclass
class Seen:
    connection: int  # 1 for the first connection, 2 after one reconnect, ...
    kind: str
    seq: int
    text: str


class Spectator:
    """A phone on the race's board, in a thread: on a lost connection it reconnects
    with `?since=<last number>` as live.js does (bounded tries)."""

    def __init__(self, ws_url: str) -> None:
        self.url = f"{ws_url}/ws/races/half"
        self.seen: list[Seen] = []
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="spectator", daemon=True)
        self.thread.start()

    @property
    def last(self) -> int:
        return self.seen[-1].seq if self.seen else -1

    def _run(self) -> None:
        for _attempt in range(300):
            if self.stop.is_set():
                return
            since = f"?since={self.last}" if self.seen else ""
            try:
                with connect(self.url + since, open_timeout=2, close_timeout=1) as ws:
                    self.connections += 1
                    while not self.stop.is_set():
                        try:
                            text = str(ws.recv(timeout=0.2))
                        except TimeoutError:
                            continue
                        message = json.loads(text)
                        kind = message["type"]
                        self.seen.append(Seen(self.connections, kind, message["seq"], text))
            except (OSError, WebSocketException):
                time.sleep(0.1)

    def first_after_reconnect(self) -> Seen:
        return next(s for s in self.seen if s.connection > 1)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


def assert_no_hole(spectator: Spectator, snapshots_after: int = 0) -> None:
    """A snapshot first, then every update in order; `snapshots_after` more snapshots
    allowed, each numbered above everything before it."""
    seen = spectator.seen
    assert seen and seen[0].kind == "snapshot", seen[:1]
    more = 0
    for before, now in itertools.pairwise(seen):
        if now.kind == "update":
            assert now.seq == before.seq + 1, f"hole or repeat: {before.seq} then {now.seq}"
        else:
            more += 1
            assert now.seq > max(s.seq for s in seen[: seen.index(now)]), now.seq
    assert more <= snapshots_after, f"{more} snapshots after the first"


@contextlib.contextmanager
def spectators(ws_url: str, count: int = 1) -> Any:
    phones = [Spectator(ws_url) for _ in range(count)]
    try:
        yield phones
    finally:
        for phone in phones:
            phone.close()


def all_at(phones: list[Spectator], seq: int, what: str) -> None:
    wait_until(lambda: all(p.last >= seq for p in phones), SEEN_S, what)


# ---- the tests ---------------------------------------------------------------------


def test_spectators_of_a_killed_fanout_worker_resume_on_another(
    tmp_path: Path, redis_url: str
) -> None:
    event = new_event(tmp_path)
    port = free_port_pair()
    live = port + 1
    procs = Procs(tmp_path)
    pids: dict[int, int] = {}  # worker pid -> its spectators, as its /health said last
    started: dict[int, int | None] = {}  # worker pid -> when it started
    try:
        serve = start(procs, "serve", writer_cmd(event, port, redis_url, "--workers", "2"), port)

        def both_workers_say(expected: int) -> bool:
            got = health(live)
            if got is not None:
                pids[got["pid"]] = got["spectators"]
                started.setdefault(got["pid"], started_at(got["pid"]))
            return len(pids) == 2 and sum(pids.values()) == expected

        wait_until(lambda: both_workers_say(0), UP_S, "two fan-out workers answering")
        event.start_runners(port)
        with spectators(f"ws://127.0.0.1:{live}", 10) as phones:
            all_at(phones, 1, "every spectator has its snapshot")
            for _ in range(20):  # the kernel spreads phones by address: make sure of both
                wait_until(lambda: both_workers_say(len(phones)), SEEN_S, "health counts")
                if all(pids.values()):
                    break
                phones.append(Spectator(f"ws://127.0.0.1:{live}"))
                all_at(phones, 1, "the new spectator has its snapshot")
            assert all(pids.values()), f"phones on one worker only: {pids}"
            for _ in range(3):
                seq = event.start_runners(port)
            all_at(phones, seq, "updates reached both workers' spectators")

            victim, victims_phones = max(pids.items(), key=lambda p: p[1])
            os.kill(victim, signal.SIGKILL)
            for _ in range(5):
                seq = event.start_runners(port)
            all_at(phones, seq, "every spectator resumed")
            moved = [p for p in phones if p.connections > 1]
            assert len(moved) == victims_phones, (len(moved), pids)
            assert all(p.connections == 1 for p in phones if p not in moved)
            for phone in moved:  # resumed by number: no reload, no snapshot
                assert phone.first_after_reconnect().kind == "update"
            for phone in phones:
                assert_no_hole(phone)

            def replaced() -> bool:  # serve starts a worker again in its place
                got = health(live)
                if got is not None and got["pid"] not in pids:
                    pids[got["pid"]] = got["spectators"]
                    started[got["pid"]] = started_at(got["pid"])
                return len(pids) == 3

            wait_until(replaced, UP_S, "a new fan-out worker in place of the killed one")
        # Stopped as a service manager stops it, serve stops its workers too.
        serve.terminate()
        serve.wait(30)
        wait_until(lambda: not service_up(live), 15, "nothing left on the live port")
    finally:
        procs.kill_all()
        end_leftovers(started)  # workers left behind if serve did not stop them


def test_workers_end_with_a_serve_killed_9(tmp_path: Path, redis_url: str) -> None:
    """kill -9 gives serve no chance to stop its workers: they see it gone themselves,
    and nothing is left serving stale boards on the live port."""
    event = new_event(tmp_path)
    port = free_port_pair()
    live = port + 1
    procs = Procs(tmp_path)
    started: dict[int, int | None] = {}
    try:
        serve = start(procs, "serve", writer_cmd(event, port, redis_url, "--workers", "1"), port)
        wait_until(lambda: health(live) is not None, UP_S, "the fan-out worker answering")
        got = health(live)
        assert got is not None
        worker = got["pid"]
        started[worker] = started_at(worker)
        Procs.kill9(serve)
        wait_until(lambda: started_at(worker) is None, SEEN_S, "the worker ended with serve")
        assert not service_up(live)
    finally:
        procs.kill_all()
        end_leftovers(started)


def test_a_killed_writer_restarts_and_numbers_on(tmp_path: Path, redis_url: str) -> None:
    event = new_event(tmp_path)
    port, live = free_port(), free_port()
    procs = Procs(tmp_path)
    try:
        writer = start(procs, "serve", writer_cmd(event, port, redis_url), port)
        start(procs, "fanout", fanout_cmd(event, live, redis_url), live)
        with spectators(f"ws://127.0.0.1:{live}") as (phone,):
            all_at([phone], 1, "the spectator has its snapshot")
            for _ in range(3):
                before_kill = event.start_runners(port)
            all_at([phone], before_kill, "updates before the kill")

            Procs.kill9(writer)
            start(procs, "serve", writer_cmd(event, port, redis_url), port)

            def restarted() -> bool:
                return any(s.kind == "snapshot" and s.seq > before_kill for s in phone.seen)

            wait_until(restarted, SEEN_S, "the restarted writer's snapshot at the spectator")
            for _ in range(3):
                seq = event.start_runners(port)
            all_at([phone], seq, "updates after the restart")
    finally:
        procs.kill_all()
    snapshot = next(s for s in phone.seen if s.kind == "snapshot" and s.seq > before_kill)
    at = phone.seen.index(snapshot)
    assert snapshot.seq > max(s.seq for s in phone.seen[:at])
    assert [s.kind for s in phone.seen[at + 1 :]] == ["update"] * 3
    assert_no_hole(phone, snapshots_after=1)
    # No number reused: what the spectator got under each number is what the outbox
    # holds under it (the first snapshot aside: the worker builds that one itself), and
    # the restart's snapshot took a number no update had.
    stored = {(seq, kind): body for seq, kind, body in outbox(event.journal)}
    for s in phone.seen[1:]:
        assert stored.get((s.seq, s.kind)) == s.text, (s.seq, s.kind)
    assert (snapshot.seq, "update") not in stored
    updates = [seq for seq, kind in stored if kind == "update"]
    # (number 1 is the first start's snapshot: the board as it was, every row)
    assert sorted(updates) == [*range(2, before_kill + 1), *range(snapshot.seq + 1, seq + 1)]


def test_with_redis_down_the_fanout_polls_the_outbox_and_recovers(tmp_path: Path) -> None:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    event = new_event(tmp_path)
    redis_port, port, live = free_port(), free_port(), free_port()
    redis_cmd = [
        server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(tmp_path),
    ]  # fmt: skip
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    procs = Procs(tmp_path)

    def redis_is(state: str) -> bool:
        got = health(live)
        return got is not None and got["redis"] == state

    try:
        redis = start(procs, "redis", redis_cmd, redis_port)
        start(procs, "serve", writer_cmd(event, port, redis_url), port)
        start(procs, "fanout", fanout_cmd(event, live, redis_url), live)
        wait_until(lambda: redis_is("up"), UP_S, "the fan-out worker on Redis")
        with spectators(f"ws://127.0.0.1:{live}") as (phone,):
            all_at([phone], 1, "the spectator has its snapshot")
            for _ in range(2):
                seq = event.start_runners(port)
            all_at([phone], seq, "updates through Redis")

            Procs.kill9(redis)
            wait_until(lambda: redis_is("down"), 10, "/health saying Redis is down")
            got = health(live)
            assert got is not None and got["updates_from"] == "outbox polling", got
            for _ in range(3):
                seq = event.start_runners(port)
            all_at([phone], seq, "updates with Redis down")

            start(procs, "redis", redis_cmd, redis_port)
            wait_until(lambda: redis_is("up"), 10, "/health saying Redis is up again")
            got = health(live)
            assert got is not None and got["updates_from"] == "redis", got
            for _ in range(3):
                seq = event.start_runners(port)
            all_at([phone], seq, "updates once Redis is back")
    finally:
        procs.kill_all()
    assert_no_hole(phone)
    assert phone.connections == 1  # the spectator noticed nothing


def never_reading(port: int) -> socket.socket:
    """A websocket to the race's board that completes its handshake, then never reads
    (a small receive buffer, so what is sent to it piles up in the worker)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # Small segments, as on a poor mobile link: otherwise the worker's kernel sizes the
    # send buffer for 64 KiB loopback segments and holds a megabyte before the worker
    # sees any of it waiting.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ws/races/half HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):  # byte by byte: nothing past the handshake
        byte = sock.recv(1)
        assert byte and len(head) < 4096, head
        head += byte
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def close_frame(sock: socket.socket, seconds: float = 10.0) -> tuple[int, str]:
    """Read at last: skip the frames that were queued, return the close frame's code
    and reason."""
    buf = bytearray()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        while len(buf) >= 2:
            opcode, size, at = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if size == 126:
                size, at = (struct.unpack(">H", buf[2:4])[0], 4) if len(buf) >= 4 else (-1, 0)
            elif size == 127:
                size, at = (struct.unpack(">Q", buf[2:10])[0], 10) if len(buf) >= 10 else (-1, 0)
            if size < 0 or len(buf) < at + size:
                break
            payload = bytes(buf[at : at + size])
            del buf[: at + size]
            if opcode == 0x8:
                return struct.unpack(">H", payload[:2])[0], payload[2:].decode()
        chunk = sock.recv(65536)
        assert chunk, "the connection ended with no close frame"
        buf += chunk
    raise AssertionError(f"no close frame within {seconds} s")


def test_a_spectator_that_never_reads_is_closed_and_slows_no_one(
    tmp_path: Path, redis_url: str
) -> None:
    event = new_event(tmp_path, runners=300)  # a board of 300 rows: big messages
    port, live = free_port(), free_port()
    procs = Procs(tmp_path)
    try:
        start(procs, "serve", writer_cmd(event, port, redis_url), port)
        start(procs, "fanout", fanout_cmd(event, live, redis_url, "--slow-kib", "16"), live)
        with spectators(f"ws://127.0.0.1:{live}") as (phone,), never_reading(live) as slow:
            all_at([phone], 1, "the spectator has its snapshot")
            for _ in range(10):
                seq = event.start_runners(port, 20)
            all_at([phone], seq, "every update at the reading spectator")

            def dropped() -> bool:
                got = health(live)
                return got is not None and got["dropped_slow"] >= 1

            wait_until(dropped, SEEN_S, "the worker dropping the phone that never reads")
            got = health(live)
            assert got is not None and got["spectators"] == 1, got
            code, reason = close_frame(slow)
            assert code == 4000 and "since=" in reason, (code, reason)
    finally:
        procs.kill_all()
    assert_no_hole(phone)
    assert phone.connections == 1
