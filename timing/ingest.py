"""Ingest: agents' numbered entries into the journal, once each, many messages to one
transaction, and what the engine must take next.

The live writer commits here (in a thread) while the engine is scoring what was
committed before; `take` then hands the engine the committed batches in order. A
batch some of whose reads were already journalled under other ids (an agent that
resent them under another journal) cannot be trusted to add up: the engine is rebuilt
from the journal instead, under the same lock as the commits, so no batch is taken
twice or lost between the two.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from timing.reads import JournalRow, ReadRow, from_uplink
from timing.store import QuarantineRow, Store


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
    def __init__(self, store: Store) -> None:
        self.store = store
        self.streams: dict[tuple[str, str], Stream] = {}
        self.lock = threading.Lock()
        self._waiting: list[list[ReadRow] | None] = []  # None: rebuild
        self.own_reads: set[int] = set()  # ids this process stored (follow() skips them)

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
        with self.lock:
            stored, clean = self.store.append_reads(rows, quarantine)
            if stored or not clean:
                self._waiting.append(stored if clean else None)
            self.own_reads.update(r.id for r in stored)
        for m in batch:
            self.streams[(m.reader, m.journal_id)].add([e["seq"] for e in m.entries])
        return [
            Committed(self.streams[(m.reader, m.journal_id)].held, fresh)
            for m, fresh in zip(batch, fresh_counts, strict=True)
        ]

    def take(self, rebuild: Callable[[], None]) -> list[list[ReadRow]]:
        """The batches committed since the last call, in order; or [] after calling
        `rebuild` (the journal then holds them all)."""
        with self.lock:
            batches, self._waiting = self._waiting, []
            if None in batches:
                rebuild()
                return []
        return [b for b in batches if b is not None]

    def waiting(self) -> bool:
        return bool(self._waiting)

    def others(self, rows: list[ReadRow]) -> list[ReadRow]:
        """Of reads found in the journal, those another process stored."""
        with self.lock:
            return [r for r in rows if r.id not in self.own_reads]

    def forget_below(self, read_id: int) -> None:
        with self.lock:
            self.own_reads = {i for i in self.own_reads if i > read_id}
