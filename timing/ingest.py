"""Ingest: reads into the journal, then into the engine, for the live service and for
replay alike; and the engine built from the journal.

Whatever brings reads (an agent's numbered entries, a reader log's lines), `append`
journals them with the lines quarantined beside them in one transaction, and `feed`
hands the engine the stored batches in order. A batch some of whose reads were already
journalled under other ids (an agent that resent them under another journal, a log
replayed twice at once) cannot be trusted to add up: the engine is rebuilt from the
journal instead, under the same lock as the appends, so no batch is fed twice or lost
between the two.

The live writer commits agents' entries here, many messages to one transaction, in a
thread while the engine is scoring what was committed before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from timing.actions import replay_actions
from timing.engine import Engine
from timing.folder import EventFolder
from timing.reads import JournalRow, ReadRow, from_uplink, read_id
from timing.store import QuarantineRow, Store

log = logging.getLogger(__name__)


def build_engine(folder: EventFolder, store: Store, final: bool = False) -> Engine:
    """An engine holding every read and every director decision already journalled;
    `final`: the logs are complete, every race is closed (runners not in are DNF)."""
    engine = Engine(folder)
    for batch in store.iter_reads():
        engine.add_reads(batch)
    for skipped in replay_actions(engine, store.actions()):
        log.warning(
            "director action %s (%s %s) no longer applies, skipped: %s",
            skipped.id,
            skipped.kind,
            skipped.target,
            skipped.reason,
        )
    if final:
        engine.set_final()
    return engine


@dataclass
class Stream:
    """An agent's numbered stream (reader, journal id): what the journal holds of it."""

    held: int = 0  # entries 1..held are all stored
    above: set[int] = field(default_factory=set)  # stored entries past a gap

    def add(self, seqs: list[int]) -> None:
        self.above.update(s for s in seqs if s > self.held)
        while self.held + 1 in self.above:
            self.held += 1
            self.above.discard(self.held)

    def has(self, seq: int) -> bool:
        return seq <= self.held or seq in self.above


@dataclass(slots=True)
class Entries:
    """One uplink message: reads, or lines the agent quarantined."""

    reader: str
    journal_id: str
    entries: list[dict[str, Any]]
    quarantine: bool

    @property
    def source(self) -> str:
        return f"agent:{self.journal_id}"


@dataclass(slots=True)
class Committed:
    held: int  # the stream's entries 1..held are stored: the agent's ack
    fresh: int  # entries stored now (the rest were stored before)


class Ingest:
    def __init__(self, store: Store, follows: bool = True) -> None:
        self.store = store
        self.streams: dict[tuple[str, str], Stream] = {}
        self.lock = threading.Lock()
        self._waiting: list[list[ReadRow] | None] = []  # None: rebuild
        # Ids this process stored, which following the shared journal skips; replay
        # does not follow, and a set of millions of ids would be memory for nothing.
        self.follows = follows
        self.own_reads: set[int] = set()

    def stream(self, reader: str, journal_id: str) -> Stream:
        key = (reader, journal_id)
        if key not in self.streams:
            stream = Stream()
            stream.add(self.store.seqs_of(reader, f"agent:{journal_id}"))
            self.streams.setdefault(key, stream)
        return self.streams[key]

    def commit_each(self, batch: list[Entries]) -> list[Committed | BaseException]:
        """One transaction for the batch; if the journal refuses it, one per message, so
        the message it refuses fails alone (its uplink then looks for the bad entry)."""
        try:
            return list(self.commit(batch))
        except Exception as exc:
            if len(batch) == 1:
                return [exc]
        outcomes: list[Committed | BaseException] = []
        for message in batch:
            try:
                outcomes += self.commit([message])
            except Exception as exc:  # handed to that message's uplink, which reports it
                outcomes.append(exc)
        return outcomes

    def commit(self, batch: list[Entries]) -> list[Committed]:
        rows: list[JournalRow] = []
        quarantine: list[QuarantineRow] = []
        taken: set[tuple[str, str, int]] = set()
        fresh_counts = []
        for m in batch:
            stream = self.stream(m.reader, m.journal_id)
            fresh = [
                e for e in m.entries
                if not stream.has(e["seq"]) and (m.reader, m.source, e["seq"]) not in taken
            ]  # fmt: skip
            taken.update((m.reader, m.source, e["seq"]) for e in fresh)
            fresh_counts.append(len(fresh))
            if m.quarantine:
                quarantine += [
                    (m.reader, m.source, e["seq"], e["raw"], e["reason"], e["received_ms"])
                    for e in fresh
                ]
            else:
                rows += [from_uplink(m.reader, m.source, e) for e in fresh]
        self.append(rows, quarantine)
        for m in batch:
            self.streams[(m.reader, m.journal_id)].add([e["seq"] for e in m.entries])
        return [
            Committed(self.streams[(m.reader, m.journal_id)].held, fresh)
            for m, fresh in zip(batch, fresh_counts, strict=True)
        ]

    def append(self, rows: list[JournalRow], quarantine: list[QuarantineRow]) -> int:
        """Journal reads and the lines quarantined beside them in one transaction (a
        fault keeps both or neither) and queue the stored reads for `feed`. Returns how
        many reads were stored."""
        with self.lock:
            stored, clean = self.store.append_reads(rows, quarantine)
            if stored or not clean:
                self._waiting.append(stored if clean else None)
            if self.follows:
                self.own_reads.update(map(read_id, stored))
        return len(stored)

    def feed(
        self, engine: Engine, rebuild: Callable[[], Engine]
    ) -> tuple[Engine, list[list[ReadRow]]]:
        """Hand `engine` the batches stored since the last call, in order. Returns the
        engine to go on with and the batches handed to it: or, if a batch cannot be
        trusted, the engine `rebuild` made from the journal (which holds them all) and
        no batches."""
        with self.lock:
            batches, self._waiting = self._waiting, []
            if None in batches:
                return rebuild(), []
        taken = [b for b in batches if b is not None]
        for stored in taken:
            engine.add_reads(stored)
        return engine, taken

    def waiting(self) -> bool:
        return bool(self._waiting)

    def others(self, rows: list[ReadRow]) -> list[ReadRow]:
        """Of reads found in the journal, those another process stored."""
        with self.lock:
            return [r for r in rows if read_id(r) not in self.own_reads]

    def forget_below(self, last_id: int) -> None:
        with self.lock:
            self.own_reads = {i for i in self.own_reads if i > last_id}
