"""Serial and TCP sources: the pyserial I/O that drives a format's sans-I/O `Session`.

A source opens any pyserial URL (`/dev/ttyUSB0`, `socket://10.0.0.5:23`,
`rfc2217://host:port`), reads chunks, splits lines itself, feeds them to the session
and writes the session's answers back. Each read goes to `on_read(read, raw)`; a line
the format rejects, or on which it fails in any other way, goes to
`on_quarantine(reason, raw)` and reading goes on with the rest of the chunk. When the
port fails or vanishes, the source closes it and reopens with capped exponential
back-off. It runs in its own thread because pyserial blocks.

Bytes are decoded as latin-1: every byte maps to one character, so decoding never
fails, the raw line kept in the journal gives back the exact bytes on the wire
(`raw.encode("latin-1")`), and line noise from a wrong baud rate stays visible in
quarantine instead of becoming U+FFFD. Reader protocols are ASCII.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import serial

from readers.formats import Session
from readers.read import ParseError, Read

if TYPE_CHECKING:
    from readers.llrp_source import LlrpSource

log = logging.getLogger(__name__)

ReadCallback = Callable[[Read, str], None]
QuarantineCallback = Callable[[str, str], None]  # (reason, raw line)

_EOL = re.compile(rb"\r\n|\r|\n")


class LineSplitter:
    """Incremental line splitter: chunks in, complete lines out, on CR, LF or CRLF.

    A CR at the end of a chunk ends the line at once; an LF opening the next chunk is
    then the rest of that CRLF and is dropped. Blank lines are dropped. A line longer
    than `max_line` bytes is cut into `max_line` pieces, so a device that never sends
    a terminator cannot grow memory; the pieces do not depend on how bytes were chunked.
    """

    def __init__(self, max_line: int = 4096) -> None:
        if max_line < 1:
            raise ValueError("max_line must be 1 or more")
        self.max_line = max_line
        self._buf = b""
        self._after_cr = False

    def feed(self, chunk: bytes) -> list[bytes]:
        if not chunk:
            return []
        if self._after_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._after_cr = chunk.endswith(b"\r")
        *complete, rest = _EOL.split(self._buf + chunk)
        lines: list[bytes] = []
        for line in complete:
            lines.extend(self._cut(line, keep_tail=False)[0])
        pieces, self._buf = self._cut(rest, keep_tail=True)
        lines.extend(pieces)
        return [line for line in lines if line.strip()]

    def pending(self) -> bytes:
        """Bytes of a line whose terminator has not arrived yet."""
        return self._buf

    def _cut(self, data: bytes, keep_tail: bool) -> tuple[list[bytes], bytes]:
        n = self.max_line
        if len(data) <= n and not keep_tail:
            return [data], b""
        whole = len(data) - len(data) % n if keep_tail else len(data)
        return [data[i : i + n] for i in range(0, whole, n)], data[whole:]


@dataclass(frozen=True, slots=True)
class PortSettings:
    """Line settings for a local serial port (ignored by `socket://`)."""

    baudrate: int = 9600
    bytesize: int = serial.EIGHTBITS
    parity: str = serial.PARITY_NONE
    stopbits: float = serial.STOPBITS_ONE
    xonxoff: bool = False
    rtscts: bool = False
    exclusive: bool = True  # a second program reading the same reader would split the stream


@dataclass
class SourceStats:
    lines: int = 0
    reads: int = 0
    quarantined: int = 0
    reconnects: int = 0  # successful reopenings after the port was lost
    last_read_time: float | None = None  # clock() of the last read, epoch seconds
    connected: bool = False
    last_error: str | None = None


class _Quiet(Exception):
    """No byte for `idle_reopen_s`: reopen to learn whether the device is still there."""


class SourceThread(ABC):
    """A source's loop (`run`, which returns once `_stop` is set) in a thread of its own;
    every source (serial, TCP, LLRP) is driven through these three calls."""

    url: str

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def run(self) -> None:
        """Open, pump, reopen with back-off; return when `stop()` is called."""

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("source already started")
        # A daemon thread: a port stuck in the kernel must never keep the process alive.
        self._thread = threading.Thread(target=self.run, name=f"source {self.url}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the loop to end and wait at most `timeout` seconds; True if it ended."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


class SerialSource(SourceThread):
    """Reads one reader through pyserial in a thread, reconnecting until `stop()`.

    `on_flush()`, when given, is called after the lines of each chunk were handed over
    and before the session's answers are written: a journal commits there, so that
    nothing is acknowledged to a reader before it is stored. It is also called about
    once a second while nothing arrives, so a journal that failed is retried.
    """

    def __init__(
        self,
        url: str,
        session: Session,
        on_read: ReadCallback,
        on_quarantine: QuarantineCallback,
        *,
        on_flush: Callable[[], None] | None = None,
        settings: PortSettings | None = None,
        min_backoff: float = 0.5,
        max_backoff: float = 10.0,
        idle_reopen_s: float | None = 30.0,
        read_timeout: float = 0.2,
        tick_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.session = session
        self.on_read = on_read
        self.on_quarantine = on_quarantine
        self.on_flush = on_flush
        self.settings = settings or PortSettings()
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.idle_reopen_s = idle_reopen_s
        self.read_timeout = read_timeout
        self.tick_interval = tick_interval
        self.clock = clock
        self.stats = SourceStats()
        super().__init__()
        self._new_port()  # a bad URL scheme or setting fails now, not in the thread

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        """Open, pump, reopen with back-off; returns when `stop()` is called."""
        delay = self.min_backoff
        lost_at: float | None = None  # monotonic time the port was lost, None while fine
        attempts = 0
        while not self._stop.is_set():
            try:
                port = self._open()
            except OSError as exc:  # serial.SerialException is an OSError
                attempts += 1
                self.stats.last_error = str(exc)
                if lost_at is None:
                    lost_at = time.monotonic()
                    log.warning("%s: cannot open: %s; retrying with back-off", self.url, exc)
                elif attempts % 10 == 0:
                    down = time.monotonic() - lost_at
                    log.warning(
                        "%s: still down after %.0f s (%d attempts): %s",
                        self.url,
                        down,
                        attempts,
                        exc,
                    )
                else:
                    log.debug("%s: open failed (attempt %d): %s", self.url, attempts, exc)
                self._flush()
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            if lost_at is not None:
                self.stats.reconnects += 1
                log.warning(
                    "%s: reconnected after %.1f s (%d failed attempts)",
                    self.url,
                    time.monotonic() - lost_at,
                    attempts,
                )
            else:
                log.info("%s: open", self.url)
            lost_at, attempts = None, 0
            self.stats.connected = True
            got_data, quiet = False, False
            try:
                got_data = self._pump(port)
            except _Quiet:
                quiet = True
                log.debug(
                    "%s: quiet for %.0f s; reopening to check the device",
                    self.url,
                    self.idle_reopen_s,
                )
            except OSError as exc:
                self.stats.last_error = str(exc)
                lost_at = time.monotonic()
                log.warning("%s: connection lost: %s; reopening with back-off", self.url, exc)
            finally:
                self.stats.connected = False
                _close_quietly(port)
            if got_data:
                delay = self.min_backoff
            if quiet or self._stop.is_set():
                continue
            self._stop.wait(delay)
            delay = min(delay * 2, self.max_backoff)
        log.info("%s: source stopped", self.url)

    def _open(self) -> serial.SerialBase:
        port = self._new_port()
        _open_keeping_input(port)
        return port

    def _new_port(self) -> serial.SerialBase:
        """An unopened port; raises ValueError for an unknown URL scheme or bad settings."""
        s = self.settings
        return serial.serial_for_url(
            self.url,
            do_not_open=True,
            baudrate=s.baudrate,
            bytesize=s.bytesize,
            parity=s.parity,
            stopbits=s.stopbits,
            xonxoff=s.xonxoff,
            rtscts=s.rtscts,
            exclusive=s.exclusive,
            timeout=self.read_timeout,
            write_timeout=2.0,  # a port stuck on flow control counts as lost
        )

    def _pump(self, port: serial.SerialBase) -> bool:
        """Read until stop (returns whether data came) or until the port fails (raises)."""
        got_data = False
        splitter = LineSplitter()
        self._send(port, self.session.connected())
        now = time.monotonic()
        last_rx, next_tick = now, now + self.tick_interval
        while not self._stop.is_set():
            chunk = port.read(port.in_waiting or 1)
            now = time.monotonic()
            if chunk:
                got_data, last_rx = True, now
                replies = self._handle(splitter.feed(chunk))
                self._flush()
                self._send(port, replies)
            elif self.idle_reopen_s is not None and now - last_rx > self.idle_reopen_s:
                raise _Quiet
            if now >= next_tick:
                next_tick = now + self.tick_interval
                if not chunk:
                    self._flush()
                self._send(port, self.session.tick(self.clock()))
        return got_data

    def _handle(self, lines: list[bytes]) -> bytes:
        replies = bytearray()
        for data in lines:
            line = data.decode("latin-1")
            self.stats.lines += 1
            try:
                read, reply = self.session.feed(line)
            except Exception as exc:
                # A ParseError says why the line is bad; any other exception is a format
                # defect on a line we did not foresee: the line is kept all the same.
                reason = exc.reason if isinstance(exc, ParseError) else _describe(exc)
                self.stats.quarantined += 1
                log.debug("%s: quarantined %r: %s", self.url, line, reason)
                self.on_quarantine(reason, line)
                continue
            replies += reply
            if read is not None:
                self.stats.reads += 1
                self.stats.last_read_time = self.clock()
                self.on_read(read, line)
        return bytes(replies)

    def _flush(self) -> None:
        if self.on_flush is not None:
            self.on_flush()

    @staticmethod
    def _send(port: serial.SerialBase, data: bytes) -> None:
        if data:
            port.write(data)
            port.flush()


def _describe(exc: Exception) -> str:
    """A short reason for an unexpected exception (its message may be a huge number)."""
    text = str(exc)
    text = text if len(text) <= 200 else text[:200] + "..."
    return f"the format failed on this line: {type(exc).__name__}: {text}"


def _open_keeping_input(port: serial.SerialBase) -> None:
    """Open without the input flush pyserial does in `open()`.

    pyserial discards what is already waiting when it opens a port (tcflush on a tty,
    recv-and-drop on `socket://`). For us those bytes are reads: lines a device sent
    while the agent was restarting, a reader dumping stored reads on connect. The
    flush hooks are shadowed on the instance for the duration of `open()` only.
    """
    port.reset_input_buffer = _no_flush  # type: ignore[method-assign]
    port._reset_input_buffer = _no_flush  # type: ignore[attr-defined]
    try:
        port.open()
    finally:
        del port.reset_input_buffer
        del port._reset_input_buffer


def _no_flush() -> None:
    return None


def _close_quietly(port: serial.SerialBase) -> None:
    try:
        port.close()
    except OSError as exc:  # closing a vanished device can fail; it is closed either way
        log.debug("close failed: %s", exc)


def open_source(url: str, *args: Any, **kwargs: Any) -> SerialSource | LlrpSource:
    """The source for a port URL: `tcp://` is an LLRP reader (readers/llrp_source.py),
    anything else a pyserial URL. Arguments as for `SerialSource`."""
    if url.startswith("tcp://"):
        from readers.llrp_source import LlrpSource  # imports llrpkit only when used

        return LlrpSource(url, *args, **kwargs)
    return SerialSource(url, *args, **kwargs)
