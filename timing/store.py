"""Persistence: the append-only journal of raw reads, quarantined lines and director
actions, through SQLModel on an SQLite file (WAL) or PostgreSQL by URL.

Only inputs are stored; results are rebuilt from them (DESIGN.md, the invariant).
Raw reads arrive in bulk, so they are written with the driver's executemany in one
transaction (the ORM's add_all runs ~15k rows/s, executemany ~1M); the ORM serves the
small tables. One writer at a time: ids of raw reads are allocated under a write lock.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Column, UniqueConstraint, event, func, text
from sqlalchemy.engine import Engine as SAEngine
from sqlmodel import Field, Session, SQLModel, create_engine, select

from timing.engine import ReadRow


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


_QUARANTINE_COLUMNS = ("reader_id", "source", "seq", "raw_line", "reason", "received_ms")

# A read to journal: (reader, source, seq, antenna, chip, time ms, rssi, reader_seq,
# received ms, raw line).
JournalRow = tuple[str, str, int, int, str, int, float | None, int | None, int, str]
# A line that did not parse: (reader, source, seq, raw line, reason, received ms).
QuarantineRow = tuple[str, str, int, str, str, int]


def _quarantine_params(rows: Iterable[QuarantineRow]) -> list[QuarantineRow]:
    return [(r, src, seq, escape_raw(raw), why, at) for r, src, seq, raw, why, at in rows]


_READ_COLUMNS = (
    "id",
    "reader_id",
    "source",
    "seq",
    "antenna",
    "chip",
    "time_ms",
    "rssi",
    "reader_seq",
    "received_ms",
    "raw_line",
)


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

    # ---- raw reads -----------------------------------------------------------------

    def append_reads(
        self, rows: list[JournalRow], quarantined: Sequence[QuarantineRow] = ()
    ) -> tuple[list[ReadRow], bool]:
        """Journal reads; return them as the engine takes them, with their new ids.

        The second value is False when some rows were already stored (the same reader,
        source and sequence): the caller then rebuilds from the journal rather than
        trust the returned ids. `quarantined` lines are written in the same transaction,
        so a process killed at any point leaves both journals at the same line.
        """
        if not rows:
            self.quarantine(list(quarantined))
            return [], True
        with self.engine.begin() as conn:
            if quarantined:
                conn.exec_driver_sql(self._insert_quarantine, _quarantine_params(quarantined))
            if self.is_sqlite:
                conn.exec_driver_sql("SELECT 1")  # opens the transaction; the insert locks
            else:
                conn.exec_driver_sql("LOCK TABLE raw_reads IN SHARE ROW EXCLUSIVE MODE")
            first = (conn.execute(select(func.max(RawRead.id))).scalar() or 0) + 1
            params = [(first + i, *row[:-1], escape_raw(row[-1])) for i, row in enumerate(rows)]
            result = conn.exec_driver_sql(self._insert_reads, params)
            clean = result.rowcount == len(rows)
        engine_rows = [(p[0], p[1], p[5], p[4], p[6], p[7]) for p in params]
        return engine_rows, clean

    def iter_reads(self, batch: int = 50_000, after: int = 0) -> Iterator[list[ReadRow]]:
        """Every journalled read (with an id above `after`), in id order, as the engine
        takes them."""
        last = after
        with self.engine.connect() as conn:
            while True:
                rows = conn.execute(
                    text(
                        "SELECT id, reader_id, chip, antenna, time_ms, rssi FROM raw_reads "
                        "WHERE id > :last ORDER BY id LIMIT :n"
                    ),
                    {"last": last, "n": batch},
                ).all()
                if not rows:
                    return
                yield [tuple(r) for r in rows]  # type: ignore[misc]
                last = rows[-1][0]

    def last_seq(self, reader: str, source: str) -> int:
        """The highest sequence stored for one (reader, source), reads and quarantine alike.

        A lookup in the (reader, source, seq) unique index, not a scan of the journal."""
        with Session(self.engine) as session:
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
        with Session(self.engine) as session:
            seqs: list[int] = []
            for model in (RawRead, QuarantinedLine):
                seqs += session.exec(
                    select(model.seq).where(model.reader_id == reader, model.source == source)
                ).all()
        return seqs

    def last_read_id(self) -> int:
        with Session(self.engine) as session:
            return session.exec(select(func.max(RawRead.id))).one() or 0

    def count_reads(self) -> int:
        with Session(self.engine) as session:
            return session.exec(select(func.count()).select_from(RawRead)).one()

    def reads_of_chips(self, chips: Iterable[str]) -> list[RawRead]:
        with Session(self.engine) as session:
            query = select(RawRead).where(RawRead.chip.in_(list(chips))).order_by(RawRead.id)
            return _unescaped(list(session.exec(query)))

    # ---- quarantine ----------------------------------------------------------------

    def quarantine(self, rows: list[QuarantineRow]) -> None:
        """Lines that did not parse: (reader, source, seq, raw line, reason, received ms)."""
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self._insert_quarantine, _quarantine_params(rows))

    def quarantined(self) -> list[QuarantinedLine]:
        with Session(self.engine) as session:
            return _unescaped(
                list(session.exec(select(QuarantinedLine).order_by(QuarantinedLine.id)))
            )

    def count_quarantined(self) -> int:
        with Session(self.engine) as session:
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
        with Session(self.engine) as session:
            session.add(action)
            session.commit()
            session.refresh(action)
        return action

    def actions(self, after: int = 0) -> list[DirectorAction]:
        with Session(self.engine) as session:
            query = select(DirectorAction).where(DirectorAction.id > after)
            return list(session.exec(query.order_by(DirectorAction.id)))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
