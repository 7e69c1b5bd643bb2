"""The TCP source for LLRP readers: `port = "tcp://HOST:5084?antennas=1,2"` in event.toml.

It connects, lets `LlrpClient` (readers/llrp_client.py) bring the reader to its known
state, and turns each tag report into an `llrp` text line (readers/formats/llrp.py) that
goes through the format like any reader's line: a read to `on_read(read, line)`, or a
quarantined line to `on_quarantine`. `on_flush` (the journal's commit) runs after each
chunk's lines, before anything is answered. The same interface as `SerialSource`, so the
agent drives both alike. A lost link is reopened with capped exponential back-off; the
reader buffers its reports meanwhile and releases them on the next connection.

URL options (docs/llrp.md): `antennas=1,2,3` (default every port), `session=1`,
`search_mode=dual-target`, `tag_population=32`, `keepalive_ms=5000`, `impinj=0` to drive a
reader with plain LLRP.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from llrpkit.protocol import messages

from readers.formats import Session
from readers.llrp_client import LlrpClient, LlrpError, LlrpSettings
from readers.read import ParseError
from readers.sources import (
    PortSettings,
    QuarantineCallback,
    ReadCallback,
    SourceStats,
    SourceThread,
)

log = logging.getLogger(__name__)

DEFAULT_PORT = 5084
_OPTIONS = {"session": int, "search_mode": str, "tag_population": int, "keepalive_ms": int}


def parse_llrp_url(url: str) -> tuple[str, int, LlrpSettings]:
    """(host, port, settings) of `tcp://HOST[:PORT][?options]`; ValueError if malformed."""
    parts = urlsplit(url)
    if parts.scheme != "tcp" or not parts.hostname:
        raise ValueError(f"{url!r}: an LLRP reader's port is tcp://HOST:5084")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - set(_OPTIONS) - {"antennas", "impinj"}
    if unknown:
        raise ValueError(f"{url!r}: unknown option(s) {', '.join(sorted(unknown))}")
    kwargs: dict[str, object] = {}
    try:
        for key, kind in _OPTIONS.items():
            if key in query:
                kwargs[key] = kind(query[key][-1])
        if "antennas" in query and query["antennas"][-1]:
            kwargs["antennas"] = tuple(sorted({int(a) for a in query["antennas"][-1].split(",")}))
        if "impinj" in query:
            kwargs["impinj"] = query["impinj"][-1] not in ("0", "false", "no")
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise ValueError(f"{url!r}: {exc}") from None
    return parts.hostname, port, LlrpSettings(**kwargs)  # type: ignore[arg-type]


def with_antennas(url: str, antennas: set[int]) -> str:
    """`url` asking for `antennas`, unless it names its own."""
    if not antennas or "antennas=" in urlsplit(url).query:
        return url
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}antennas={','.join(str(a) for a in sorted(antennas))}"


class LlrpSource(SourceThread):
    def __init__(
        self,
        url: str,
        session: Session,
        on_read: ReadCallback,
        on_quarantine: QuarantineCallback,
        *,
        on_flush: Callable[[], None] | None = None,
        settings: PortSettings | None = None,  # serial line settings: nothing to set on TCP
        min_backoff: float = 0.5,
        max_backoff: float = 10.0,
        connect_timeout: float = 5.0,
        read_timeout: float = 0.2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.host, self.port, self.llrp = parse_llrp_url(url)
        self.session = session
        self.on_read = on_read
        self.on_quarantine = on_quarantine
        self.on_flush = on_flush
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.clock = clock
        self.stats = SourceStats()
        self.client: LlrpClient | None = None  # the current connection's conversation
        super().__init__()

    # -- the loop -----------------------------------------------------------------------

    def run(self) -> None:
        delay, ever = self.min_backoff, False
        while not self._stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), self.connect_timeout)
            except OSError as exc:
                self.stats.last_error = str(exc)
                log.warning("%s: cannot connect: %s; retrying in %.1f s", self.url, exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            if ever:
                self.stats.reconnects += 1
            ever = True
            try:
                if self._pump(sock):
                    delay = self.min_backoff
            except (OSError, LlrpError) as exc:
                self.stats.last_error = str(exc)
                log.warning("%s: %s; reconnecting in %.1f s", self.url, exc, delay)
            finally:
                self.stats.connected = False
                with contextlib.suppress(OSError):
                    sock.close()
            if not self._stop.is_set():
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_backoff)
        log.info("%s: source stopped", self.url)

    def _pump(self, sock: socket.socket) -> bool:
        """One connection until stop (then closed politely) or failure (raises).
        Returns whether the reader reached the running state."""
        sock.settimeout(self.read_timeout)
        client = self.client = LlrpClient(self.llrp, time.monotonic())
        next_tick = time.monotonic() + 1.0
        while not self._stop.is_set():
            try:
                data = sock.recv(65536)
            except TimeoutError:
                data = None
            now = time.monotonic()
            if data == b"":
                raise ConnectionResetError("the reader closed the connection")
            if data:
                self._handle(client, client.receive(data, now))
            self.stats.connected = client.state == "running"
            sock.sendall(client.outgoing())
            if now >= next_tick:
                next_tick = now + 1.0
                client.tick(now)
        self._close(sock, client)
        return client.state == "running"

    def _close(self, sock: socket.socket, client: LlrpClient) -> None:
        """CLOSE_CONNECTION, journalling the reports sent before the reader's answer: the
        reader keeps inventorying and buffers what follows for the next connection."""
        with contextlib.suppress(OSError, LlrpError):
            sock.sendall(messages.CLOSE_CONNECTION().to_bytes(message_id=0xFFFF_FFFF))
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                self._handle(client, client.receive(data, time.monotonic()))

    def _handle(self, client: LlrpClient, lines: list[str]) -> None:
        for frame in client.undecodable:
            self.stats.lines += 1
            self.stats.quarantined += 1
            self.on_quarantine("undecodable LLRP frame", f"llrp-frame:{frame}")
        client.undecodable.clear()
        for line in lines:
            self.stats.lines += 1
            try:
                read, _ = self.session.feed(line)
            except ParseError as exc:
                self.stats.quarantined += 1
                self.on_quarantine(exc.reason, line)
                continue
            if read is not None:
                self.stats.reads += 1
                self.stats.last_read_time = self.clock()
                self.on_read(read, line)
        if lines and self.on_flush is not None:
            self.on_flush()
