"""The outbox: the writer's numbered leaderboard updates, kept in the journal database.

The journal is the record of truth for fan-out workers too: Redis only signals that an
update exists (and carries it, for speed). A worker that missed one, started late, or
lost Redis reads the outbox by sequence number. Snapshots (a whole board at one update)
are written every `SNAPSHOT_EVERY` updates and whenever the writer starts, so a worker
never replays more than that; updates older than `KEEP` behind the latest snapshot are
pruned (they are derived from the journal, which keeps every read).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import BigInteger, Index, Text, UniqueConstraint, text
from sqlalchemy.engine import Engine as SAEngine
from sqlmodel import Field, SQLModel

SNAPSHOT_EVERY = 200
KEEP = 2_000


class LiveUpdate(SQLModel, table=True):
    __tablename__ = "live_updates"
    __table_args__ = (
        UniqueConstraint("race", "seq", "kind", name="live_updates_number"),
        Index("live_updates_race_seq", "race", "seq"),
    )
    id: int | None = Field(default=None, primary_key=True)
    race: str
    seq: int = Field(sa_type=BigInteger)
    kind: str  # "update" or "snapshot"
    at_ms: int = Field(sa_type=BigInteger)
    body: str = Field(sa_type=Text)


@dataclass(frozen=True, slots=True)
class Entry:
    race: str
    seq: int
    kind: str
    at_ms: int
    body: str


def channel_for(database_url: str) -> str:
    """The Redis channel of one event's journal: workers of other events on the same
    Redis never hear it."""
    return "retrotime:" + hashlib.sha256(database_url.encode()).hexdigest()[:16] + ":live"


class Outbox:
    def __init__(self, engine: SAEngine) -> None:
        self.engine = engine
        LiveUpdate.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._insert = (
            "INSERT INTO live_updates (race, seq, kind, at_ms, body) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}) ON CONFLICT DO NOTHING"
        )

    def write(self, entries: list[Entry]) -> None:
        if not entries:
            return
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                self._insert, [(e.race, e.seq, e.kind, e.at_ms, e.body) for e in entries]
            )

    def last_seqs(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT race, MAX(seq) FROM live_updates GROUP BY race"))
            return {race: int(seq) for race, seq in rows}

    def since(self, race: str, seq: int) -> list[Entry]:
        """Updates and snapshots numbered above `seq`, in order (an update before the
        snapshot of the same number)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT race, seq, kind, at_ms, body FROM live_updates "
                    "WHERE race = :race AND seq > :seq ORDER BY seq, kind DESC"
                ),
                {"race": race, "seq": seq},
            )
            return [Entry(*row) for row in rows]

    def latest_snapshot(self, race: str) -> Entry | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT race, seq, kind, at_ms, body FROM live_updates WHERE race = :race "
                    "AND kind = 'snapshot' ORDER BY seq DESC LIMIT 1"
                ),
                {"race": race},
            ).first()
        return Entry(*row) if row else None

    def prune(self, race: str, snapshot_seq: int) -> None:
        """Drop what a worker can no longer need: updates `KEEP` behind the snapshot at
        `snapshot_seq`, and the snapshots before it."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "DELETE FROM live_updates WHERE race = :race AND ((kind = 'update' AND "
                    "seq < :low) OR (kind = 'snapshot' AND seq < :seq))"
                ),
                {"race": race, "low": snapshot_seq - KEEP, "seq": snapshot_seq},
            )
