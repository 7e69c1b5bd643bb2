"""The agent under faults: a locked or full journal, lines no format or database can hold.

Real parts: a pseudo-terminal, a SQLite journal locked by another connection, a small
tmpfs filled to the last byte, the tests' uplink server over loopback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from readers.formats import Session, get_format
from readers.read import Read
from tests.readers.agent_helpers import TOKEN, agent_running, make_config, write_lines
from tests.readers.serial_helpers import CTX, csv_line, open_pty, wait_until
from tests.readers.uplink_server import UplinkServer

pytestmark = pytest.mark.timeout(120)


def assert_each_once_in_order(server: UplinkServer, lines: list[str]) -> None:
    stored = server.stored("FIN")
    assert [raw for *_, raw in stored] == lines
    assert [seq for _, seq, _, _ in stored] == list(range(1, len(lines) + 1))


def test_locked_journal_the_port_is_still_read_and_nothing_is_lost(tmp_path: Path) -> None:
    server = UplinkServer(tmp_path / "server.db", {"FIN": TOKEN}).start()
    with open_pty() as pty:
        config = make_config(tmp_path, pty, server.url)
        with agent_running(config) as (agent, errors):
            lines = write_lines(pty, range(20))
            wait_until(lambda: len(server.stored("FIN")) == 20)
            other = sqlite3.connect(config.journal_path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
            read_before = agent.source.stats.lines
            lines += write_lines(pty, range(20, 220))  # more than a pty holds unread
            wait_until(lambda: agent.source.stats.lines == read_before + 200)
            wait_until(lambda: agent.spool.failing is not None)
            assert "locked" in agent.spool.failing
            assert "journal: database is locked" in agent.health()["source_error"]
            assert len(server.stored("FIN")) == 20 and agent.source.is_alive()
            other.execute("ROLLBACK")  # the fault clears
            other.close()
            wait_until(lambda: len(server.stored("FIN")) == 220)
            assert agent.spool.failing is None
        assert errors == []
    server.stop()
    assert_each_once_in_order(server, lines)


@contextlib.contextmanager
def small_disk(path: Path, size: str = "4m") -> Iterator[Path]:
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_full_disk_the_port_is_still_read_and_nothing_is_lost(tmp_path: Path) -> None:
    server = UplinkServer(tmp_path / "server.db", {"FIN": TOKEN}).start()
    with small_disk(tmp_path / "disk") as disk, open_pty() as pty:
        config = make_config(tmp_path, pty, server.url)
        config = dataclasses.replace(config, journal_path=disk / "agent.db")
        with agent_running(config) as (agent, errors):
            lines = write_lines(pty, range(20))
            wait_until(lambda: len(server.stored("FIN")) == 20)
            filler = fill(disk)
            lines += write_lines(pty, range(20, 300))
            wait_until(lambda: agent.source.stats.lines == 300)
            wait_until(lambda: agent.spool.failing is not None)
            assert "full" in agent.spool.failing
            assert agent.source.is_alive()
            filler.unlink()  # space is freed
            wait_until(lambda: len(server.stored("FIN")) == 300, timeout=20)
        assert errors == []
    server.stop()
    assert_each_once_in_order(server, lines)


class Fragile(Session):
    """A format defect: one line makes it fail with something that is not a ParseError."""

    def feed(self, line: str) -> tuple[Read | None, bytes]:
        if "boom" in line:
            raise OverflowError("date value out of range")
        return super().feed(line)


def test_any_exception_from_a_line_is_quarantined_and_the_chunk_goes_on(tmp_path: Path) -> None:
    server = UplinkServer(tmp_path / "server.db", {"FIN": TOKEN}).start()
    with open_pty() as pty:
        config = make_config(tmp_path, pty, server.url)
        with agent_running(config) as (agent, errors):
            agent.source.session = Fragile(get_format("retrotime-csv"), CTX)
            huge = f"FIN,0580,{'9' * 25},2026-04-12T10:00:00.000+01:00,-50"
            chunk = [csv_line(0), "FIN,boom", csv_line(1), huge, csv_line(2)]
            pty.write("".join(line + "\n" for line in chunk).encode())  # one chunk
            wait_until(lambda: len(server.stored("FIN")) == 3)
            wait_until(lambda: len(server.stored("FIN", "quarantine")) == 2)
        assert errors == []
    server.stop()
    assert [raw for *_, raw in server.stored("FIN")] == [csv_line(i) for i in range(3)]
    reasons = dict(
        server.query("SELECT raw, reason FROM entries WHERE kind = 'quarantine' ORDER BY seq")
    )
    assert reasons["FIN,boom"] == (
        "the format failed on this line: OverflowError: date value out of range"
    )
    # Parsed by today's format, refused by the journal's bounds: quarantined either way.
    assert "antenna" in reasons[huge]
