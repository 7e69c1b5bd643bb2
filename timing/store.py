"""Persistence: the append-only journal of raw reads, quarantined lines and director
actions, through SQLModel on an SQLite file (WAL) or PostgreSQL by URL.

Only inputs are stored; results are rebuilt from them. Raw reads arrive in bulk, so
they are written with the driver's executemany in one transaction (the ORM's add_all
runs ~15k rows/s, executemany ~1M); the ORM serves the small tables. One writer at a
time: ids of raw reads are allocated under a write lock.

A storage fault (a full disk, a read-only folder, a journal locked by another program)
raises `StorageError`, whose message says what failed, where, and what to do; every
transaction committed before it is kept, so the same command run again resumes.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import BigInteger, Column, UniqueConstraint, event, func, text
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Field, Session, SQLModel, create_engine, select

from timing.reads import JournalRow, ReadRow, read_rows
from timing.store_faults import StorageError as StorageError
from timing.store_faults import storage_fault


class RawRead(SQLModel, table=True):
    __tablename__ = "raw_reads"
    __table_args__ = (UniqueConstraint("reader_id", "source", "seq", name="raw_reads_origin"),)
    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    reader_id: str
    source: str  # "log:<file name>" for a replayed log, "agent" for the live uplink
    seq: int = Field(sa_type=BigInteger)  # line number in the log, or the agent's sequence
    antenna: int
    chip: str
    time_ms: int = Field(sa_type=BigInteger)  # the reader's clock, uncorrected
    rssi: float | None = None
    reader_seq: int | None = Field(default=None, sa_type=BigInteger)
    received_ms: int = Field(sa_type=BigInteger)
    raw_line: str


class QuarantinedLine(SQLModel, table=True):
    __tablename__ = "quarantined_lines"
    __table_args__ = (UniqueConstraint("reader_id", "source", "seq", name="quarantine_origin"),)
    id: int | None = Field(default=None, primary_key=True)
    reader_id: str
    source: str
    seq: int = Field(sa_type=BigInteger)
    raw_line: str
    reason: str
    received_ms: int = Field(sa_type=BigInteger)


class DirectorAction(SQLModel, table=True):
    """Every decision a director makes, with who, when and why: the audit log."""

    __tablename__ = "director_actions"
    id: int | None = Field(default=None, primary_key=True)
    at_ms: int = Field(sa_type=BigInteger)
    who: str
    kind: str  # gun, status, manual_passing, assign_chip, flag, record, lap, partial
    target: str  # a bib, a race/wave, a chip
    payload: str  # JSON
    reason: str = ""


class QuarantineRow(NamedTuple):
    """A line that did not parse, with why, to journal beside the reads."""

    reader: str
    source: str
    seq: int
    raw_line: str
    reason: str
    received_ms: int


_QUARANTINE_COLUMNS = ("reader_id", "source", "seq", "raw_line", "reason", "received_ms")
# raw_reads columns by the names of the rows (a row's `reader` is the table's reader_id):
# the id, then a JournalRow's fields in order; what the engine takes, a ReadRow's.
_READ_COLUMNS = ("id", "reader_id", *JournalRow._fields[1:])
_ENGINE_COLUMNS = ("id", "reader_id", *ReadRow._fields[2:])


def escape_raw(raw: str) -> str:
    """Raw lines as stored: PostgreSQL text cannot hold NUL, which line noise can send,
    so NUL is written `\\0` and a backslash `\\\\`; `unescape_raw` gives the line back
    exactly, on every backend alike."""
    if "\\" in raw or "\x00" in raw:
        return raw.replace("\\", "\\\\").replace("\x00", "\\0")
    return raw


def unescape_raw(stored: str) -> str:
    if "\\" not in stored:
        return stored
    return re.sub(r"\\(\\|0)", lambda m: "\\" if m.group(1) == "\\" else "\x00", stored)


_Raw = TypeVar("_Raw", RawRead, QuarantinedLine)


def _unescaped(rows: list[_Raw]) -> list[_Raw]:
    for row in rows:
        row.raw_line = unescape_raw(row.raw_line)
    return rows


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: SAEngine = create_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        with self.faults("open the journal"):
            SQLModel.metadata.create_all(self.engine)
        self._insert_reads = self._insert_sql("raw_reads", _READ_COLUMNS)
        self._insert_quarantine = self._insert_sql("quarantined_lines", _QUARANTINE_COLUMNS)

    def _insert_sql(self, table: str, columns: tuple[str, ...]) -> str:
        """An executemany INSERT that skips rows already stored (same origin), on both
        SQLite and PostgreSQL, in the driver's own parameter style."""
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))}) ON CONFLICT DO NOTHING"
        )

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self, doing: str = "read the journal") -> Iterator[Session]:
        with self.faults(doing), Session(self.engine) as session:
            yield session

    def faults(self, doing: str) -> _Faults:
        """Turn the driver's storage errors met while `doing` into a `StorageError`."""
        return _Faults(self, doing)

    def check_writable(self) -> None:
        """Raise `StorageError` now, not at the first read, if the journal cannot be
        written: a write that is rolled back."""
        with self.faults("write the journal"), self.engine.connect() as conn:
            conn.exec_driver_sql(
                "INSERT INTO director_actions (at_ms, who, kind, target, payload, reason) "
                "VALUES (0, '', 'probe', '', '{}', '')"
            )
            conn.rollback()

    # ---- raw reads -----------------------------------------------------------------

    def append_reads(
        self,
        rows: list[JournalRow],
        quarantine: list[QuarantineRow] | None = None,
    ) -> tuple[list[ReadRow], bool]:
        """Journal reads (and the lines quarantined beside them, in the same transaction,
        so a fault keeps both or neither); return the reads as the engine takes them,
        with their new ids.

        The second value is False when some rows were already stored (the same reader,
        source and sequence): the caller then rebuilds from the journal rather than
        trust the returned ids.
        """
        if not rows and not quarantine:
            return [], True
        with self.faults("journal reads"), self.engine.begin() as conn:
            if quarantine:
                conn.exec_driver_sql(self._insert_quarantine, _quarantine_params(quarantine))
            if not rows:
                return [], True
            if self.is_sqlite:
                conn.exec_driver_sql("SELECT 1")  # opens the transaction; the insert locks
            else:
                conn.exec_driver_sql("LOCK TABLE raw_reads IN SHARE ROW EXCLUSIVE MODE")
            first = (conn.execute(select(func.max(RawRead.id))).scalar() or 0) + 1
            params = [  # by position: rows come in bulk (timing/reads.py); raw_line is last
                (first + i, *r[:-1], escape_raw(r[-1])) for i, r in enumerate(rows)
            ]
            result = conn.exec_driver_sql(self._insert_reads, params)
            clean = result.rowcount == len(rows)
        stored = read_rows(p[:6] for p in params)  # the id, then a read's first five fields
        return stored, clean

    def iter_reads(self, batch: int = 50_000, after: int = 0) -> Iterator[list[ReadRow]]:
        """Every journalled read (with an id above `after`), in id order, as the engine
        takes them."""
        last = after
        with self.faults("read the journal"), self.engine.connect() as conn:
            while True:
                rows = conn.execute(
                    text(
                        f"SELECT {', '.join(_ENGINE_COLUMNS)} FROM raw_reads "
                        "WHERE id > :last ORDER BY id LIMIT :n"
                    ),
                    {"last": last, "n": batch},
                ).all()
                if not rows:
                    return
                yield read_rows(rows)
                last = rows[-1].id

    def last_seq(self, reader: str, source: str) -> int:
        """The highest sequence stored for one (reader, source), reads and quarantine alike.

        A lookup in the (reader, source, seq) unique index, not a scan of the journal."""
        with self._session() as session:
            return max(
                session.exec(
                    select(func.max(model.seq)).where(
                        model.reader_id == reader, model.source == source
                    )
                ).one()
                or 0
                for model in (RawRead, QuarantinedLine)
            )

    def seqs_of(self, reader: str, source: str) -> list[int]:
        """Every sequence stored for one stream, reads and quarantined lines alike."""
        with self._session() as session:
            seqs: list[int] = []
            for model in (RawRead, QuarantinedLine):
                seqs += session.exec(
                    select(model.seq).where(model.reader_id == reader, model.source == source)
                ).all()
        return seqs

    def last_read_id(self) -> int:
        with self._session() as session:
            return session.exec(select(func.max(RawRead.id))).one() or 0

    def count_reads(self) -> int:
        with self._session() as session:
            return session.exec(select(func.count()).select_from(RawRead)).one()

    def reads_of_chips(self, chips: Iterable[str]) -> list[RawRead]:
        with self._session() as session:
            query = select(RawRead).where(RawRead.chip.in_(list(chips))).order_by(RawRead.id)
            return _unescaped(list(session.exec(query)))

    # ---- quarantine ----------------------------------------------------------------

    def quarantine(self, rows: list[QuarantineRow]) -> None:
        """Lines that did not parse: (reader, source, seq, raw line, reason, received ms)."""
        if not rows:
            return
        with self.faults("journal quarantined lines"), self.engine.begin() as conn:
            conn.exec_driver_sql(self._insert_quarantine, _quarantine_params(rows))

    def quarantined(self) -> list[QuarantinedLine]:
        with self._session() as session:
            return _unescaped(
                list(session.exec(select(QuarantinedLine).order_by(QuarantinedLine.id)))
            )

    def count_quarantined(self) -> int:
        with self._session() as session:
            return session.exec(select(func.count()).select_from(QuarantinedLine)).one()

    # ---- director actions ----------------------------------------------------------

    def record_action(
        self, who: str, kind: str, target: str, payload: dict[str, Any], reason: str = ""
    ) -> DirectorAction:
        action = DirectorAction(
            at_ms=now_ms(),
            who=who,
            kind=kind,
            target=target,
            payload=json.dumps(payload, sort_keys=True),
            reason=reason,
        )
        with self._session("journal a director action") as session:
            session.add(action)
            session.commit()
            session.refresh(action)
        return action

    def actions(self, after: int = 0) -> list[DirectorAction]:
        with self._session() as session:
            query = select(DirectorAction).where(DirectorAction.id > after)
            return list(session.exec(query.order_by(DirectorAction.id)))


def _quarantine_params(rows: list[QuarantineRow]) -> list[tuple]:
    return [(r, src, seq, escape_raw(raw), why, at) for r, src, seq, raw, why, at in rows]


class _Faults:
    """The context of `Store.faults`: a driver error about storage becomes one
    `StorageError` naming the journal; every other error passes unchanged."""

    def __init__(self, store: Store, doing: str) -> None:
        self.store, self.doing = store, doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, _tb: Any) -> None:
        if isinstance(exc, DBAPIError):
            fault = storage_fault(self.store.engine.url, self.doing, exc.orig)
            if fault is not None:
                raise fault from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
