"""A reference uplink server for tests: the service side of docs/uplink.md.

A real `websockets` asyncio server on 127.0.0.1 in its own thread, storing into a real
SQLite file, idempotent by (reader, journal_id, seq), around the same sans-I/O
`ServerProtocol` as the service (web/uplink.py). Small on purpose, with knobs to
misbehave:

- `ack_delay_s`: wait before each ack (builds a backlog of sent, unacked entries);
- `fail_acks`: for the next N data messages, store the entries then close with 1011
  instead of acking (a crash between storing and acknowledging);
- `clock_offset_ms`: added to the server's clock in welcome and acks;
- `hold_acks`: while true, the server stores a message but does not ack it (nor read on);
- `forget`: the welcome says seq 0, as a service restored from an old backup would.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from readers.uplink_messages import (
    HELLO_TIMEOUT_S,
    Close,
    Error,
    GoingAway,
    Health,
    Hello,
    Message,
    Quarantine,
    Reads,
    Refused,
    UplinkError,
    split_storable,
)
from readers.uplink_protocol import Connections, ServerProtocol, error_frame

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    reader TEXT NOT NULL, journal_id TEXT NOT NULL, seq INTEGER NOT NULL,
    kind TEXT NOT NULL, chip TEXT, antenna INTEGER, time_ms INTEGER, rssi REAL,
    reader_seq INTEGER, raw TEXT NOT NULL, reason TEXT, received_ms INTEGER NOT NULL,
    PRIMARY KEY (reader, journal_id, seq)
);
CREATE TABLE IF NOT EXISTS deliveries (reader TEXT, journal_id TEXT, seq INTEGER);
CREATE TABLE IF NOT EXISTS health (reader TEXT, journal_id TEXT, body TEXT);
"""


class UplinkServer:
    def __init__(
        self,
        db_path: str | Path,
        tokens: dict[str, str],
        port: int = 0,
        ack_delay_s: float = 0.0,
        clock_offset_ms: int = 0,
    ) -> None:
        self.db_path = str(db_path)
        self.tokens = dict(tokens)
        self.port = port
        self.ack_delay_s = ack_delay_s
        self.clock_offset_ms = clock_offset_ms
        self.fail_acks = 0
        self.hold_acks = False
        self.holding = False
        self.forget = False
        self.hellos: list[dict[str, Any]] = []
        self.welcomes: list[tuple[int, int]] = []
        self.connections: Connections[ServerConnection] = Connections()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        db = sqlite3.connect(self.db_path)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_SCHEMA)
        db.close()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/uplink"

    # -- lifecycle (test thread) --------------------------------------------------------

    def start(self) -> UplinkServer:
        ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(ready),), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("uplink server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)
            assert not self._thread.is_alive(), "uplink server did not stop"
        self._thread = None

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._db = sqlite3.connect(self.db_path, isolation_level=None)
        async with serve(self._handler, "127.0.0.1", self.port, close_timeout=1) as server:
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            await self._stop.wait()
        self._db.close()

    # -- queries (any thread, own connection) -------------------------------------------

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(self.db_path, timeout=10)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def stored(self, reader: str, kind: str = "read") -> list[tuple[Any, ...]]:
        """(journal_id, seq, chip, raw) of every stored entry of `kind`, in order."""
        return self.query(
            "SELECT journal_id, seq, chip, raw FROM entries WHERE reader = ? AND kind = ?"
            " ORDER BY journal_id, seq",
            reader,
            kind,
        )

    # -- the protocol ---------------------------------------------------------------------

    def _now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.clock_offset_ms

    async def _handler(self, ws: ServerConnection) -> None:
        proto = ServerProtocol()
        try:
            try:
                hello = proto.receive(await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT_S))
            except TimeoutError:
                raise GoingAway("no hello") from None
            assert isinstance(hello, Hello)
            if self.tokens.get(hello.reader) != hello.token:
                raise Refused("bad token")
        except UplinkError as exc:
            await _close(ws, exc)
            return
        except ConnectionClosed:
            return
        self.hellos.append(hello)
        stream = (hello.reader, hello.journal_id)
        older = self.connections.claim(stream, ws)
        if older is not None:  # one connection per stream: the newest wins
            await older.close(Close.GOING_AWAY, "replaced by a new connection")
        try:
            await self._serve(ws, proto, hello)
        except UplinkError as exc:
            await _close(ws, exc)
        except ConnectionClosed:
            return
        finally:
            self.connections.release(stream, ws)

    async def _serve(self, ws: ServerConnection, proto: ServerProtocol, hello: Hello) -> None:
        reader, journal_id = hello.reader, hello.journal_id
        held = 0 if self.forget else self._held(reader, journal_id)
        self.welcomes.append((hello.acked_seq, held))  # what the agent knew, what we hold
        await ws.send(proto.welcome(held, self._now_ms()))
        async for data in ws:
            msg = proto.receive(data)
            if isinstance(msg, Error):
                continue
            held = self._store(reader, journal_id, msg, held)
            if not isinstance(msg, Health) and self.fail_acks > 0:
                self.fail_acks -= 1
                await ws.close(Close.INTERNAL_ERROR, "simulated failure before ack")
                return
            if self.ack_delay_s:
                await asyncio.sleep(self.ack_delay_s)
            while self.hold_acks:
                self.holding = True  # a message stored, its ack held back
                await asyncio.sleep(0.02)
            self.holding = False
            await ws.send(proto.ack(held, self._now_ms()))

    def _held(self, reader: str, journal_id: str, start: int = 0) -> int:
        """The highest n such that seq 1..n are all stored."""
        seqs = self._db.execute(
            "SELECT seq FROM entries WHERE reader = ? AND journal_id = ? AND seq > ? ORDER BY seq",
            (reader, journal_id, start),
        ).fetchall()
        held = start
        for (seq,) in seqs:
            if seq != held + 1:
                break
            held = seq
        return held

    def _store(self, reader: str, journal_id: str, msg: Message, held: int) -> int:
        if isinstance(msg, Health):
            self._db.execute(
                "INSERT INTO health VALUES (?, ?, ?)", (reader, journal_id, json.dumps(msg.body))
            )
            return held
        if isinstance(msg, Reads):
            reads, lines = split_storable(msg.reads)
        else:
            assert isinstance(msg, Quarantine)
            reads, lines = [], msg.lines
        self._db.execute("BEGIN")
        for kind, items in (("read", reads), ("quarantine", lines)):
            for e in items:
                self._db.execute(
                    "INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (reader, journal_id, e["seq"], kind, e.get("chip"), e.get("antenna"),
                     e.get("time_ms"), e.get("rssi"), e.get("reader_seq"), e["raw"],
                     e.get("reason"), e["received_ms"]),
                )  # fmt: skip
                self._db.execute(
                    "INSERT INTO deliveries VALUES (?, ?, ?)", (reader, journal_id, e["seq"])
                )
        self._db.execute("COMMIT")
        return self._held(reader, journal_id, held)


async def _close(ws: ServerConnection, exc: UplinkError) -> None:
    try:
        frame = error_frame(exc)
        if frame is not None:
            await ws.send(frame)
        await ws.close(exc.code, exc.reason[:120])
    except ConnectionClosed:
        pass
