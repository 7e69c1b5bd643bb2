"""The reader agent: a reader's lines into a local journal, then up a websocket with acks.

It runs beside a reader on a flaky link; `docs/uplink.md` is the protocol. The source
thread journals each line before anything else happens to it. The uplink sends, in
order, what the service has not acknowledged, and after every reconnect or restart
starts again from the service's own count, so nothing is lost; the service keeps
each (reader, journal_id, seq) once, so nothing is doubled.

The CLI calls `run_agent`; for tests: `python -m readers.agent --reader FIN --port
/dev/pts/3 --format retrotime-csv --server ws://127.0.0.1:8000/uplink --token T
--journal fin.db --tz Europe/London`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import signal
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import CloseCode
from websockets.uri import parse_uri

from readers.formats import get_format, open_session
from readers.journal import Entry, Journal
from readers.read import FormatContext, Read, ReaderError
from readers.sources import PortSettings, open_source

log = logging.getLogger("readers.agent")  # the same name when run as __main__

PROTOCOL = 1
try:
    AGENT_VERSION = metadata.version("retrotime")
except metadata.PackageNotFoundError:
    AGENT_VERSION = "0+unknown"


class AgentError(ReaderError):
    """The agent cannot go on (its source died, the service refused it)."""


class UplinkRejected(AgentError):
    """The service refused the hello: bad token or unknown reader (close code 1008)."""


class _LinkError(AgentError):
    """This connection is unusable (bad message, no ack): close it and reconnect."""

    def __init__(self, reason: str, code: int = CloseCode.INVALID_DATA) -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class AgentConfig:
    reader_id: str
    port_url: str
    format_name: str
    server_url: str
    token: str
    journal_path: Path
    tz_name: str
    port: PortSettings = field(default_factory=PortSettings)
    day: date | None = None  # for formats that send a time of day only; default today
    batch_size: int = 500  # entries per message
    window: int = 5000  # entries sent but not yet acknowledged
    health_interval_s: float = 10.0
    min_backoff_s: float = 0.5
    max_backoff_s: float = 10.0
    ack_timeout_s: float = 30.0  # also bounds the wait for the welcome
    ping_interval_s: float = 10.0  # a dead link is noticed by pings, not by TCP


class ClockOffset:
    """NTP-style offset of the service's clock from ours: server - (t0 + t1) / 2.

    Each request/answer pair is a sample; the one with the smallest round trip among
    the recent ones is the least distorted by queueing, so it is the estimate.
    """

    def __init__(self, keep: int = 16) -> None:
        self._samples: deque[tuple[int, int]] = deque(maxlen=keep)  # (rtt, offset)

    def add(self, t0_ms: int, server_ms: int, t1_ms: int) -> None:
        rtt = max(0, t1_ms - t0_ms)
        self._samples.append((rtt, server_ms - (t0_ms + t1_ms) // 2))

    def best(self) -> tuple[int, int] | None:
        """(offset_ms, rtt_ms), or None before the first sample."""
        if not self._samples:
            return None
        rtt, offset = min(self._samples)
        return offset, rtt


@dataclass
class _Link:
    acked: int  # highest seq the service holds (contiguous from 1)
    sent: int  # highest seq sent on this connection
    inflight: deque[int] = field(default_factory=deque)  # send times awaiting an ack


class Agent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        try:
            parse_uri(config.server_url)
        except InvalidURI as exc:
            raise AgentError(str(exc)) from None
        tz = ZoneInfo(config.tz_name)
        ctx = FormatContext(config.reader_id, tz, config.day or datetime.now(tz).date())
        session = open_session(get_format(config.format_name), ctx)
        self.source = open_source(
            config.port_url, session, self._on_read, self._on_quarantine,
            on_flush=self._on_flush, settings=config.port,
            min_backoff=config.min_backoff_s, max_backoff=config.max_backoff_s,
        )  # fmt: skip
        self._writer = Journal(config.journal_path, config.reader_id)  # source thread only
        self._journal = Journal(config.journal_path, config.reader_id)  # event loop only
        self.clock_offset = ClockOffset()
        self.uplink_connected = False
        self.rejected: str | None = None  # the service's reason while it refuses us
        self._ever_welcomed = False
        self._health_due = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()  # new entries, an ack, health due, or stop
        self._stopping = asyncio.Event()

    # -- source thread: journal first -------------------------------------------------

    def _on_read(self, read: Read, raw: str) -> None:
        self._writer.append_read(read, raw, _now_ms())

    def _on_quarantine(self, reason: str, raw: str) -> None:
        self._writer.append_quarantine(raw, reason, _now_ms())

    def _on_flush(self) -> None:
        self._writer.commit()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # -- lifecycle --------------------------------------------------------------------

    def stop(self) -> None:
        """Ask `run` to end; safe from any thread and from signal handlers."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                self._loop.call_soon_threadsafe(self._set_stopping)

    def _set_stopping(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self, handle_signals: bool = False) -> None:
        self._loop = asyncio.get_running_loop()
        cfg = self.config
        signals = [signal.SIGINT, signal.SIGTERM] if handle_signals else []
        for sig in signals:
            self._loop.add_signal_handler(sig, self.stop)
        log.info(
            "agent %s: reader %s on %s (%s), journal %s (id %s), service %s",
            AGENT_VERSION, cfg.reader_id, cfg.port_url, cfg.format_name,
            cfg.journal_path, self._journal.journal_id, cfg.server_url,
        )  # fmt: skip
        self.source.start()
        tasks = [asyncio.create_task(self._uplink_forever()), asyncio.create_task(self._watch())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            self._set_stopping()
            _, pending = await asyncio.wait(tasks, timeout=3.0)  # let the socket close cleanly
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if await asyncio.to_thread(self.source.stop, 5.0):
                self._writer.close()
            else:
                log.error("the source thread did not stop within 5 s")
            self._journal.close()
            for sig in signals:
                self._loop.remove_signal_handler(sig)
            log.info("agent stopped")

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _watch(self) -> None:
        """Health every interval; end the agent if the source thread died."""
        next_health = time.monotonic()
        while not self._stopping.is_set():
            if not self.source.is_alive():
                raise AgentError("the reader source stopped unexpectedly (see the log above)")
            if time.monotonic() >= next_health:
                next_health += self.config.health_interval_s
                h = self.health()
                log.info("health: %s", " ".join(f"{k}={v}" for k, v in h.items() if k != "type"))
                self._health_due = True
                self._wake.set()
            await self._sleep(1.0)

    def health(self) -> dict[str, Any]:
        now = _now_ms()
        counts = self._journal.counts(since_ms=now - 60_000)
        last, acked = self._journal.last_seq(), self._journal.acked()
        offset, rtt = self.clock_offset.best() or (None, None)
        stats = self.source.stats
        return {
            "type": "health",
            "agent_time_ms": now,
            "reads_per_min": counts["recent_reads"],
            "backlog": last - acked,
            "last_seq": last,
            "acked_seq": acked,
            "quarantined": counts["quarantined"],
            "last_read_ms": counts["last_read_ms"],
            "clock_offset_ms": offset,
            "rtt_ms": rtt,
            "reader_offset_ms": counts["min_lag_ms"],
            "source_connected": stats.connected,
            "source_lines": stats.lines,
            "source_reconnects": stats.reconnects,
            "source_error": stats.last_error,
        }

    # -- uplink -----------------------------------------------------------------------

    async def _uplink_forever(self) -> None:
        cfg = self.config
        delay = cfg.min_backoff_s
        while not self._stopping.is_set():
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
                welcomed = welcomed or self.uplink_connected
                if exc.rcvd is not None and exc.rcvd.code == CloseCode.POLICY_VIOLATION:
                    delay = self._refused(exc.rcvd.reason or "policy violation")
                else:
                    log.warning("uplink: connection closed: %s", exc)
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in (401, 403):
                    delay = self._refused(f"HTTP {status}")
                else:
                    log.warning("uplink: %s", exc)
            except (OSError, TimeoutError, InvalidHandshake, _LinkError) as exc:
                welcomed = welcomed or self.uplink_connected
                log.warning("uplink: %s: %s", type(exc).__name__, exc)
            if self.uplink_connected and not self._stopping.is_set():
                log.warning("uplink: disconnected; reads stay in the journal")
            self.uplink_connected = False
            if welcomed:
                delay = cfg.min_backoff_s
            if not self._stopping.is_set():
                log.info("uplink: reconnecting in %.1f s", delay)
                await self._sleep(delay)
                delay = min(delay * 2, cfg.max_backoff_s)

    def _refused(self, reason: str) -> float:
        self.rejected = reason
        msg = f"the service refused reader {self.config.reader_id!r}: {reason}"
        if not self._ever_welcomed:
            # Refused at start: a configuration error the operator is there to fix.
            raise UplinkRejected(msg)
        # Refused mid-race: keep journalling, so nothing is lost once it is fixed.
        log.error("%s; reads are journalled, retrying every %.0f s", msg, self.config.max_backoff_s)
        return self.config.max_backoff_s

    async def _converse(self, ws: ClientConnection) -> bool:
        """One connection: hello, welcome, then batches and acks until stop or failure."""
        cfg = self.config
        t0 = _now_ms()
        await ws.send(_dumps({
            "type": "hello", "protocol": PROTOCOL, "reader": cfg.reader_id,
            "token": cfg.token, "agent_version": AGENT_VERSION,
            "journal_id": self._journal.journal_id, "acked_seq": self._journal.acked(),
            "last_seq": self._journal.last_seq(), "agent_time_ms": t0,
        }))  # fmt: skip
        try:
            try:
                welcome = await asyncio.wait_for(_recv(ws), cfg.ack_timeout_s)
            except TimeoutError:
                raise _LinkError("no welcome", CloseCode.GOING_AWAY) from None
            if welcome.get("type") != "welcome":
                raise _LinkError(f"expected welcome, got {welcome.get('type')!r}")
            server_seq = _field_int(welcome, "seq")
            self.clock_offset.add(t0, _field_int(welcome, "server_time_ms"), _now_ms())
            link = _Link(acked=self._reconcile(server_seq), sent=server_seq)
        except _LinkError as exc:
            await ws.close(exc.code, str(exc)[:120])
            raise
        self._ever_welcomed, self.rejected, self.uplink_connected = True, None, True
        log.info(
            "uplink: connected to %s; the service holds up to seq %d, backlog %d",
            cfg.server_url, server_seq, self._journal.last_seq() - server_seq,
        )  # fmt: skip
        receiver = asyncio.create_task(self._receive(ws, link))
        try:
            while not self._stopping.is_set():
                self._wake.clear()  # before looking, so a wake-up during the look is kept
                if receiver.done():
                    receiver.result()  # raises why it ended
                await self._send_pending(ws, link)
                if self._health_due:
                    self._health_due = False
                    link.inflight.append(_now_ms())
                    await ws.send(_dumps(self.health()))
                if link.inflight and _now_ms() - link.inflight[0] > cfg.ack_timeout_s * 1000:
                    raise _LinkError(f"no ack for {cfg.ack_timeout_s:.0f} s", CloseCode.GOING_AWAY)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)
            await ws.close(CloseCode.GOING_AWAY, "agent stopping")
        except _LinkError as exc:
            await ws.close(exc.code, str(exc)[:120])
            raise
        finally:
            receiver.cancel()
            await asyncio.gather(receiver, return_exceptions=True)
        return True

    def _reconcile(self, server_seq: int) -> int:
        """The service's count is the truth: it may be ahead of our journal's record
        (we were killed before storing an ack) or behind it (it lost data): resend."""
        last, mine = self._journal.last_seq(), self._journal.acked()
        if server_seq > last:
            raise _LinkError(f"service holds seq {server_seq}, journal ends at {last}")
        if server_seq < mine:
            log.warning("uplink: the service holds %d of %d acked; resending", server_seq, mine)
        if server_seq != mine:
            self._journal.set_acked(server_seq)
        return server_seq

    async def _send_pending(self, ws: ClientConnection, link: _Link) -> None:
        cfg = self.config
        while not self._stopping.is_set():
            room = min(cfg.batch_size, cfg.window - (link.sent - link.acked))
            entries = self._journal.pending(link.sent, room) if room > 0 else []
            if not entries:
                return
            for message, last in _messages(entries):
                # Book-keep before awaiting: the ack may be handled during the send.
                link.sent = last
                link.inflight.append(_now_ms())
                await ws.send(_dumps(message))

    async def _receive(self, ws: ClientConnection, link: _Link) -> None:
        try:
            while True:
                msg = await _recv(ws)
                kind = msg.get("type")
                if kind == "error":
                    log.error("uplink: the service reports: %s", msg.get("reason"))
                    continue
                if kind != "ack":
                    raise _LinkError(f"unexpected message type {kind!r}")
                seq, server_ms = _field_int(msg, "seq"), _field_int(msg, "server_time_ms")
                if seq > link.sent:
                    raise _LinkError(f"ack of seq {seq}, only {link.sent} sent")
                if link.inflight:
                    self.clock_offset.add(link.inflight.popleft(), server_ms, _now_ms())
                if seq == link.sent:
                    link.inflight.clear()  # everything acknowledged, however it was grouped
                if seq > link.acked:
                    link.acked = seq
                    self._journal.set_acked(seq)
        finally:
            self._wake.set()


def _messages(entries: list[Entry]) -> Iterator[tuple[dict[str, Any], int]]:
    """Runs of reads and of quarantined lines, in seq order, with each run's last seq."""
    for is_read, group in itertools.groupby(entries, key=lambda e: e.is_read):
        run = list(group)
        kind, key = ("reads", "reads") if is_read else ("quarantine", "lines")
        yield {"type": kind, key: [e.wire() for e in run]}, run[-1].seq


async def _recv(ws: ClientConnection) -> dict[str, Any]:
    data = await ws.recv()
    if isinstance(data, bytes):
        raise _LinkError("binary message")
    try:
        msg = json.loads(data)
    except json.JSONDecodeError:
        raise _LinkError("message is not JSON") from None
    if not isinstance(msg, dict):
        raise _LinkError("message is not a JSON object")
    return msg


def _field_int(msg: dict[str, Any], key: str) -> int:
    value = msg.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _LinkError(f"{msg.get('type')}.{key} is not an integer")
    return value


def _dumps(msg: dict[str, Any]) -> str:
    return json.dumps(msg, separators=(",", ":"))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def run_agent(
    reader_id: str,
    port_url: str,
    format_name: str,
    server_url: str,
    token: str,
    journal_path: str | Path,
    tz_name: str,
    *,
    baudrate: int = 9600,
    port_settings: PortSettings | None = None,
    day: date | None = None,
    health_interval_s: float = 10.0,
    max_backoff_s: float = 10.0,
) -> None:
    """Run the agent until SIGINT/SIGTERM (blocking). Raises `UplinkRejected` when the
    service refuses the first hello, `AgentError` when the source dies."""
    config = AgentConfig(
        reader_id, port_url, format_name, server_url, token, Path(journal_path), tz_name,
        port=port_settings or PortSettings(baudrate=baudrate), day=day,
        health_interval_s=health_interval_s, max_backoff_s=max_backoff_s,
    )  # fmt: skip
    agent = Agent(config)
    asyncio.run(agent.run(handle_signals=True))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m readers.agent", description=__doc__)
    for name, text in [
        ("reader", "reader id"),
        ("port", "pyserial URL: /dev/ttyUSB0, socket://host:port"),
        ("format", "reader format"),
        ("server", "ws://host:port/path"),
        ("token", "reader token"),
        ("journal", "SQLite journal file"),
        ("tz", "event timezone, e.g. Europe/London"),
    ]:
        p.add_argument(f"--{name}", required=True, help=text)
    p.add_argument("--baudrate", type=int, default=9600)
    p.add_argument("--day", type=date.fromisoformat, default=None)
    p.add_argument("--health-interval", type=float, default=10.0)
    p.add_argument("--max-backoff", type=float, default=10.0)
    p.add_argument("--log-level", default="INFO")
    a = p.parse_args(argv)
    logging.basicConfig(
        level=a.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        run_agent(
            a.reader, a.port, a.format, a.server, a.token, a.journal, a.tz,
            baudrate=a.baudrate, day=a.day, health_interval_s=a.health_interval,
            max_backoff_s=a.max_backoff,
        )  # fmt: skip
    except (AgentError, ValueError, KeyError) as exc:  # KeyError: unknown format or zone
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
