"""The reader agent's local journal: every line a reader sent, numbered, on disk first.

One SQLite file may hold several readers. Each entry is a read or a quarantined line
of one reader, numbered 1, 2, 3... per reader (`seq`); numbers are assigned under
SQLite's write lock, so they are dense and survive restarts. The journal also keeps,
per reader, the highest `seq` the service acknowledged, and a `journal_id` created
once per file: the service keys entries by (reader, journal_id, seq), so a replaced
or wiped journal starts a new stream instead of colliding with the old numbers.

Durability: WAL with `synchronous=FULL`. Any committed transaction survives the
agent being killed (that needs only WAL); FULL also fsyncs the WAL on each commit,
so it survives the power cut that a box at a remote split on a battery will see.
It costs one fsync per commit (~0.2 ms on an SSD here); the source commits once per
chunk read from the port, not once per line, which keeps slow SD cards in step.
Entries are never pruned: a race day is a few hundred thousand rows.

Each reader's resume position (`positions`: what its reader session needs to ask the
device only for what is missing after a restart, e.g. a RACE RESULT file and passing
number) is written in the same transaction as the entries it accounts for, so the
two never disagree, whatever moment the agent is killed at.

Use one `Journal` per thread: the source thread appends, the uplink reads and acks.
A failed append (disk full, journal locked by another program) leaves nothing behind
and raises `JournalError`; the caller keeps the entries and tries again.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from pathlib import Path
from typing import Any

from readers.read import Read, ReaderError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
    reader      TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,  -- agent clock when the line was read
    raw         TEXT    NOT NULL,  -- the line as received, latin-1, no terminator
    chip        TEXT,
    antenna     INTEGER,
    time_ms     INTEGER,           -- reader clock, as parsed
    rssi        REAL,
    reader_seq  INTEGER,
    reason      TEXT,              -- NULL for a read, the parse error for quarantine
    PRIMARY KEY (reader, seq),
    CHECK ((reason IS NULL) = (chip IS NOT NULL))
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_received ON entries (reader, received_ms);
CREATE TABLE IF NOT EXISTS acked (reader TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
"""
# Newer than the first journals: created on every open, so an older journal gains it.
_POSITIONS = """CREATE TABLE IF NOT EXISTS positions (
    reader TEXT PRIMARY KEY, value TEXT NOT NULL  -- JSON, the session's checkpoint()
) WITHOUT ROWID"""


class JournalError(ReaderError):
    """The journal cannot take entries now (disk full, locked, I/O error)."""


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A line to journal: a read, or (read None) a quarantined line with its reason."""

    raw: str
    received_ms: int
    read: Read | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One journalled line: a read (`reason` is None) or a quarantined line."""

    seq: int
    received_ms: int
    raw: str
    chip: str | None = None
    antenna: int | None = None
    time_ms: int | None = None
    rssi: float | None = None
    reader_seq: int | None = None
    reason: str | None = None

    @classmethod
    def of(cls, seq: int, new: NewEntry) -> Entry:
        """`new` journalled as entry `seq`: its read's fields by name, or its reason."""
        r = new.read
        if r is None:
            return cls(seq, new.received_ms, new.raw, reason=new.reason)
        return cls(
            seq, new.received_ms, new.raw, chip=r.chip, antenna=r.antenna, time_ms=r.time_ms,
            rssi=r.rssi, reader_seq=r.reader_seq,
        )  # fmt: skip

    @property
    def is_read(self) -> bool:
        return self.reason is None

    def wire(self) -> dict[str, Any]:
        """The entry as the uplink sends it (docs/uplink.md: `reads` and `quarantine`)."""
        if self.reason is not None:
            return {"seq": self.seq, "raw": self.raw, "reason": self.reason,
                    "received_ms": self.received_ms}  # fmt: skip
        return {
            "seq": self.seq, "chip": self.chip, "antenna": self.antenna,
            "time_ms": self.time_ms, "rssi": self.rssi, "reader_seq": self.reader_seq,
            "raw": self.raw, "received_ms": self.received_ms,
        }  # fmt: skip


# The entries table's columns bear the names of Entry's fields, in the same order.
_FIELDS = tuple(f.name for f in fields(Entry))
_COLUMNS = ", ".join(_FIELDS)
_values = attrgetter(*_FIELDS)


class Journal:
    def __init__(self, path: str | Path, reader: str, busy_timeout_s: float = 10.0) -> None:
        self.reader = reader
        self._db = sqlite3.connect(
            str(path),
            timeout=busy_timeout_s,
            isolation_level=None,  # explicit BEGIN/COMMIT: we choose the transaction bounds
            check_same_thread=False,  # built in one thread, then used by one other
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        row = self._journal_id()
        if row is None:  # a new file: create it (idempotent if another agent races us)
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('journal_id', ?), ('schema', '1')",
                (uuid.uuid4().hex,),
            )
            row = self._journal_id()
        assert row is not None
        self.journal_id: str = row[0]
        self._db.execute(_POSITIONS)

    def _journal_id(self) -> tuple[str] | None:
        try:
            return self._db.execute("SELECT value FROM meta WHERE key = 'journal_id'").fetchone()
        except sqlite3.OperationalError:  # no meta table yet
            return None

    # -- appending (source thread) -----------------------------------------------------

    def append(self, entries: Sequence[NewEntry], position: dict | None = None) -> list[int]:
        """Journal `entries` and the reader's resume `position` in one transaction.

        Returns their seqs. All or nothing: on any failure the transaction is rolled
        back and `JournalError` says why.
        """
        try:
            # IMMEDIATE takes the write lock now, so MAX(seq) cannot move under us.
            self._db.execute("BEGIN IMMEDIATE")
            first = self.last_seq() + 1
            journalled = [Entry.of(first + i, e) for i, e in enumerate(entries)]
            self._db.executemany(
                f"INSERT INTO entries (reader, {_COLUMNS}) VALUES (?{', ?' * len(_FIELDS)})",
                [(self.reader, *_values(e)) for e in journalled],
            )
            if position is not None:
                self._db.execute(
                    "INSERT INTO positions (reader, value) VALUES (?, ?)"
                    " ON CONFLICT (reader) DO UPDATE SET value = excluded.value",
                    (self.reader, json.dumps(position, separators=(",", ":"))),
                )
            self._db.execute("COMMIT")
        except (sqlite3.Error, OverflowError) as exc:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back itself
                self._db.execute("ROLLBACK")
            raise JournalError(str(exc)) from exc
        return [e.seq for e in journalled]

    def position(self) -> dict | None:
        """The resume position last stored with this reader's entries."""
        row = self._db.execute(
            "SELECT value FROM positions WHERE reader = ?", (self.reader,)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    # -- reading and acks (uplink) -----------------------------------------------------

    def last_seq(self) -> int:
        row = self._db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM entries WHERE reader = ?", (self.reader,)
        ).fetchone()
        return int(row[0])

    def pending(self, after: int, limit: int) -> list[Entry]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM entries WHERE reader = ? AND seq > ? ORDER BY seq LIMIT ?",
            (self.reader, after, limit),
        ).fetchall()
        return [Entry(*row) for row in rows]

    def acked(self) -> int:
        row = self._db.execute("SELECT seq FROM acked WHERE reader = ?", (self.reader,)).fetchone()
        return int(row[0]) if row else 0

    def set_acked(self, seq: int) -> None:
        self._db.execute(
            "INSERT INTO acked (reader, seq) VALUES (?, ?)"
            " ON CONFLICT (reader) DO UPDATE SET seq = excluded.seq",
            (self.reader, seq),
        )

    def counts(self, since_ms: int) -> dict[str, int | None]:
        """Figures for health: quarantined (ever), reads and min(received - time) since."""
        q, last_ms = self._db.execute(
            "SELECT COUNT(reason), MAX(CASE WHEN reason IS NULL THEN received_ms END)"
            " FROM entries WHERE reader = ?",
            (self.reader,),
        ).fetchone()
        n, lag = self._db.execute(
            "SELECT COUNT(*), MIN(received_ms - time_ms) FROM entries"
            " WHERE reader = ? AND received_ms >= ? AND reason IS NULL",
            (self.reader, since_ms),
        ).fetchone()
        return {"quarantined": q, "last_read_ms": last_ms, "recent_reads": n, "min_lag_ms": lag}

    def close(self) -> None:
        self._db.close()
