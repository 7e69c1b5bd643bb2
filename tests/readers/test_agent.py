"""The reader agent: journal, uplink with acks, and an end-to-end run killed with SIGKILL.

Everything is real: pseudo-terminals read through pyserial, SQLite files, a websockets
server on loopback (tests/readers/uplink_server.py) and, end to end, the agent as a
subprocess.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.sync.client import connect as sync_connect

from readers.agent import UplinkRejected
from readers.journal import Journal, NewEntry
from readers.read import Read
from tests.net import free_port
from tests.readers.agent_helpers import (
    TOKEN,
    agent_cli,
    agent_running,
    journal_rows,
    make_config,
    write_lines,
)
from tests.readers.serial_helpers import Pty, csv_line, open_pty, wait_until
from tests.readers.uplink_server import UplinkServer

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]


# -- the journal ---------------------------------------------------------------------------


def test_journal_numbers_entries_per_reader_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    j = Journal(path, "FIN")
    uplink = Journal(path, "FIN")  # the uplink's own connection
    read = Read("FIN", "0580", 2, 1_776_000_000_000, -48.5)
    assert uplink.pending(0, 10) == []
    chunk = [NewEntry("raw 1", 10, read), NewEntry("garbage", 11, reason="expected 5 fields")]
    assert j.append(chunk, {"file": 3, "passing": 1}) == [1, 2]
    assert [e.seq for e in uplink.pending(0, 10)] == [1, 2]
    uplink.close()
    journal_id = j.journal_id
    j.set_acked(1)
    j.close()

    j = Journal(path, "FIN")  # a restart
    other = Journal(path, "KM5")  # another reader in the same file
    assert j.journal_id == journal_id == other.journal_id
    assert (j.last_seq(), j.acked()) == (2, 1)
    assert j.position() == {"file": 3, "passing": 1} and other.position() is None
    assert other.append([NewEntry("raw k", 12, read)]) == [1]
    assert j.append([NewEntry("raw 3", 13, read)]) == [3]
    assert j.position() == {"file": 3, "passing": 1}  # no position given: kept
    entries = j.pending(0, 10)
    assert [(e.seq, e.raw, e.is_read) for e in entries] == [
        (1, "raw 1", True), (2, "garbage", False), (3, "raw 3", True),
    ]  # fmt: skip
    assert entries[0].chip == "0580" and entries[0].rssi == -48.5
    assert entries[1].reason == "expected 5 fields"
    assert j.counts(since_ms=0) == {
        "quarantined": 1, "last_read_ms": 13, "recent_reads": 2,
        "min_lag_ms": 10 - read.time_ms,
    }  # fmt: skip
    j.close()
    other.close()


# -- the agent in-process --------------------------------------------------------------------


def test_journal_first_then_backlog_sent_when_service_comes_up_and_back(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "server.db"
    with open_pty() as pty:
        config = make_config(tmp_path, pty, f"ws://127.0.0.1:{port}/uplink")
        with agent_running(config) as (agent, errors):
            lines = write_lines(pty, range(20))  # the service is not there yet
            wait_until(lambda: len(journal_rows(config.journal_path)) == 20)
            assert not agent.uplink_connected
            assert agent.health()["backlog"] == 20

            server = UplinkServer(db, {"FIN": TOKEN}, port=port).start()
            wait_until(lambda: len(server.stored("FIN")) == 20)
            wait_until(lambda: agent.health()["backlog"] == 0)
            lines += write_lines(pty, range(20, 150))  # a burst: sent in batches
            wait_until(lambda: len(server.stored("FIN")) == 150)
            server.stop()  # the link goes down mid-race

            lines += write_lines(pty, range(150, 170))
            wait_until(lambda: len(journal_rows(config.journal_path)) == 170)
            wait_until(lambda: not agent.uplink_connected)
            server = UplinkServer(db, {"FIN": TOKEN}, port=port).start()
            wait_until(lambda: len(server.stored("FIN")) == 170)
            wait_until(lambda: agent.health()["backlog"] == 0)
            server.stop()
        assert errors == []
    stored = server.stored("FIN")
    journal = journal_rows(config.journal_path)
    assert [seq for _, seq, _, _ in stored] == list(range(1, 171))
    assert [raw for *_, raw in stored] == lines == [raw for _, raw, _ in journal]
    assert {jid for jid, *_ in stored} == {Journal(config.journal_path, "FIN").journal_id}
    assert server.query("SELECT COUNT(*) FROM deliveries") == [(170,)]  # none sent twice
    batches = server.query("SELECT COUNT(DISTINCT seq), COUNT(*) FROM deliveries")
    assert batches[0][0] == 170
    assert journal[-1][2] == 170  # the journal records the service's ack


def test_store_without_ack_and_a_forgetful_service(tmp_path: Path) -> None:
    server = UplinkServer(tmp_path / "server.db", {"FIN": TOKEN}).start()
    server.fail_acks = 2  # stores, then drops the connection before acking: twice
    with open_pty() as pty:
        config = make_config(tmp_path, pty, server.url)
        with agent_running(config) as (agent, errors):
            write_lines(pty, range(30))
            time.sleep(0.3)
            write_lines(pty, range(30, 60))
            wait_until(lambda: len(server.stored("FIN")) == 60)
            wait_until(lambda: agent.health()["backlog"] == 0)
            # Stored but unacked entries are not sent again: the welcome says what is held.
            assert server.query("SELECT COUNT(*) FROM deliveries") == [(60,)]
            assert len(server.hellos) >= 3

            server.forget = True  # a service restored from an old backup says "seq 0"
            server.stop()
            server.start()
            wait_until(lambda: server.query("SELECT COUNT(*) FROM deliveries") == [(120,)])
            wait_until(lambda: agent.health()["backlog"] == 0)
            server.stop()
        assert errors == []
    assert [seq for _, seq, _, _ in server.stored("FIN")] == list(range(1, 61))


def test_bad_token_is_a_clear_error(tmp_path: Path) -> None:
    server = UplinkServer(tmp_path / "server.db", {"FIN": TOKEN}).start()
    with open_pty() as pty:
        config = make_config(tmp_path, pty, server.url, token="wrong")
        started = time.monotonic()
        with agent_running(config) as (_, errors):
            wait_until(lambda: errors != [])
        assert time.monotonic() - started < 10
    server.stop()
    assert len(errors) == 1 and isinstance(errors[0], UplinkRejected)
    assert str(errors[0]) == "the service refused reader 'FIN': bad token"
    assert server.stored("FIN") == []


def test_refused_after_a_welcome_keeps_journalling(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="readers.agent")
    server = UplinkServer(tmp_path / "server.db", {"FIN": TOKEN}).start()
    with open_pty() as pty:
        config = make_config(tmp_path, pty, server.url)
        with agent_running(config) as (agent, errors):
            write_lines(pty, range(5))
            wait_until(lambda: len(server.stored("FIN")) == 5)
            server.tokens["FIN"] = "rotated"  # the director changed the token mid-race
            server.stop()
            server.start()
            wait_until(lambda: agent.rejected == "bad token")
            write_lines(pty, range(5, 10))
            wait_until(lambda: len(journal_rows(config.journal_path)) == 10)
            assert errors == [] and len(server.stored("FIN")) == 5
            server.tokens["FIN"] = TOKEN  # fixed on the service: the agent catches up
            wait_until(lambda: len(server.stored("FIN")) == 10)
            server.stop()
    refused = [r for r in caplog.records if "refused reader 'FIN': bad token" in r.getMessage()]
    assert refused and refused[0].levelno == logging.ERROR


def test_quarantine_health_and_clock_offset(tmp_path: Path) -> None:
    server = UplinkServer(tmp_path / "server.db", {"FIN": TOKEN}, clock_offset_ms=5000).start()
    with open_pty() as pty:
        config = make_config(tmp_path, pty, server.url)
        with agent_running(config) as (agent, _):
            write_lines(pty, range(3))
            pty.write(b"FIN,this is not a read\r\n")
            write_lines(pty, range(3, 5))
            wait_until(lambda: len(server.stored("FIN")) == 5)
            wait_until(lambda: len(server.stored("FIN", "quarantine")) == 1)
            wait_until(lambda: agent.health()["backlog"] == 0)
            time.sleep(1.2)  # at least one health message after the reads
            best = agent.clock_offset.best()
            server.stop()
    assert [seq for _, seq, _, _ in server.stored("FIN", "quarantine")] == [4]
    assert server.query("SELECT reason FROM entries WHERE kind = 'quarantine'") == [
        ("expected 5 comma-separated fields, got 2",)
    ]
    assert best is not None and abs(best[0] - 5000) < 200 and best[1] < 200
    health = [json.loads(body) for (body,) in server.query("SELECT body FROM health")]
    last = health[-1]
    assert last["reads_per_min"] == 5 and last["quarantined"] == 1
    assert last["backlog"] == 0 and last["last_seq"] == 6 and last["source_connected"] is True
    assert abs(last["clock_offset_ms"] - 5000) < 200
    # the test's reads carry a fixed reader time, so the reader offset is large and known
    assert last["reader_offset_ms"] > 0 and last["last_read_ms"] > last["reader_offset_ms"] / 2


def test_reference_server_rejects_malformed_messages(tmp_path: Path) -> None:
    server = UplinkServer(tmp_path / "server.db", {"FIN": TOKEN}).start()
    hello = {
        "type": "hello", "protocol": 1, "reader": "FIN", "token": TOKEN,
        "agent_version": "test", "journal_id": "j1", "acked_seq": 0, "last_seq": 0,
        "agent_time_ms": 0,
    }  # fmt: skip
    try:
        with sync_connect(server.url) as ws:
            ws.send(json.dumps(hello))
            assert json.loads(ws.recv(5))["type"] == "welcome"
            ws.send("{not json")
            assert json.loads(ws.recv(5)) == {"type": "error", "reason": "not JSON"}
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(5)
            assert closed.value.rcvd.code == CloseCode.INVALID_DATA
        with sync_connect(server.url) as ws:
            ws.send(json.dumps(hello | {"token": "nope"}))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(5)
            assert closed.value.rcvd.code == CloseCode.POLICY_VIOLATION
            assert closed.value.rcvd.reason == "bad token"
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--format", "no-such-format", "'no-such-format' is not one of"),
        ("--server", "http://127.0.0.1:1/uplink", "scheme isn't ws or wss"),
        ("--port", "nope://x", "protocol 'nope' not known"),
        ("--timezone", "Mars/Olympus", "No time zone found with key Mars/Olympus"),
    ],
)
def test_agent_command_reports_configuration_errors(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    from web.cli import main

    args = {
        "--reader": "FIN", "--port": "/dev/null", "--format": "retrotime-csv",
        "--server": "ws://127.0.0.1:1/uplink", "--token": TOKEN,
        "--journal": str(tmp_path / "agent.db"), "--timezone": "Europe/London",
    }  # fmt: skip
    args[option] = value
    result = CliRunner().invoke(main, ["agent", *(x for pair in args.items() for x in pair)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


# -- end to end: a subprocess agent killed with SIGKILL -------------------------------------


class Writer(threading.Thread):
    """Writes retrotime-csv lines to the pty master at a steady rate; can pause."""

    def __init__(self, pty: Pty, total: int, rate: float, bad: set[int]) -> None:
        super().__init__(daemon=True)
        self.pty, self.total, self.rate, self.bad = pty, total, rate, bad
        self.written = 0
        self._go = threading.Event()
        self._go.set()
        self._paused = threading.Event()

    def line(self, i: int) -> str:
        return f"FIN,garbage line {i}" if i in self.bad else csv_line(i)

    def run(self) -> None:
        for i in range(self.total):
            if not self._go.is_set():
                self._paused.set()
                self._go.wait(60)
            self.pty.write(self.line(i).encode() + b"\r\n")  # blocks if the pty is full
            self.written = i + 1
            time.sleep(1 / self.rate)

    def pause(self) -> None:
        """Stop at a line boundary (so a kill cannot land inside a line)."""
        self._go.clear()
        assert self._paused.wait(10)

    def resume(self) -> None:
        self._paused.clear()
        self._go.set()


def start_agent(tmp: Path, pty: Pty, url: str, n: int) -> subprocess.Popen[bytes]:
    cmd = agent_cli(pty.name, "retrotime-csv", url, tmp / "agent.db")
    log = open(tmp / f"agent-{n}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def test_end_to_end_kill_9_mid_stream_loses_and_doubles_nothing(tmp_path: Path) -> None:
    total, bad = 500, {77, 333}
    server = UplinkServer(tmp_path / "server.db", {"FIN": TOKEN}).start()
    journal = tmp_path / "agent.db"
    procs: list[subprocess.Popen[bytes]] = []
    with open_pty() as pty:
        writer = Writer(pty, total, rate=120, bad=bad)
        try:
            procs.append(start_agent(tmp_path, pty, server.url, 0))
            writer.start()
            for n, (at, hold) in enumerate([(120, False), (300, True)], start=1):
                wait_until(lambda at=at: writer.written >= at, timeout=30)
                if hold:  # the second kill lands with sent, stored, unacked entries
                    server.hold_acks = True
                    mark = writer.written
                    wait_until(lambda mark=mark: writer.written >= mark + 10, timeout=10)
                writer.pause()
                wait_until(lambda: len(journal_rows(journal)) == writer.written, timeout=20)
                if hold:  # however slow the machine: a message stored, its ack held back
                    wait_until(lambda: server.holding, timeout=20)
                procs[-1].send_signal(signal.SIGKILL)
                procs[-1].wait(10)
                server.hold_acks = False
                writer.resume()  # these lines wait in the pty until the agent is back
                time.sleep(0.7)
                procs.append(start_agent(tmp_path, pty, server.url, n))
            writer.join(60)
            assert writer.written == total
            wait_until(lambda: len(server.stored("FIN")) == total - len(bad), timeout=60)
            wait_until(lambda: len(server.stored("FIN", "quarantine")) == len(bad), timeout=20)
            procs[-1].send_signal(signal.SIGTERM)
            assert procs[-1].wait(15) == 0
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
            server.stop()
    reads = server.stored("FIN")
    assert [raw for *_, raw in reads] == [csv_line(i) for i in range(total) if i not in bad]
    seqs = sorted(seq for _, seq, _, _ in reads + server.stored("FIN", "quarantine"))
    assert seqs == list(range(1, total + 1))  # each line once, numbered without gaps
    assert len({jid for jid, *_ in reads}) == 1
    # The second kill came after the service stored entries it had not acked yet: the
    # restarted agent knew less than the service held, and sent none of them again.
    assert len(server.welcomes) >= 3
    assert any(held > acked for acked, held in server.welcomes)
    assert server.query("SELECT COUNT(*) FROM deliveries") == [(total,)]
    log = (tmp_path / "agent-2.log").read_text()
    assert "agent stopped" in log and "health:" in log
