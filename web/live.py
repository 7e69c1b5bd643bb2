"""The live service's writer: one engine fed by agents and directors, and the numbered
leaderboard updates it publishes.

One writer: every change (reads, quarantine, director actions) is committed to the
journal, then applied to the engine, under `lock`. Uplink messages wait in an inbox; the
writer takes everything that arrived while it was busy in one transaction (group
commit), acknowledges each message once that transaction is committed, then scores
and publishes at once: the busier the uplinks, the bigger the batches, never a backlog.
Scoring runs in a thread, so the event loop keeps taking messages meanwhile.

Each race's updates are numbered (web/feeds.py) and written to the outbox
(web/outbox.py) before they are published, so a fan-out worker that missed one reads it
there; the numbers continue across restarts.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from timing.actions import check, take
from timing.engine import Engine, EventResults
from timing.folder import EventFolder
from timing.ingest import Entries, Ingest, Stream, build_engine
from timing.preview import Preview, compare, describe, is_wide
from timing.reads import read_id
from timing.review import vet
from timing.store import DirectorAction, Store, now_ms
from web.feeds import Feed, channel_name, parse_since
from web.leaderboard import Row, RowCache, event_rows, race_rows, tells_time
from web.outbox import SNAPSHOT_EVERY, Entry, Outbox
from web.trace import trace_for

__all__ = ["LiveService", "channel_name", "parse_since"]
log = logging.getLogger(__name__)
now_ns = time.time_ns


@dataclass
class ReaderHealth:
    reader: str
    connected: bool = False
    agent_version: str = ""
    last_message_ms: int | None = None
    health: dict[str, Any] = field(default_factory=dict)
    reads: int = 0
    quarantined: int = 0


@dataclass
class Outcome:
    """A director action's answer: applied, a preview only, or waiting for a confirm."""

    status: str  # "applied", "preview" or "needs confirmation"
    preview: Preview
    action_id: int | None = None


@dataclass(slots=True)
class Message:
    """An uplink message waiting for the writer, and its agent's ack."""

    entries: Entries
    done: asyncio.Future[int]


class LiveService:
    def __init__(
        self,
        folder: EventFolder,
        store: Store,
        publish: Callable[[str, str], None] | None = None,
        interval_s: float = 0.0,
        relay: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.folder = folder
        self.store = store
        self.publish = publish or (lambda channel, data: None)
        self.interval_s = interval_s  # the least time between two refreshes
        # Updates to other processes (fan-out workers), from the scoring thread.
        self.relay = relay or (lambda texts: None)
        self.trace = trace_for("writer")
        self.engine: Engine = build_engine(folder, store)
        self.outbox = Outbox(store.engine)
        self.lock = asyncio.Lock()
        self._inbox: list[Message] = []
        self._wake = asyncio.Event()  # a message waits in the inbox
        self._scorable = asyncio.Event()  # something to score
        self._dirty = False  # the engine changed since the last refresh (actions, follow)
        self.ingest = Ingest(store)
        self._row_cache: RowCache = {}  # rows rebuilt only for runners that changed
        self._ranked: dict[str, list[Any]] = {}  # each race's results its rows are of
        self.rows_sent: dict[str, list[Row]] = {}  # each race's rows its last update was of
        self.health = {rid: ReaderHealth(rid) for rid in folder.event.readers}
        self.crossings: deque[dict[str, Any]] = deque(maxlen=200)
        self.results: EventResults = self.engine.results()
        self.rows: dict[str, list[Row]] = event_rows(self.results, now_ms(), self._row_cache)
        self.version = 0  # moves on with every refresh: the director's console follows it
        # The console's latest quarantined lines, with the count they were read at.
        self.quarantine_view: tuple[int, list[dict[str, Any]]] | None = None
        # What this worker journalled itself, so following the shared journal skips it.
        self._own_actions: set[int] = set()
        self._followed_read = store.last_read_id()  # the engine holds them all
        self._followed_action = max((a.id or 0 for a in store.actions()), default=0)
        self._new_keys: set[tuple[str, Any]] = set()  # (chip, line) read since the last refresh
        # The numbers go on from the outbox: a restarted writer never reuses one and
        # starts from a snapshot, which fan-out workers take over what they held. A
        # first start is update 1 (every row), as a spectator at ?since=0 expects.
        last = self.outbox.last_seqs()
        self.feeds = {race.id: Feed(race.id) for race in folder.event.races}
        at = now_ms()
        for race_id, feed in self.feeds.items():
            if race_id in last:
                feed.reset(self.rows[race_id], last[race_id] + 1)
            else:
                feed.update(self.rows[race_id], None, at)
        self.outbox.write(
            [Entry(f.race, f.seq, "snapshot", at, f.snapshot(at)) for f in self.feeds.values()]
        )
        # Start-up's garbage (and, in one process, an earlier service's) collected once,
        # before the refreshes set what is left aside (see _score).
        gc.unfreeze()
        gc.collect()
        gc.freeze()

    def start_messages(self) -> list[str]:
        """The starting snapshots, for fan-out workers."""
        at = now_ms()
        return [f.snapshot(at) for f in self.feeds.values()]

    # ---- agents ----------------------------------------------------------------------

    async def stream(self, reader: str, journal_id: str) -> Stream:
        known = self.ingest.streams.get((reader, journal_id))
        if known is not None:  # every message but a stream's first: no thread hop
            return known
        return await asyncio.to_thread(self.ingest.stream, reader, journal_id)

    async def ingest_reads(
        self, reader: str, journal_id: str, entries: list[dict[str, Any]]
    ) -> int:
        """Store an agent's reads (once each) and feed them to the engine; return held."""
        return await self._enqueue(reader, journal_id, entries, quarantine=False)

    async def ingest_quarantine(
        self, reader: str, journal_id: str, lines: list[dict[str, Any]]
    ) -> int:
        return await self._enqueue(reader, journal_id, lines, quarantine=True)

    async def _enqueue(
        self, reader: str, journal_id: str, entries: list[dict[str, Any]], quarantine: bool
    ) -> int:
        await self.stream(reader, journal_id)
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._inbox.append(Message(Entries(reader, journal_id, entries, quarantine), done))
        self._wake.set()
        return await done

    async def run(self) -> None:
        """The writer, two stages that overlap: commits (then acks) go on while the
        reads committed before are being scored."""
        await asyncio.gather(self._commit_loop(), self._score_loop())

    async def _commit_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._inbox = self._inbox, []
            if not batch:
                continue
            outcomes = await asyncio.to_thread(self.ingest.commit_each, [m.entries for m in batch])
            for message, outcome in zip(batch, outcomes, strict=True):
                if not isinstance(outcome, BaseException):
                    self._note_committed(message.entries, outcome.fresh)
                if message.done.done():
                    continue  # the uplink went away meanwhile
                if isinstance(outcome, BaseException):
                    message.done.set_exception(outcome)
                else:
                    message.done.set_result(outcome.held)
            self._scorable.set()

    async def _score_loop(self) -> None:
        loop = asyncio.get_running_loop()
        ended, took = 0.0, 0.0
        while True:
            await self._scorable.wait()
            self._scorable.clear()
            if not self._dirty and not self.ingest.waiting():
                continue
            # At most every interval_s, and idle at least half as long as the last
            # refresh took: scoring never holds the GIL more than two thirds of the
            # time, so commits and acks keep flowing however big the field.
            wait = ended + max(self.interval_s, took / 2) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            started = loop.time()
            try:
                await self.refresh()
            except Exception:  # a bug in one refresh must not end live updates for good
                log.exception("refreshing results failed")
            ended = loop.time()
            took = ended - started

    def _note_committed(self, m: Entries, fresh: int) -> None:
        health = self.health[m.reader]
        if m.quarantine:
            health.quarantined += fresh
            self.version += 1  # the director's console lists them
            return
        health.reads += fresh
        if self.trace.on:  # per uplink message: build nothing when not tracing
            reads = [[e["chip"], e["time_ms"], e["received_ms"]] for e in m.entries]
            self.trace.event("stored", reader=m.reader, reads=reads)

    # ---- directors -------------------------------------------------------------------

    async def act(
        self,
        who: str,
        kind: str,
        target: str,
        payload: dict[str, Any],
        reason: str = "",
        confirm: bool = False,
        preview_only: bool = False,
    ) -> Outcome:
        """Check a director's decision, preview it on a fork of the engine, and (unless
        only a preview was asked, or a wide action is not yet confirmed) journal it and
        take the fork as the engine. A refusal (ActionError) leaves no trace."""
        async with self.lock:
            check(self.engine, kind, target, payload, reason)
            journal = await asyncio.to_thread(self.store.actions)
            at = now_ms()
            payload = vet(self.engine, kind, target, payload, reason, journal, at)
            fork = self.engine.fork()
            pending = DirectorAction(
                id=-1, at_ms=at, who=who, kind=kind, target=target, reason=reason,
                payload=json.dumps(payload, sort_keys=True),
            )  # fmt: skip
            self._take(fork, pending, journal)
            lead = describe(self.engine, kind, target, payload)
            preview = compare(self.engine, fork, lead)
            if preview_only:
                return Outcome("preview", preview)
            if is_wide(kind, payload) and not confirm:
                return Outcome("needs confirmation", preview)
            action = await asyncio.to_thread(
                self.store.record_action, who, kind, target, payload, reason
            )
            self.engine = fork
            self._own_actions.add(action.id or 0)
        await self.refresh()
        return Outcome("applied", preview, action.id)

    def _take(self, engine: Engine, action: DirectorAction, journal: list[DirectorAction]) -> None:
        for s in take(engine, action, journal):
            log.warning("director action %s (%s %s) skipped: %s", s.id, s.kind, s.target, s.reason)

    async def follow(self, interval_s: float = 1.0) -> None:
        """Take in what other workers stored in the shared journal (several workers on
        PostgreSQL); a lone worker finds only its own rows and skips them."""
        while True:
            await asyncio.sleep(interval_s)
            async with self.lock:
                batches = await asyncio.to_thread(
                    lambda: list(self.store.iter_reads(after=self._followed_read))
                )
                actions = await asyncio.to_thread(self.store.actions, self._followed_action)
                for batch in batches:
                    self._followed_read = read_id(batch[-1])
                    others = self.ingest.others(batch)
                    if others:
                        self.engine.add_reads(others)
                        self._dirty = True
                        self._scorable.set()
                self.ingest.forget_below(self._followed_read)
                journal = await asyncio.to_thread(self.store.actions) if actions else []
                for action in actions:
                    self._followed_action = action.id or 0
                    if action.id not in self._own_actions:
                        before = [a for a in journal if (a.id or 0) < (action.id or 0)]
                        self._take(self.engine, action, before)
                        self._dirty = True
                        self._scorable.set()
                self._own_actions = {i for i in self._own_actions if i > self._followed_action}

    # ---- publishing ------------------------------------------------------------------

    async def refresh(self) -> None:
        async with self.lock:
            self._dirty = False
            start = now_ns()
            # In a thread: the event loop keeps fanning out and taking uplink messages
            # while results are scored and the updates written to the outbox.
            messages = await asyncio.to_thread(self._score)
            self.trace.event("scored", start_ns=start, end_ns=now_ns())
            self.version += 1
        for race_id, text in messages:
            self.publish(channel_name(race_id), text)

    def _score(self) -> list[tuple[str, str]]:
        """Bring results up to date; return the new updates, already in the outbox."""
        self._apply_committed()
        now = now_ms()
        self.engine.observe_clock(now)  # on race day, cutoffs pass by the wall clock too
        results = self.engine.results()
        rebuilt: set[str] = set()  # the rows that can have changed: no other row is compared
        rows = dict(self.rows)
        for rr in results.races:
            # A race the engine did not re-rank keeps its rows, unless they tell time.
            if rr.results is not self._ranked.get(rr.race.id) or tells_time(rr.race):
                rows[rr.race.id] = race_rows(rr, now, self._row_cache, rebuilt)
                self._ranked[rr.race.id] = rr.results
        self.results, self.rows = results, rows
        self._note_crossings()
        entries, out = [], []
        for race_id, board in rows.items():
            feed = self.feeds[race_id]
            if board is self.rows_sent.get(race_id):
                continue  # the same rows as last time: nothing to compare
            self.rows_sent[race_id] = board
            if feed.update(board, rebuilt, now) is None:
                continue
            seq, text = feed.backlog[-1]
            entries.append(Entry(race_id, seq, "update", now, text))
            if seq % SNAPSHOT_EVERY == 0:
                entries.append(Entry(race_id, seq, "snapshot", now, feed.snapshot(now)))
            out.append((race_id, text))
        self.outbox.write(entries)
        self.relay([text for _race, text in out])
        for race_id, text in out:
            self.trace.event("published", race=race_id, seq=self.feeds[race_id].seq, text=text)
        for entry in entries:
            if entry.kind == "snapshot":
                self.outbox.prune(entry.race, entry.seq)
        # What the engine holds now is long-lived: keep it out of the cyclic collector.
        # A full collection scans every tracked object (the race's crossings, results
        # and rows) with every thread stopped, acks included: 25-30 ms at 10,000 reads,
        # growing with the race. Refcounting still frees what a refresh replaces.
        gc.freeze()
        return out

    def _apply_committed(self) -> None:
        """Feed the engine what was committed since the last refresh."""
        self.engine, fed = self.ingest.feed(
            self.engine, lambda: build_engine(self.folder, self.store)
        )
        line_of = self.engine.line_of
        for stored in fed:
            self._new_keys.update(
                (chip, line_of.get((reader, antenna), (reader, (antenna,))))
                for _id, reader, chip, antenna, _t, _rssi in stored
            )

    def catch_up(self, race_id: str, since: int | None) -> list[str]:
        """What a spectator at update `since` needs: the missed updates, or a snapshot."""
        return self.feeds[race_id].catch_up(since, now_ms())

    def _note_crossings(self) -> None:
        """The director's live crossings feed: each new crossing once, newest first."""
        engine = self.engine
        latest = [
            (crossings[-1], chip, line)
            for chip, line in self._new_keys
            if (crossings := engine.crossings_at(chip, line))
        ]
        for last, chip, line in sorted(latest, key=lambda c: (c[0].time_ms, c[1])):
            # A crossing still growing (more reads arrived) replaces its earlier entry.
            for old in [
                c for c in self.crossings if c["chip"] == chip and c["first_ms"] == last.first_ms
            ]:
                self.crossings.remove(old)
            self.crossings.appendleft(
                {
                    "first_ms": last.first_ms,
                    "time_ms": last.time_ms,
                    "chip": chip,
                    "bib": engine.owner_of(chip),
                    "reader": line[0],
                    "antennas": list(line[1]),
                    "reads": last.reads,
                    "peak_rssi": last.peak_rssi,
                    "read_id": last.read_ids[0] if last.read_ids else None,
                }
            )
        self._new_keys.clear()
