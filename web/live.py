"""The live service's state: one engine fed by agents and directors, and the numbered
leaderboard updates it publishes.

One writer: every change (reads, quarantine, director actions) goes through `lock`,
is committed to the store, then applied to the engine. A publisher task recomputes
results at most every `interval_s` and publishes, per race, the rows that changed,
numbered so a spectator that reconnects asks only for what it missed.
"""

from __future__ import annotations

import asyncio
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
from timing.preview import Preview, compare, describe, is_wide
from timing.review import vet
from timing.store import DirectorAction, JournalRow, Store, now_ms
from web.leaderboard import Row, RowCache, event_rows
from web.replay import build_engine
from web.trace import trace_for

log = logging.getLogger(__name__)
now_ns = time.time_ns
BACKLOG = 500  # updates kept per race for reconnecting spectators


@dataclass
class Stream:
    """An agent's numbered stream (reader, journal id): what the service holds of it."""

    held: int = 0  # entries 1..held are all stored
    above: set[int] = field(default_factory=set)  # stored entries past a gap

    def add(self, seqs: list[int]) -> None:
        self.above.update(s for s in seqs if s > self.held)
        while self.held + 1 in self.above:
            self.held += 1
            self.above.discard(self.held)


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


@dataclass
class RaceFeed:
    seq: int = 0
    rows: dict[str, Row] = field(default_factory=dict)  # bib -> row
    backlog: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=BACKLOG))


class LiveService:
    def __init__(
        self,
        folder: EventFolder,
        store: Store,
        publish: Callable[[str, str], None] | None = None,
        interval_s: float = 0.2,
    ) -> None:
        self.folder = folder
        self.store = store
        self.publish = publish or (lambda channel, data: None)
        self.interval_s = interval_s
        self.trace = trace_for("writer")
        self.engine: Engine = build_engine(folder, store)
        self.lock = asyncio.Lock()
        self._row_cache: RowCache = {}  # rows rebuilt only for runners that changed
        self.streams: dict[tuple[str, str], Stream] = {}
        self.health = {rid: ReaderHealth(rid) for rid in folder.event.readers}
        self.feeds = {race.id: RaceFeed() for race in folder.event.races}
        self.crossings: deque[dict[str, Any]] = deque(maxlen=200)
        self.results: EventResults = self.engine.results()
        self.rows: dict[str, list[Row]] = event_rows(self.results)
        self._changed = asyncio.Event()
        self.version = 0  # moves on with every refresh: the director's console follows it
        # The console's latest quarantined lines, with the count they were read at.
        self.quarantine_view: tuple[int, list[dict[str, Any]]] | None = None
        # What this worker stored itself, so following the shared journal skips it.
        self._own_reads: set[int] = set()
        self._own_actions: set[int] = set()
        self._followed_read = max(
            (r[0] for b in store.iter_reads(after=0) for r in b[-1:]), default=0
        )
        self._followed_action = max((a.id or 0 for a in store.actions()), default=0)
        self._new_keys: set[tuple[str, Any]] = set()  # (chip, line) read since the last refresh
        self._update_feeds(publish=False)  # the channels start with the app, later

    # ---- agents ----------------------------------------------------------------------

    async def stream(self, reader: str, journal_id: str) -> Stream:
        key = (reader, journal_id)
        if key not in self.streams:
            source = f"agent:{journal_id}"
            seqs = await asyncio.to_thread(self.store.seqs_of, reader, source)
            stream = Stream()
            stream.add(seqs)
            self.streams[key] = stream
        return self.streams[key]

    async def ingest_reads(
        self, reader: str, journal_id: str, entries: list[dict[str, Any]]
    ) -> int:
        """Store an agent's reads (once each) and feed them to the engine; return held."""
        source = f"agent:{journal_id}"
        async with self.lock:
            stream = await self.stream(reader, journal_id)
            fresh = [e for e in entries if e["seq"] > stream.held and e["seq"] not in stream.above]
            rows: list[JournalRow] = [
                (
                    reader,
                    source,
                    e["seq"],
                    e["antenna"],
                    e["chip"],
                    e["time_ms"],
                    e["rssi"],
                    e["reader_seq"],
                    e["received_ms"],
                    e["raw"],
                )
                for e in fresh
            ]
            stored, clean = await asyncio.to_thread(self.store.append_reads, rows)
            if clean:
                self.engine.add_reads(stored)
                self._own_reads.update(r[0] for r in stored)
                line_of = self.engine.line_of
                self._new_keys.update(
                    (chip, line_of.get((reader, antenna), (reader, (antenna,))))
                    for _id, reader, chip, antenna, _t, _rssi in stored
                )
            else:  # some were already stored under other ids: rebuild from the journal
                self.engine = build_engine(self.folder, self.store)
            stream.add([e["seq"] for e in entries])
            self.trace.event(
                "stored", reader=reader,
                reads=[[e["chip"], e["time_ms"], e["received_ms"]] for e in entries],
            )  # fmt: skip
            self.health[reader].reads += len(fresh)
            self._changed.set()
            return stream.held

    async def ingest_quarantine(
        self, reader: str, journal_id: str, lines: list[dict[str, Any]]
    ) -> int:
        source = f"agent:{journal_id}"
        async with self.lock:
            stream = await self.stream(reader, journal_id)
            rows = [
                (reader, source, e["seq"], e["raw"], e["reason"], e["received_ms"]) for e in lines
            ]
            await asyncio.to_thread(self.store.quarantine, rows)
            stream.add([e["seq"] for e in lines])
            self.health[reader].quarantined += len(lines)
            self.version += 1
            return stream.held

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
            self._changed.set()
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
                    self._followed_read = batch[-1][0]
                    others = [r for r in batch if r[0] not in self._own_reads]
                    if others:
                        self.engine.add_reads(others)
                        self._changed.set()
                self._own_reads = {i for i in self._own_reads if i > self._followed_read}
                journal = await asyncio.to_thread(self.store.actions) if actions else []
                for action in actions:
                    self._followed_action = action.id or 0
                    if action.id not in self._own_actions:
                        before = [a for a in journal if (a.id or 0) < (action.id or 0)]
                        self._take(self.engine, action, before)
                        self._changed.set()
                self._own_actions = {i for i in self._own_actions if i > self._followed_action}

    # ---- publishing ------------------------------------------------------------------

    async def run_publisher(self) -> None:
        """Recompute and publish when something changed, at most every interval_s: at
        once after a quiet spell, so a lone read reaches phones without waiting."""
        loop = asyncio.get_running_loop()
        last = 0.0
        while True:
            await self._changed.wait()
            await asyncio.sleep(max(0.0, last + self.interval_s - loop.time()))
            last = loop.time()
            try:
                await self.refresh()
            except Exception:  # a bug in one refresh must not end live updates for good
                log.exception("refreshing results failed")

    async def refresh(self) -> None:
        async with self.lock:
            self._changed.clear()
            # In a thread: the event loop keeps fanning out and taking uplink messages
            # (which wait for the lock) while results are recomputed.
            start = now_ns()
            self.results, self.rows = await asyncio.to_thread(self._recompute)
            self.trace.event("scored", start_ns=start, end_ns=now_ns())
            self._note_crossings()
            self.version += 1
        self._update_feeds()

    def _recompute(self) -> tuple[EventResults, dict[str, list[Row]]]:
        now = now_ms()
        self.engine.observe_clock(now)  # on race day, cutoffs pass by the wall clock too
        results = self.engine.results()
        return results, event_rows(results, now, self._row_cache)

    def _update_feeds(self, publish: bool = True) -> None:
        for race_id, rows in self.rows.items():
            feed = self.feeds[race_id]
            # One runner moving up renumbers everyone behind: those rows travel as
            # (bib, pos) pairs, not whole rows (updates were ~90% position changes).
            changed, moved = [], []
            for row in rows:
                old = feed.rows.get(row["bib"])
                if old is row or old == row:
                    continue
                if old is not None and all(old[k] == v for k, v in row.items() if k != "pos"):
                    moved.append([row["bib"], row["pos"]])
                else:
                    changed.append(row)
            if not changed and not moved and feed.seq:
                continue
            feed.rows = {r["bib"]: r for r in rows}
            feed.seq += 1
            message = {
                "type": "update",
                "race": race_id,
                "seq": feed.seq,
                "at_ms": now_ms(),
                "rows": changed,
                "moved": moved,
            }
            feed.backlog.append(message)
            if publish:
                text = json.dumps(message, separators=(",", ":"))
                self.publish(channel_name(race_id), text)
                self.trace.event("published", race=race_id, seq=feed.seq, text=text)

    def catch_up(self, race_id: str, since: int | None) -> list[dict[str, Any]]:
        """What a spectator at update `since` needs: the missed updates, or a snapshot."""
        feed = self.feeds[race_id]
        if (
            since is not None
            and feed.backlog
            and feed.backlog[0]["seq"] <= since + 1
            and since <= feed.seq
        ):
            return [m for m in feed.backlog if m["seq"] > since]
        return [self.snapshot(race_id)]

    def snapshot(self, race_id: str) -> dict[str, Any]:
        feed = self.feeds[race_id]
        return {
            "type": "snapshot",
            "race": race_id,
            "seq": feed.seq,
            "at_ms": now_ms(),
            "rows": self.rows[race_id],
        }

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


def parse_since(text: str | None) -> int | None:
    """A spectator's `?since=N`: ASCII digits, at most 15 of them (a sequence number
    reached in no race). Anything else is no number, and gets a fresh snapshot."""
    if text and len(text) <= 15 and text.isascii() and text.isdigit():
        return int(text)
    return None


def channel_name(race_id: str) -> str:
    # Channel names stay lowercase and fixed: a Redis backend has been seen to change case.
    return f"race-{race_id.lower()}"
