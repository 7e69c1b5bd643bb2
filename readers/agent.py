"""The reader agent: a reader's lines into a local journal, then up a websocket with acks.

It runs beside a reader on a flaky link; `docs/uplink.md` is the protocol. The source
thread journals each line before anything else happens to it (`readers/spool.py`,
which holds lines in memory while the journal cannot take them). The uplink
(`readers/uplink_client.py`) sends what the service has not acknowledged. The reader
session's resume position is journalled with the lines, so a restarted agent asks a
reader that keeps its reads (RACE RESULT, Ultra) only for what it does not hold.

`retrotime agent` (web/cli.py) is the command line; it calls `run_agent`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from websockets.exceptions import InvalidURI
from websockets.uri import parse_uri

from readers.formats import get_format, open_session
from readers.journal import Journal
from readers.read import FormatContext
from readers.sources import PortSettings, open_source
from readers.spool import Spool
from readers.uplink_client import AgentError, Uplink, UplinkRejected, UplinkSettings, now_ms
from readers.uplink_messages import ANSWER_TIMEOUT_S, MAX_BATCH, PING_INTERVAL_S, WINDOW
from readers.uplink_protocol import ClockOffset

__all__ = ["Agent", "AgentConfig", "AgentConfigError", "AgentError", "UplinkRejected", "run_agent"]

log = logging.getLogger("readers.agent")

try:
    AGENT_VERSION = metadata.version("retrotime")
except metadata.PackageNotFoundError:
    AGENT_VERSION = "0+unknown"


class AgentConfigError(AgentError):
    """The agent cannot start with this configuration (format, URL, zone, port)."""


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
    devices: tuple[tuple[str, int], ...] = ()  # a reader's own device names -> antennas
    batch_size: int = MAX_BATCH  # entries per message
    window: int = WINDOW  # entries sent but not yet acknowledged
    health_interval_s: float = 10.0
    min_backoff_s: float = 0.5
    max_backoff_s: float = 10.0
    ack_timeout_s: float = ANSWER_TIMEOUT_S  # also bounds the wait for the welcome
    ping_interval_s: float = PING_INTERVAL_S  # a dead link is noticed by pings, not by TCP


class Agent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        try:
            parse_uri(config.server_url)
            tz = ZoneInfo(config.tz_name)
            fmt = get_format(config.format_name)
        except (InvalidURI, ZoneInfoNotFoundError, ValueError, KeyError) as exc:
            text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            raise AgentConfigError(text) from None
        ctx = FormatContext(
            config.reader_id, tz, config.day or datetime.now(tz).date(), config.devices
        )
        self.session = open_session(fmt, ctx)
        writer = Journal(config.journal_path, config.reader_id, busy_timeout_s=0.2)
        position = writer.position()
        if position is not None:
            self.session.restore(position)
            log.info("reader %s resumes at %s", config.reader_id, position)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()  # new entries, an ack, health due, or stop
        self._stopping = asyncio.Event()
        self.spool = Spool(writer, self.session.checkpoint, self._stored)  # source thread
        try:
            self.source = open_source(
                config.port_url, self.session, self.spool.read, self.spool.quarantine,
                on_flush=self.spool.flush, settings=config.port,
                min_backoff=config.min_backoff_s, max_backoff=config.max_backoff_s,
            )  # fmt: skip
        except ValueError as exc:
            writer.close()
            raise AgentConfigError(str(exc)) from None
        self._journal = Journal(config.journal_path, config.reader_id, busy_timeout_s=1.0)
        self.uplink = Uplink(
            UplinkSettings(
                config.server_url, config.reader_id, config.token, AGENT_VERSION,
                config.batch_size, config.window, config.min_backoff_s, config.max_backoff_s,
                config.ack_timeout_s, config.ping_interval_s,
            ),
            self._journal, self.health, self._wake, self._stopping,
        )  # fmt: skip

    @property
    def uplink_connected(self) -> bool:
        return self.uplink.connected

    @property
    def rejected(self) -> str | None:
        return self.uplink.rejected

    @property
    def clock_offset(self) -> ClockOffset:
        return self.uplink.clock_offset

    def _stored(self) -> None:
        """Source thread: entries were committed; let the uplink look."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
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
        tasks = [asyncio.create_task(self.uplink.run()), asyncio.create_task(self._watch())]
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
                self._last_flush()
            else:
                log.error("the source thread did not stop within 5 s")
            self._journal.close()
            for sig in signals:
                self._loop.remove_signal_handler(sig)
            log.info("agent stopped")

    def _last_flush(self) -> None:
        """The source thread has ended: store what it still holds, a few tries."""
        for _ in range(5):
            if self.spool.flush():
                break
            time.sleep(0.2)
        else:
            log.error("%d lines could not be journalled before stopping", len(self.spool.pending))
        self.spool.journal.close()

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
                self.uplink.health_due = True
                self._wake.set()
            await self._sleep(1.0)

    def health(self) -> dict[str, Any]:
        now = now_ms()
        counts = self._journal.counts(since_ms=now - 60_000)
        last, acked = self._journal.last_seq(), self._journal.acked()
        offset, rtt = self.clock_offset.best() or (None, None)
        stats = self.source.stats
        error = stats.last_error
        if self.spool.failing is not None:
            error = f"journal: {self.spool.failing} ({len(self.spool.pending)} lines in memory)"
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
            "source_reads": stats.reads,
            "source_quarantined": stats.quarantined,
            "source_reconnects": stats.reconnects,
            "source_error": error,
        }


def run_agent(config: AgentConfig) -> None:
    """Run the agent until SIGINT/SIGTERM (blocking). Raises `AgentConfigError` for a
    bad configuration, `UplinkRejected` when the service refuses the first hello,
    `AgentError` when the source dies."""
    agent = Agent(config)
    asyncio.run(agent.run(handle_signals=True))
