"""A live race through real processes with faults: `retrotime serve` and one `retrotime
agent` per reader on pseudo-terminals, simulated readers in three formats streaming
the race, and between the agents and the service a loopback TCP relay that can drop
every connection or black-hole the link. During the race the service is killed -9
and restarted on the same journal, the RACE RESULT agent is killed -9 and restarted
on its journal (it pulls the passings it missed from the decoder), the link is
dropped once and black-holed once. Then every line each agent journalled is in the
service's journal exactly once, and every read of the race (every passing of the
decoder) is there exactly once.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tty
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session
from sqlmodel import select as sql_select

from readers.simulator import simulate, stream_live
from tests.net import free_port
from tests.timing.builders import EVENT_TOML, person, write_folder
from tests.web.conftest import PASSWORD, TOKENS
from timing.folder import load_folder
from timing.store import RawRead, Store
from web.course import course_from_folder
from web.demo import agent_command

pytestmark = pytest.mark.timeout(180)

FORMATS = {"START": "ultra", "MID": "retrotime-csv", "FIN": "raceresult"}
KILLED = "FIN"  # its decoder keeps passings: the restarted agent pulls what it missed
RACE_WALL_S = 24.0  # the whole race streamed in about this long


class Relay:
    """127.0.0.1 TCP relay, threads and sockets: `drop()` closes every relayed
    connection; while `blackhole` is set, connections are accepted and nothing is
    forwarded either way (bytes wait in the sockets, as on a stalled link)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.blackhole = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.accepted = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            thread = threading.Thread(target=self._connect, args=(client,), daemon=True)
            thread.start()

    def _connect(self, client: socket.socket) -> None:
        client.setblocking(True)
        self._track(client)
        while self.blackhole.is_set() and not self._stop.is_set():
            time.sleep(0.05)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
        except OSError:  # the service is down: the agent sees the connection close
            self._close(client)
            return
        upstream.settimeout(None)
        self._track(upstream)
        for src, dst in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while not self._stop.is_set():
                if self.blackhole.is_set():
                    time.sleep(0.05)
                    continue
                if not select.select([src], [], [], 0.1)[0]:
                    continue
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except (OSError, ValueError):  # closed under us (a drop)
            pass
        self._close(src)
        self._close(dst)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def drop(self) -> int:
        with self._lock:
            socks = list(self._open)
        for sock in socks:
            self._close(sock)
        return len(socks) // 2

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        self.drop()


def event_folder(tmp_path: Path, runners: int) -> Path:
    toml = EVENT_TOML
    for reader, fmt in FORMATS.items():
        toml = re.sub(rf'(id = "{reader}"\nformat = )"[^"]+"', rf'\1"{fmt}"', toml, count=1)
    people = [person(200 + i, "FM"[i % 2], wave="AB"[i % 3 == 0]) for i in range(runners)]
    return write_folder(tmp_path / "event", people, toml)


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def agent_entries(path: Path) -> tuple[str, list[tuple[int, str, str | None, int | None]]]:
    """An agent journal's id and (seq, raw, reason, reader_seq) rows."""
    db = sqlite3.connect(path, timeout=10)
    try:
        jid = db.execute("SELECT value FROM meta WHERE key = 'journal_id'").fetchone()[0]
        rows = db.execute("SELECT seq, raw, reason, reader_seq FROM entries ORDER BY seq")
        return jid, rows.fetchall()
    except (sqlite3.OperationalError, TypeError):  # still being created
        return "", []
    finally:
        db.close()


def held_by_service(journal: Path, reader: str) -> int:
    if not journal.exists():
        return 0
    db = sqlite3.connect(journal, timeout=10)
    try:
        return sum(
            db.execute(f"SELECT COUNT(*) FROM {table} WHERE reader_id = ?", (reader,)).fetchone()[0]
            for table in ("raw_reads", "quarantined_lines")
        )
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


class Procs:
    """Child processes, each logging to a file; all killed -9 at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp, self.all, self.n = tmp_path, [], 0

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.n += 1
        with (self.tmp / f"{name}-{self.n}.log").open("wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.all.append(proc)
        return proc

    @staticmethod
    def kill9(proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def kill_all(self) -> None:
        for proc in self.all:
            if proc.poll() is None:
                proc.kill()
        for proc in self.all:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)


def serve_cmd(folder: Path, port: int, tokens: Path, journal: Path) -> list[str]:
    return [
        sys.executable, "-m", "web.cli", "serve", str(folder), "--host", "127.0.0.1",
        "--port", str(port), "--password", PASSWORD, "--tokens", str(tokens),
        "--database-url", f"sqlite:///{journal}",
    ]  # fmt: skip


def service_up(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_live_race_survives_kill_9_and_dropped_links(tmp_path: Path) -> None:
    folder_path = event_folder(tmp_path, runners=120)
    folder = load_folder(folder_path, set(FORMATS.values()))
    sim = simulate(course_from_folder(folder), seed=11)
    tokens = tmp_path / "tokens.toml"
    tokens.write_text("".join(f'{r} = "{t}"\n' for r, t in TOKENS.items()))
    journal = tmp_path / "service.db"
    timed = {r: list(sim.timed_lines(r)) for r in FORMATS}
    race0 = min(lines[0][0] for lines in timed.values())
    race_end = max(lines[-1][0] for lines in timed.values())
    speed = (race_end - race0) / 1000 / RACE_WALL_S
    day = folder.event.date.isoformat()
    tz = folder.event.timezone.key

    procs = Procs(tmp_path)
    stop = threading.Event()
    streams: list[threading.Thread] = []
    ptys: dict[str, tuple[int, int]] = {}
    relay: Relay | None = None
    agents: dict[str, subprocess.Popen[bytes]] = {}
    faults: Counter[str] = Counter()

    def start_service() -> subprocess.Popen[bytes]:
        port = free_port()
        proc = procs.start(
            "service", serve_cmd(folder_path, port, tokens, journal), dict(os.environ)
        )
        wait_until(lambda: service_up(port) or proc.poll() is not None, 60, "service up")
        assert proc.poll() is None, "the service exited while starting"
        assert relay is not None
        relay.target_port = port
        return proc

    def start_agent(reader: str) -> subprocess.Popen[bytes]:
        uplink = f"ws://127.0.0.1:{relay.port}/uplink"
        journal_path = tmp_path / f"agent-{reader}.db"
        cmd = [
            *agent_command(
                reader, os.ttyname(ptys[reader][1]), FORMATS[reader], tz, uplink, journal_path
            ),
            *("--day", day, "--health-interval", "1", "--max-backoff", "1"),
        ]
        env = {**os.environ, "RETROTIME_AGENT_TOKEN": TOKENS[reader]}
        return procs.start(f"agent-{reader}", cmd, env)

    def agent_port_open(reader: str, run: int) -> bool:
        logs = sorted(tmp_path.glob(f"agent-{reader}-*.log"), key=lambda p: p.stat().st_mtime)
        return len(logs) >= run and ": open" in logs[-1].read_text(errors="replace")

    try:
        relay = Relay(0)
        service = start_service()
        for reader in FORMATS:
            master, slave = os.openpty()
            tty.setraw(slave)
            ptys[reader] = (master, slave)
            agents[reader] = start_agent(reader)
        for reader in FORMATS:
            wait_until(lambda r=reader: agent_port_open(r, 1), 60, f"agent {reader} port open")
        started = time.monotonic()
        for reader in FORMATS:
            thread = threading.Thread(
                target=stream_live,
                args=(sim, reader, ptys[reader][0], speed, stop),
                kwargs={"start_ms": race0, "started_at": started, "write_timeout": 10.0},
                daemon=True,
            )
            thread.start()
            streams.append(thread)

        def at(share: float) -> None:  # wait for that share of the race's wall time
            time.sleep(max(0.0, started + share * RACE_WALL_S - time.monotonic()))

        at(0.15)
        faults["drops"] += 1
        faults["connections dropped"] += relay.drop()
        at(0.3)
        Procs.kill9(service)
        faults["service kills"] += 1
        time.sleep(0.5)
        service = start_service()
        at(0.5)
        Procs.kill9(agents[KILLED])
        faults["agent kills"] += 1
        time.sleep(1.0)  # the race goes on with no agent on the decoder
        agents[KILLED] = start_agent(KILLED)
        at(0.7)
        relay.blackhole.set()
        faults["black holes"] += 1
        time.sleep(4.0)
        relay.blackhole.clear()

        at(1.0)
        want_reads = {r: sim.read_count(r) for r in FORMATS}

        def all_in() -> bool:
            for reader in FORMATS:
                _jid, rows = agent_entries(tmp_path / f"agent-{reader}.db")
                reads = sum(1 for row in rows if row[2] is None)
                if reads < want_reads[reader] or held_by_service(journal, reader) < len(rows):
                    return False
            return True

        wait_until(all_in, 90, "every read journalled by the agents and the service")
        time.sleep(1.5)  # anything sent twice would arrive by now
        for proc in (service, *agents.values()):
            assert proc.poll() is None, "a process died during the race"
    finally:
        stop.set()
        for thread in streams:
            thread.join(15)  # before the ptys close under them
        procs.kill_all()
        if relay is not None:
            relay.stop()
        for master, slave in ptys.values():
            os.close(master)
            os.close(slave)

    store = Store(f"sqlite:///{journal}")
    try:
        with Session(store.engine) as session:
            reads = list(session.exec(sql_select(RawRead)))
        quarantined = store.quarantined()
    finally:
        store.close()
    report = {}
    for reader in FORMATS:
        jid, rows = agent_entries(tmp_path / f"agent-{reader}.db")
        mine = [r for r in reads if r.reader_id == reader]
        bad = [q for q in quarantined if q.reader_id == reader]
        assert {r.source for r in mine} | {q.source for q in bad} == {f"agent:{jid}"}
        # The agent's journal, no gap, and each of its lines in the service's journal once.
        assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
        served = sorted([(r.seq, r.raw_line) for r in mine] + [(q.seq, q.raw_line) for q in bad])
        assert served == [(seq, raw) for seq, raw, _reason, _rs in rows]
        # Every read of the race once: the simulated reader's reads, by content.
        got = Counter((r.chip, r.antenna, r.time_ms) for r in mine)
        assert got == Counter((r.chip, r.antenna, r.time_ms) for r in sim.reads[reader])
        sent = [line for _due, line in timed[reader]]
        garbage = sim.garbage_lines(reader)
        if reader == KILLED:
            # Passings, not transmissions: the decoder numbers them 1..n, each stored once.
            assert sorted(r.reader_seq for r in mine) == list(range(1, want_reads[reader] + 1))
            # Line noise sent while no agent read the port is lost, as on a real line,
            # and a line the killed agent had half read arrives as its tail.
            extra = Counter(q.raw_line for q in bad) - Counter(garbage)
            assert all(any(line.endswith(tail) for line in sent) for tail in extra), extra
        else:
            # A reader that only streams: its every line, noise included, exactly once.
            assert Counter(r.raw_line for r in mine) + Counter(q.raw_line for q in bad) == Counter(
                sent
            )
        report[reader] = (len(mine), len(bad), len(garbage))
    logs = {r: " ".join(p.read_text() for p in tmp_path.glob(f"agent-{r}-*.log")) for r in FORMATS}
    assert "resumes at" in logs[KILLED]  # the restarted agent asked the decoder from there
    for reader, text in logs.items():  # and again after the faults
        assert text.count("uplink: connected to") >= 2, reader
    assert faults["connections dropped"] >= 1
    print(f"faults: {dict(faults)}; per reader (reads, quarantined, noise sent): {report}")
