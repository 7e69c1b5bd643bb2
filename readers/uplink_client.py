"""The agent's uplink: the websocket I/O around `uplink_protocol.ClientProtocol`.

It sends, in order, what the service has not acknowledged, and after every reconnect
or restart starts again from the service's own count (the welcome), so nothing is
lost; the service keeps each (reader, journal_id, seq) once, so nothing is doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from readers.journal import Journal
from readers.read import ReaderError
from readers.uplink_messages import (
    ANSWER_TIMEOUT_S,
    MAX_BATCH,
    PING_INTERVAL_S,
    WINDOW,
    Close,
    Error,
    GoingAway,
    Hello,
    UplinkError,
    Welcome,
)
from readers.uplink_protocol import ClientProtocol, ClockOffset, error_frame

log = logging.getLogger("readers.agent")


class AgentError(ReaderError):
    """The agent cannot go on (its source died, the service refused it)."""


class UplinkRejected(AgentError):
    """The service refused the first hello: bad token or unknown reader (close 1008)."""


@dataclass(frozen=True)
class UplinkSettings:
    server_url: str
    reader_id: str
    token: str
    agent_version: str
    batch_size: int = MAX_BATCH
    window: int = WINDOW
    min_backoff_s: float = 0.5
    max_backoff_s: float = 10.0
    ack_timeout_s: float = ANSWER_TIMEOUT_S  # also bounds the wait for the welcome
    ping_interval_s: float = PING_INTERVAL_S  # a dead link is noticed by pings, not by TCP


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Uplink:
    """Connect, converse, reconnect with back-off until `stopping` is set."""

    def __init__(
        self,
        settings: UplinkSettings,
        journal: Journal,
        health: Callable[[], dict[str, Any]],
        wake: asyncio.Event,
        stopping: asyncio.Event,
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.health = health
        self.wake = wake
        self.stopping = stopping
        self.clock_offset = ClockOffset()
        self.connected = False
        self.rejected: str | None = None  # the service's reason while it refuses us
        self.health_due = False
        self._ever_welcomed = False

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    async def run(self) -> None:
        cfg = self.settings
        delay = cfg.min_backoff_s
        while not self.stopping.is_set():
            welcomed = False
            try:
                async with connect(
                    cfg.server_url,
                    open_timeout=cfg.ack_timeout_s,
                    ping_interval=cfg.ping_interval_s,
                    ping_timeout=cfg.ping_interval_s,
                    close_timeout=2.0,
                    max_size=2**22,
                ) as ws:
                    welcomed = await self._converse(ws)
            except ConnectionClosed as exc:
                welcomed = welcomed or self.connected
                if exc.rcvd is not None and exc.rcvd.code == Close.POLICY_VIOLATION:
                    delay = self._refused(exc.rcvd.reason or "policy violation")
                else:
                    log.warning("uplink: connection closed: %s", exc)
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in (401, 403):
                    delay = self._refused(f"HTTP {status}")
                else:
                    log.warning("uplink: %s", exc)
            except (OSError, TimeoutError, InvalidHandshake, UplinkError) as exc:
                welcomed = welcomed or self.connected
                log.warning("uplink: %s: %s", type(exc).__name__, exc)
            if self.connected and not self.stopping.is_set():
                log.warning("uplink: disconnected; reads stay in the journal")
            self.connected = False
            if welcomed:
                delay = cfg.min_backoff_s
            if not self.stopping.is_set():
                log.info("uplink: reconnecting in %.1f s", delay)
                await self._sleep(delay)
                delay = min(delay * 2, cfg.max_backoff_s)

    def _refused(self, reason: str) -> float:
        self.rejected = reason
        msg = f"the service refused reader {self.settings.reader_id!r}: {reason}"
        if not self._ever_welcomed:
            # Refused at start: a configuration error the operator is there to fix.
            raise UplinkRejected(msg)
        # Refused mid-race: keep journalling, so nothing is lost once it is fixed.
        log.error(
            "%s; reads are journalled, retrying every %.0f s", msg, self.settings.max_backoff_s
        )
        return self.settings.max_backoff_s

    async def _converse(self, ws: ClientConnection) -> bool:
        """One connection: hello, welcome, then batches and acks until stop or failure."""
        cfg = self.settings
        hello = Hello(
            cfg.reader_id, cfg.token, self.journal.journal_id, cfg.agent_version,
            self.journal.acked(), self.journal.last_seq(), now_ms(),
        )  # fmt: skip
        proto = ClientProtocol(hello, cfg.window, cfg.batch_size, self.clock_offset)
        try:
            await ws.send(proto.start(now_ms()))
            welcome = await self._welcome(ws, proto)
            self._reconcile(welcome.seq)
        except UplinkError as exc:
            await _close(ws, exc)
            raise
        self._ever_welcomed, self.rejected, self.connected = True, None, True
        log.info(
            "uplink: connected to %s; the service holds up to seq %d, backlog %d",
            cfg.server_url, welcome.seq, hello.last_seq - welcome.seq,
        )  # fmt: skip
        receiver = asyncio.create_task(self._receive(ws, proto))
        try:
            while not self.stopping.is_set():
                self.wake.clear()  # before looking, so a wake-up during the look is kept
                if receiver.done():
                    receiver.result()  # raises why it ended
                await self._send_pending(ws, proto)
                if self.health_due:
                    self.health_due = False
                    await ws.send(proto.send_health(self.health(), now_ms()))
                if proto.overdue(now_ms(), cfg.ack_timeout_s):
                    raise GoingAway(f"no ack for {cfg.ack_timeout_s:.0f} s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), 1.0)
            await ws.close(Close.GOING_AWAY, "agent stopping")
        except UplinkError as exc:
            await _close(ws, exc)
            raise
        finally:
            receiver.cancel()
            await asyncio.gather(receiver, return_exceptions=True)
        return True

    async def _welcome(self, ws: ClientConnection, proto: ClientProtocol) -> Welcome:
        while True:
            try:
                data = await asyncio.wait_for(ws.recv(), self.settings.ack_timeout_s)
            except TimeoutError:
                raise GoingAway("no welcome") from None
            msg = proto.receive(data, now_ms())
            if isinstance(msg, Welcome):
                return msg
            log.error("uplink: the service reports: %s", msg.reason)

    def _reconcile(self, server_seq: int) -> None:
        """The service's count is the truth: it may be ahead of our journal's record
        (we were killed before storing an ack) or behind it (it lost data): resend."""
        mine = self.journal.acked()
        if server_seq < mine:
            log.warning("uplink: the service holds %d of %d acked; resending", server_seq, mine)
        if server_seq != mine:
            self._record_ack(server_seq)

    def _record_ack(self, seq: int) -> None:
        # For the backlog figure and the next hello only: losing it is harmless, so a
        # journal that is locked or full just misses this one.
        try:
            self.journal.set_acked(seq)
        except sqlite3.Error as exc:
            log.debug("uplink: ack %d not recorded: %s", seq, exc)

    async def _send_pending(self, ws: ClientConnection, proto: ClientProtocol) -> None:
        while not self.stopping.is_set():
            room = proto.room()
            entries = self.journal.pending(proto.sent, room) if room > 0 else []
            if not entries:
                return
            # Book-keeping happens in send_entries, before awaiting: an ack may arrive
            # while a frame is being sent.
            for frame in proto.send_entries(entries, now_ms()):
                await ws.send(frame)

    async def _receive(self, ws: ClientConnection, proto: ClientProtocol) -> None:
        recorded = proto.acked
        try:
            while True:
                msg = proto.receive(await ws.recv(), now_ms())
                if isinstance(msg, Error):
                    log.error("uplink: the service reports: %s", msg.reason)
                elif msg.seq > recorded:
                    recorded = msg.seq
                    self._record_ack(msg.seq)
        finally:
            self.wake.set()


async def _close(ws: ClientConnection, exc: UplinkError) -> None:
    frame = error_frame(exc)
    with contextlib.suppress(ConnectionClosed):
        if frame is not None:
            await ws.send(frame)
        await ws.close(exc.code, exc.reason[:120])
