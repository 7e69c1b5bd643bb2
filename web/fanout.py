"""A fan-out worker: live leaderboards for many phones, with no engine of its own.

The writer (`retrotime serve`) scores; this process only relays. It holds each race's
board (web/feeds.py) from the outbox in the journal database, hears new updates on
Redis, and sends them on to its spectators' websockets. Every update is numbered: one
that does not follow the last is never sent on; the worker reads what it missed from
the outbox first (after a Redis hiccup, a restart, a writer restart), so a spectator
never sees a hole. With Redis down it polls the outbox and says so in `/health`.

Built on the `websockets` server rather than the Litestar app: `broadcast()` writes one
frame to every connection without a coroutine per phone, which is the whole job here.
Per-message deflate is off, as in the writer: zlib once per phone per update costs more
CPU than everything else together. A phone that stops reading is closed once its
unsent data passes `slow_bytes` (1 MiB unless told; close code 4000, "resume with
?since="): live.js then reconnects and resumes from its last number.

Endpoints: `/ws/races/<race>[?since=N]` (as the writer's), `/api/races/<race>/live`
(the board as a snapshot, with an ETag, for a cache in front), `/health`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from http import HTTPStatus
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError
from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from timing.store import Store, now_ms
from web.feeds import BACKLOG, ONLY_LISTEN, Feed, answer, parse_since
from web.outbox import Entry, Outbox, channel_for
from web.trace import trace_for

log = logging.getLogger(__name__)
POLL_S = 0.2  # outbox polling with Redis down
CHECK_S = 2.0  # with Redis up: the outbox is checked this often for a lost last update
SLOW_CLOSE = 4000


class Fanout:
    def __init__(
        self,
        races: list[str],
        database_url: str,
        redis_url: str | None,
        slow_bytes: int = 1 << 20,  # unsent data a phone may hold back before it is closed
    ) -> None:
        self.slow_bytes = slow_bytes
        self.store = Store(database_url)
        self.outbox = Outbox(self.store.engine)
        self.channel = channel_for(database_url)
        self.redis_url = redis_url
        self.redis_state = "off" if not redis_url else "connecting"
        self.feeds = {race: Feed(race) for race in races}
        self.clients: dict[str, set[ServerConnection]] = {race: set() for race in races}
        self._locks = {race: asyncio.Lock() for race in races}
        self.trace = trace_for("fanout")
        self.resyncs = 0
        self.dropped_slow = 0

    # ---- updates in ----------------------------------------------------------------

    def take(self, text: str) -> bool:
        """An update or snapshot heard on Redis: apply and send it on if it follows what
        this worker holds. False: it does not (a gap), read the outbox."""
        message = json.loads(text)
        feed = self.feeds.get(message.get("race", ""))
        if feed is None:
            return True
        seq = message["seq"]
        if seq <= feed.seq:
            return True  # had it already (from the outbox)
        if message["type"] == "snapshot" or seq == feed.seq + 1:
            feed.apply(message, text)
            self._send(feed, text)
            return True
        return False

    async def resync(self, race: str) -> None:
        """Bring one race up to the outbox, sending each update on in order."""
        async with self._locks[race]:
            feed = self.feeds[race]
            if feed.seq == 0:  # starting: from the latest snapshot, not the whole outbox
                snapshot = await asyncio.to_thread(self.outbox.latest_snapshot, race)
                if snapshot is not None:
                    self._take_entry(feed, snapshot)
                    await self._backfill(feed)
            entries = await asyncio.to_thread(self.outbox.since, race, feed.seq)
            if entries and not _follows(entries[0], feed.seq):
                # Pruned past what we hold (or nothing held yet): start from a snapshot.
                snapshot = await asyncio.to_thread(self.outbox.latest_snapshot, race)
                if snapshot is not None and snapshot.seq > feed.seq:
                    self.resyncs += 1
                    self._take_entry(feed, snapshot)
                entries = [e for e in entries if e.seq > feed.seq]
            for entry in entries:
                if _follows(entry, feed.seq):
                    self._take_entry(feed, entry)

    async def _backfill(self, feed: Feed) -> None:
        """The updates up to a starting snapshot, for phones that reconnect from before
        it (another worker's): only a run with no gap that ends at the snapshot."""
        older = await asyncio.to_thread(self.outbox.since, feed.race, max(0, feed.seq - BACKLOG))
        run = [(e.seq, e.body) for e in older if e.kind == "update" and e.seq <= feed.seq]
        if run and run[-1][0] == feed.seq and all(b[0] == a[0] + 1 for a, b in pairwise(run)):
            feed.backlog.extend(run)

    def _take_entry(self, feed: Feed, entry: Entry) -> None:
        feed.apply(json.loads(entry.body), entry.body)
        self._send(feed, entry.body)

    def _send(self, feed: Feed, text: str) -> None:
        clients = self.clients[feed.race]
        slow = [ws for ws in clients if _unsent(ws) > self.slow_bytes]
        for ws in slow:
            clients.discard(ws)
            self.dropped_slow += 1
            asyncio.get_running_loop().create_task(
                ws.close(SLOW_CLOSE, f"too slow: resume with ?since={feed.seq - 1}")
            )
        broadcast(clients, text)
        self.trace.event("sent", race=feed.race, seq=feed.seq, clients=len(clients))

    # ---- where updates come from ---------------------------------------------------

    async def listen(self) -> None:
        """Redis first; on any gap or reconnect, the outbox."""
        assert self.redis_url
        while True:
            redis = Redis.from_url(self.redis_url, socket_connect_timeout=2)
            try:
                async with redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    if self.redis_state != "up":
                        log.info("fan-out: Redis up; reading updates there")
                    self.redis_state = "up"
                    for race in self.feeds:  # what went by while we were not listening
                        await self.resync(race)
                    async for message in pubsub.listen():
                        if message["type"] != "message":
                            continue
                        text = message["data"].decode()
                        if not self.take(text):
                            await self.resync(json.loads(text)["race"])
            except (RedisError, OSError) as exc:
                if self.redis_state != "down":
                    log.warning("fan-out: Redis unreachable (%s); polling the outbox", exc)
                self.redis_state = "down"
            finally:
                await redis.aclose()
            await asyncio.sleep(1.0)

    async def poll(self) -> None:
        """The outbox, often while Redis is down or off, now and then while it is up (a
        lost last update would otherwise wait for the next one)."""
        while True:
            await asyncio.sleep(CHECK_S if self.redis_state == "up" else POLL_S)
            try:
                last = await asyncio.to_thread(self.outbox.last_seqs)
            except Exception as exc:  # the journal unreachable a moment: keep serving
                log.warning("fan-out: the outbox could not be read (%s)", exc)
                continue
            for race, seq in last.items():
                if race in self.feeds and seq > self.feeds[race].seq:
                    await self.resync(race)

    # ---- spectators ----------------------------------------------------------------

    async def spectator(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        race = _race_of(ws.request.path)
        if race not in self.feeds:
            await ws.close(1008, "unknown race")
            return
        query = parse_qs(urlsplit(ws.request.path).query)
        since = parse_since((query.get("since") or [None])[0])
        feed = self.feeds[race]
        if since is not None and since > feed.seq:
            # A phone from a worker further on (its own was killed): read up to its
            # number first, or it would be sent back to an older board.
            await self.resync(race)
        # The catch-up and joining the broadcast happen with no await between them, so
        # no update can fall between the two or come before the catch-up.
        for text in feed.catch_up(since, now_ms()):
            broadcast([ws], text)
        self.clients[race].add(ws)
        try:
            async for message in ws:
                reply = answer(message)
                if reply is None:
                    await ws.close(*ONLY_LISTEN)
                    return
                await ws.send(reply)
        except ConnectionClosed:
            pass
        finally:
            self.clients[race].discard(ws)

    def http(self, ws: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path.startswith("/ws/races/"):
            return None  # the websocket handshake goes on
        if path == "/health":
            return _json(ws, HTTPStatus.OK, self.health())
        race = unquote(path.removeprefix("/api/races/").removesuffix("/live"))
        if path.startswith("/api/races/") and path.endswith("/live") and race in self.feeds:
            feed = self.feeds[race]
            etag = f'"{race}-{feed.seq}"'
            if etag in request.headers.get("If-None-Match", ""):
                response = ws.respond(HTTPStatus.NOT_MODIFIED, "")
            else:
                response = _typed(ws.respond(HTTPStatus.OK, feed.snapshot(now_ms())))
            response.headers["ETag"] = etag
            response.headers["Cache-Control"] = "public, max-age=1"
            return response
        return _json(ws, HTTPStatus.NOT_FOUND, {"detail": "not found"})

    def health(self) -> dict[str, Any]:
        return {
            "role": "fanout",
            "pid": os.getpid(),
            "redis": self.redis_state,
            "updates_from": "redis" if self.redis_state == "up" else "outbox polling",
            "races": {race: feed.seq for race, feed in self.feeds.items()},
            "spectators": sum(len(c) for c in self.clients.values()),
            "resyncs": self.resyncs,
            "dropped_slow": self.dropped_slow,
        }

    async def serve(
        self,
        host: str,
        port: int,
        ready: asyncio.Event | None = None,
        with_parent: bool = False,
    ) -> None:
        for race in self.feeds:
            await self.resync(race)
        tasks = [asyncio.create_task(self.poll(), name="poll the outbox")]
        if self.redis_url:
            tasks.append(asyncio.create_task(self.listen(), name="listen to Redis"))
        server: Server = await serve(
            self.spectator,
            host,
            port,
            reuse_port=True,  # several workers on one port: the kernel spreads the phones
            process_request=self.http,
            compression=None,
            max_size=1024,  # a spectator sends "ping" and nothing else
            backlog=4096,
        )
        log.info("fan-out worker on %s:%d, Redis %s", host, port, self.redis_state)
        if with_parent:
            _close_at_end_of_stdin(server)
        if ready is not None:
            ready.set()
        try:
            await server.serve_forever()
        finally:
            for task in tasks:
                task.cancel()
            self.store.close()


def _close_at_end_of_stdin(server: Server) -> None:
    """Close the server once standard input ends: the parent holding the pipe's other
    end is gone (even killed -9), and a worker must not serve on without its writer."""
    fd = sys.stdin.fileno()
    loop = asyncio.get_running_loop()

    def readable() -> None:
        if not os.read(fd, 4096):
            loop.remove_reader(fd)
            log.info("the process that started this worker ended: stopping")
            server.close()

    loop.add_reader(fd, readable)


def _follows(entry: Entry, seq: int) -> bool:
    return entry.seq == seq + 1 or (entry.kind == "snapshot" and entry.seq > seq)


def _unsent(ws: ServerConnection) -> int:
    transport = ws.transport
    return transport.get_write_buffer_size() if transport is not None else 0


def _race_of(path: str) -> str:
    return unquote(urlsplit(path).path.removeprefix("/ws/races/"))


def _json(ws: ServerConnection, status: HTTPStatus, body: dict[str, Any]) -> Response:
    return _typed(ws.respond(status, json.dumps(body)))


def _typed(response: Response) -> Response:
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response


def run_fanout(
    races: list[str],
    database_url: str,
    redis_url: str | None,
    host: str,
    port: int,
    slow_kib: int = 1024,
    with_parent: bool = False,
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s fan-out %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)  # not a line per request
    started = time.monotonic()
    try:
        fanout = Fanout(races, database_url, redis_url, slow_kib * 1024)
        asyncio.run(fanout.serve(host, port, with_parent=with_parent))
    except KeyboardInterrupt:
        log.info("fan-out worker stopped after %.0f s", time.monotonic() - started)
