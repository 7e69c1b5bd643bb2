"""Sources: the line splitter, then real pseudo-terminals and a real loopback TCP server."""

from __future__ import annotations

import itertools
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readers.formats import Session, get_format
from readers.read import Read
from readers.sources import LineSplitter, PortSettings, SerialSource
from tests.readers.serial_helpers import CTX, Pty, csv_line, open_pty, wait_until

pytestmark = pytest.mark.timeout(60)

CSV = get_format("retrotime-csv")


# -- the line splitter ---------------------------------------------------------------------


def split_all(chunks: list[bytes], max_line: int = 4096) -> list[bytes]:
    splitter = LineSplitter(max_line)
    return [line for chunk in chunks for line in splitter.feed(chunk)]


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_each_terminator_ends_a_line(eol: bytes) -> None:
    assert split_all([b"a,1" + eol + b"b,2" + eol + b"c"]) == [b"a,1", b"b,2"]


def test_mixed_terminators_and_blank_lines() -> None:
    assert split_all([b"a\r\nb\rc\n\n\r\n  \r\nd\r\n"]) == [b"a", b"b", b"c", b"d"]


def test_line_split_across_chunks() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"FIN,0580,") == []
    assert splitter.pending() == b"FIN,0580,"
    assert splitter.feed(b"2,2026") == []
    assert splitter.feed(b"\nnext") == [b"FIN,0580,2,2026"]
    assert splitter.pending() == b"next"


def test_crlf_split_across_chunks_is_one_terminator() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"a\r") == [b"a"]  # a CR ends the line at once: no waiting
    assert splitter.feed(b"\nb\r") == [b"b"]  # the LF belongs to the CR before it
    assert splitter.feed(b"") == []
    assert splitter.feed(b"\n") == []
    assert splitter.feed(b"\nc\n") == [b"c"]


def test_overlong_line_is_cut_not_buffered_forever() -> None:
    splitter = LineSplitter(max_line=4)
    assert splitter.feed(b"0123456789") == [b"0123", b"4567"]
    assert splitter.pending() == b"89"
    assert splitter.feed(b"\n") == [b"89"]


def reference_lines(data: bytes, max_line: int) -> list[bytes]:
    """What the whole stream holds, split at once: the model the splitter must match."""
    *complete, _ = re.split(rb"\r\n|\r|\n", data)
    pieces = [line[i : i + max_line] for line in complete for i in range(0, len(line), max_line)]
    return [p for p in pieces if p.strip()]


@given(
    data=st.lists(st.sampled_from([b"a", b"7", b",", b" ", b"\r", b"\n", b"\xe9"])).map(b"".join),
    cuts=st.lists(st.integers(min_value=0, max_value=200)),
    max_line=st.sampled_from([3, 8, 4096]),
)
@settings(max_examples=400, deadline=None)
def test_any_chunking_gives_the_same_lines(data: bytes, cuts: list[int], max_line: int) -> None:
    bounds = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    assert split_all(chunks, max_line) == split_all([data], max_line)
    if len(data) == 0 or data[-1:] in b"\r\n":  # no unterminated tail left pending
        assert split_all(chunks, max_line) == reference_lines(data, max_line)


# -- pseudo-terminals ----------------------------------------------------------------------


class Collector:
    def __init__(self) -> None:
        self.reads: list[tuple[Read, str]] = []
        self.quarantined: list[tuple[str, str]] = []
        self.flushes = 0

    def on_read(self, read: Read, raw: str) -> None:
        self.reads.append((read, raw))

    def on_quarantine(self, reason: str, raw: str) -> None:
        self.quarantined.append((reason, raw))

    def on_flush(self) -> None:
        self.flushes += 1


@contextmanager
def running(source: SerialSource) -> Iterator[SerialSource]:
    source.start()
    try:
        yield source
    finally:
        t = time.monotonic()
        assert source.stop(timeout=5.0), "source did not stop"
        assert time.monotonic() - t < 5.0


def pty_source(pty: Pty, got: Collector, **kw: float | None) -> SerialSource:
    session = Session(CSV, CTX)
    return SerialSource(
        pty.name, session, got.on_read, got.on_quarantine, on_flush=got.on_flush, **kw
    )


def test_pty_reads_quarantines_and_goes_on() -> None:
    with open_pty() as pty:
        got = Collector()
        with running(pty_source(pty, got)) as source:
            wait_until(lambda: source.stats.connected)
            lines = [csv_line(i) for i in range(6)]
            pty.write(lines[0].encode() + b"\r\n" + lines[1].encode() + b"\n")
            pty.write(b"FIN,not-a-read\r\n")  # malformed: quarantined, reading goes on
            half = len(lines[2]) // 2
            pty.write(lines[2][:half].encode())  # a line split across writes
            time.sleep(0.1)
            pty.write(lines[2][half:].encode() + b"\r")
            time.sleep(0.1)
            pty.write(b"\n" + lines[3].encode() + b"\r" + lines[4].encode() + b"\r\n")
            pty.write(b"\xff\xfe garbage \x00\n" + lines[5].encode() + b"\n")
            wait_until(lambda: len(got.reads) == 6 and len(got.quarantined) == 2)
        assert [raw for _, raw in got.reads] == lines
        assert [r for r, _ in got.reads] == [CSV.parse(line, CTX) for line in lines]
        assert got.quarantined[0] == ("expected 5 comma-separated fields, got 2", "FIN,not-a-read")
        assert got.quarantined[1][1] == "\xff\xfe garbage \x00"  # latin-1: the exact bytes
        assert got.flushes >= 1
        stats = source.stats
        assert (stats.lines, stats.reads, stats.quarantined) == (8, 6, 2)
        assert stats.last_read_time is not None and abs(stats.last_read_time - time.time()) < 10
        assert stats.reconnects == 0


def test_pty_lines_written_before_open_are_not_flushed() -> None:
    # pyserial's open() flushes the tty input queue; the source opens without that flush.
    with open_pty() as pty:
        pty.write(csv_line(1).encode() + b"\n")
        got = Collector()
        with running(pty_source(pty, got)):
            wait_until(lambda: len(got.reads) == 1)


def test_pty_vanishing_is_a_disconnect_with_back_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="readers.sources")
    got = Collector()
    with open_pty() as pty:
        source = pty_source(pty, got, min_backoff=0.1, max_backoff=0.4)
        with running(source):
            wait_until(lambda: source.stats.connected)
            pty.write(csv_line(1).encode() + b"\n")
            wait_until(lambda: len(got.reads) == 1)
            os.close(pty.slave)
            os.close(pty.master)  # the device is gone: its /dev/pts node disappears
            wait_until(lambda: not source.stats.connected)
            time.sleep(1.5)
            attempts = [r for r in caplog.records if "open failed" in r.getMessage()]
            assert 1 <= len(attempts) <= 8  # back-off, not a busy loop
            assert source.stats.last_error
    assert any("connection lost" in r.getMessage() for r in caplog.records)


def test_quiet_port_is_reopened_to_check_it_is_there() -> None:
    with open_pty() as pty:
        got = Collector()
        with running(pty_source(pty, got, idle_reopen_s=0.3)) as source:
            time.sleep(1.0)  # a few quiet reopenings
            pty.write(csv_line(1).encode() + b"\n")
            wait_until(lambda: len(got.reads) == 1)
            assert source.stats.reconnects == 0  # a quiet reopen is not a disconnect


# -- a real loopback TCP reader --------------------------------------------------------------


class CommandSession(Session):
    """A reader protocol with commands: START on connect, PING every tick, ACK per read."""

    def connected(self) -> bytes:
        return b"START\r\n"

    def feed(self, line: str) -> tuple[Read | None, bytes]:
        read, _ = super().feed(line)
        return read, (b"ACK\r\n" if read is not None else b"")

    def tick(self, now_s: float) -> bytes:
        return b"PING\r\n"


class TcpReader:
    """A loopback TCP 'reader': per connection, runs `script(conn)` then drops the line."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[float] = []
        self.received: list[bytes] = []
        self.scripts: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TcpReader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted.append(time.monotonic())
            with conn:
                conn.settimeout(3.0)
                script = self.scripts.pop(0) if self.scripts else None
                if script is not None:
                    script(conn, self)

    def expect(self, conn: socket.socket, token: bytes) -> None:
        data = b""
        while token not in data:
            chunk = conn.recv(4096)
            assert chunk, f"connection closed before {token!r}"
            data += chunk
        self.received.append(data)


def test_tcp_handshake_replies_ticks_and_reconnect() -> None:
    def first(conn: socket.socket, srv: TcpReader) -> None:
        conn.sendall(csv_line(0).encode() + b"\r\n")  # sent on accept, before the handshake
        srv.expect(conn, b"START\r\n")
        conn.sendall((csv_line(1) + "\r\nbad line\r\n" + csv_line(2) + "\r\n").encode())
        srv.expect(conn, b"ACK\r\n")
        srv.expect(conn, b"PING\r\n")  # about once a second

    def second(conn: socket.socket, srv: TcpReader) -> None:
        srv.expect(conn, b"START\r\n")  # the handshake again on the new connection
        conn.sendall((csv_line(3) + "\n").encode())
        srv.expect(conn, b"ACK\r\n")
        time.sleep(0.5)

    with TcpReader() as srv:
        srv.scripts = [first, second]
        got = Collector()
        session = CommandSession(CSV, CTX)
        url = f"socket://127.0.0.1:{srv.port}"
        source = SerialSource(
            url, session, got.on_read, got.on_quarantine, min_backoff=0.3, max_backoff=1.0
        )
        with running(source):
            wait_until(lambda: len(got.reads) == 4, timeout=15)
            wait_until(lambda: source.stats.reconnects >= 1)
        assert [raw for _, raw in got.reads] == [csv_line(i) for i in range(4)]
        assert got.quarantined == [("expected 5 comma-separated fields, got 1", "bad line")]
        assert len(srv.accepted) >= 2
        gap = srv.accepted[1] - srv.accepted[0]
        assert gap >= 0.3  # waited min_backoff after the drop
        assert any(b"START" in data for data in srv.received[:1])


def test_tcp_accept_and_drop_backs_off_instead_of_busy_looping() -> None:
    with TcpReader() as srv:  # no scripts: every connection is closed at once
        got = Collector()
        url = f"socket://127.0.0.1:{srv.port}"
        source = SerialSource(
            url, Session(CSV, CTX), got.on_read, got.on_quarantine,
            min_backoff=0.1, max_backoff=0.4,
        )  # fmt: skip
        with running(source):
            time.sleep(2.0)
        # back-off 0.1, 0.2, 0.4, 0.4...: about 6 connections in 2 s, not thousands
        assert 2 <= len(srv.accepted) <= 10
        gaps = [b - a for a, b in itertools.pairwise(srv.accepted)]
        assert all(g >= 0.09 for g in gaps)


def test_stop_while_the_port_cannot_be_opened_is_prompt() -> None:
    got = Collector()
    source = SerialSource(
        "/dev/nonexistent-retrotime", Session(CSV, CTX), got.on_read, got.on_quarantine,
        min_backoff=5.0,
    )  # fmt: skip
    with running(source):
        time.sleep(0.3)
    assert source.stats.last_error and not source.stats.connected


def test_bad_url_scheme_or_setting_fails_at_construction() -> None:
    got = Collector()
    with pytest.raises(ValueError, match="protocol 'nope' not known"):
        SerialSource("nope://x", Session(CSV, CTX), got.on_read, got.on_quarantine)
    with pytest.raises(ValueError):
        SerialSource(
            "/dev/ttyUSB0", Session(CSV, CTX), got.on_read, got.on_quarantine,
            settings=PortSettings(parity="Q"),
        )  # fmt: skip


def test_silent_device_that_cannot_be_reopened_counts_as_gone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A reader that lost power sends no FIN: reads just come back empty. After
    # `idle_reopen_s` of silence the source reopens; a refused reopen means it is gone.
    caplog.set_level(logging.INFO, logger="readers.sources")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    got = Collector()
    url = f"socket://127.0.0.1:{port}"
    source = SerialSource(
        url, Session(CSV, CTX), got.on_read, got.on_quarantine,
        idle_reopen_s=0.5, min_backoff=0.2, max_backoff=0.4,
    )  # fmt: skip
    with running(source):
        listener.settimeout(5)
        silent, _ = listener.accept()  # kept open and silent: no FIN ever reaches the source
        listener.close()  # and the device is gone
        wait_until(lambda: source.stats.last_error is not None, timeout=5)
        assert not source.stats.connected
        listener = socket.create_server(("127.0.0.1", port))  # the reader is back
        listener.settimeout(5)
        conn, _ = listener.accept()
        conn.sendall((csv_line(1) + "\r\n").encode())
        wait_until(lambda: len(got.reads) == 1)
        assert source.stats.reconnects == 1
        conn.close()
    silent.close()
    listener.close()
    messages = [r.getMessage() for r in caplog.records]
    assert any("cannot open" in m for m in messages)
    assert any("reconnected after" in m for m in messages)
