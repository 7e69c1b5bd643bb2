"""Replay a simulated reader onto a serial link in accelerated real time.

The race clock runs `speed` times faster than the wall clock; each line is written
when its time comes. The link is a pyserial URL (`/dev/pts/7`, `socket://host:port`,
`rfc2217://...`), `tcp://HOST:PORT` for an LLRP reader (an emulated reader serves
the lines there as tag reports), or an open file descriptor, e.g. the master side of
`os.openpty()` whose slave the reader agent opens. (A pty slave nobody has opened
yet is in cooked mode and echoes: put it in raw mode, `tty.setraw(slave)`, first.)

Each reader behaves as its device does (`readers/simulator/decoders.py`): a RACE
RESULT decoder keeps its passings and answers pull commands, an Ultra keeps its log
and answers rewinds, so a restarted agent catches up. Such a device goes on
answering after its last line until `stop_event` is set.

Nothing here waits unboundedly: sleeps are short and capped so `stop_event` is
noticed, and a link that will not take bytes for `write_timeout` seconds has the
pending lines dropped (counted), as a real reader's line would lose them (a device
that keeps its reads still has them).
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import serial

from readers.simulator.decoders import Streaming, device_for
from readers.simulator.simulation import Simulation

MAX_SLEEP_S = 0.05  # how quickly a stop request is noticed
BATCH_BYTES = 4096
REPLY_TIMEOUT_S = 10.0  # how long a device waits to send an answer (a rewind) whole


@dataclass(slots=True)
class StreamStats:
    lines_written: int = 0
    lines_dropped: int = 0
    lines_kept: int = 0  # kept by the device until asked for (a RACE RESULT decoder)
    stopped: bool = False  # stop_event ended the stream before the last line


def stream_live(
    sim: Simulation,
    reader_id: str,
    port_url: str | int,
    speed: float = 20.0,
    stop_event: threading.Event | None = None,
    baudrate: int = 115_200,
    *,
    start_ms: int | None = None,
    started_at: float | None = None,
    write_timeout: float = 2.0,
) -> StreamStats:
    """Write `reader_id`'s lines (garbage included) to `port_url` as the race unfolds.

    `start_ms` is the race time (true epoch ms) shown when streaming begins (default:
    the reader's first line); lines due before it are skipped. `started_at`
    (`time.monotonic()`) pins that moment, so several readers streamed from
    different threads share one race clock.
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    stop = stop_event or threading.Event()
    stats = StreamStats()
    lines = sim.timed_lines(reader_id)
    clock = _RaceClock(speed, start_ms, started_at, sim.clock_offset_ms(reader_id))
    device = device_for(sim.format(reader_id), sim.context(reader_id), clock.device_ms)
    serve = device.keeps_reads and stop_event is not None
    if isinstance(port_url, str) and port_url.startswith("tcp://"):  # an LLRP reader
        from readers.llrp_emulator import serve_lines

        def pump(write: Callable[[bytes], bool]) -> None:
            _pump(lines, _ReportLink(write), device, clock, stop, stats, False)

        serve_lines(port_url, pump, stop)
    elif isinstance(port_url, int):
        with _FdLink(port_url, stop, write_timeout) as link:
            _pump(lines, link, device, clock, stop, stats, serve)
    else:
        port = serial.serial_for_url(
            port_url, baudrate=baudrate, write_timeout=write_timeout, timeout=0
        )
        try:
            _pump(lines, _SerialLink(port), device, clock, stop, stats, serve)
        finally:
            port.close()
    return stats


class _RaceClock:
    """Race time (true epoch ms) against the wall clock, `speed` times faster."""

    def __init__(
        self, speed: float, start_ms: int | None, started_at: float | None, offset_ms: int
    ) -> None:
        self.speed, self.race0, self.offset_ms = speed, start_ms, offset_ms
        self.t0 = time.monotonic() if started_at is None else started_at

    def wall_at(self, due_ms: int) -> float:
        if self.race0 is None:
            self.race0 = due_ms
        return self.t0 + (due_ms - self.race0) / 1000.0 / self.speed

    def device_ms(self) -> int:
        """The device's own clock now: race time plus the reader's clock offset."""
        race0 = self.race0 or 0
        return race0 + round((time.monotonic() - self.t0) * self.speed * 1000) + self.offset_ms


class _Link(Protocol):
    def write(self, data: bytes, term: bytes = b"", timeout: float | None = None) -> bool: ...
    def poll(self, timeout: float) -> bytes: ...


def _pump(
    lines: Iterator[tuple[int, str]],
    link: _Link,
    device: Streaming,
    clock: _RaceClock,
    stop: threading.Event,
    stats: StreamStats,
    serve: bool,
) -> None:
    batch: list[bytes] = []
    counts = [0, 0]  # lines in the batch, lines kept by the device
    size = 0

    def flush() -> None:
        nonlocal size
        if batch:
            if link.write(b"".join(batch), device.term):
                stats.lines_written += counts[0]
            else:
                stats.lines_dropped += counts[0]
            batch.clear()
            size, counts[0] = 0, 0

    def answer(timeout: float) -> None:
        commands = link.poll(timeout)
        if commands:
            flush()
            reply = device.command(commands)
            if reply:  # an answer is sent whole: a device waits for the link, not drops
                link.write(reply, device.term, REPLY_TIMEOUT_S)

    for due, line in lines:
        if clock.race0 is not None and due < clock.race0:
            continue
        wait = clock.wall_at(due) - time.monotonic()
        if wait > 0:
            flush()  # what is due goes out before we sleep
            while wait > 0:
                if stop.is_set():
                    stats.stopped = True
                    return
                answer(min(wait, MAX_SLEEP_S))
                wait = clock.wall_at(due) - time.monotonic()
        if stop.is_set():
            stats.stopped = True
            return
        data = device.due(line)
        if data:
            batch.append(data)
            counts[0] += 1
            size += len(data)
        else:
            stats.lines_kept += 1
        if size >= BATCH_BYTES:
            flush()
        answer(0)
    flush()
    while serve and not stop.is_set():  # the device keeps its reads: answer until stopped
        answer(MAX_SLEEP_S)


class _FdLink:
    """Writes to a file descriptor without ever blocking for long (pty masters fill up)."""

    def __init__(self, fd: int, stop: threading.Event, timeout: float) -> None:
        self.fd = fd
        self.stop = stop
        self.timeout = timeout
        self._was_blocking = True

    def __enter__(self) -> _FdLink:
        self._was_blocking = os.get_blocking(self.fd)
        os.set_blocking(self.fd, False)
        return self

    def __exit__(self, *exc: object) -> None:
        os.set_blocking(self.fd, self._was_blocking)

    def poll(self, timeout: float) -> bytes:
        """Bytes the other end wrote (commands), waiting at most `timeout` seconds."""
        if timeout > 0:
            select.select([self.fd], [], [], timeout)
        try:
            return os.read(self.fd, 65536)
        except (BlockingIOError, OSError):  # nothing waiting, or no one has the slave open
            return b""

    def write(self, data: bytes, term: bytes = b"", timeout: float | None = None) -> bool:
        """Write `data`; False if the link would not take it all within the timeout.

        A line begun is always finished (a further timeout at most), so a full link
        drops whole lines, never halves of them.
        """
        view = memoryview(data)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while view:
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                n = 0
            view = view[n:]
            if view:
                left = deadline - time.monotonic()
                if left <= 0 or self.stop.is_set():
                    return self._finish_line(view, term)
                select.select([], [self.fd], [], min(left, MAX_SLEEP_S))
        return True

    def _finish_line(self, rest: memoryview, term: bytes) -> bool:
        written = len(rest.obj) - len(rest)  # type: ignore[arg-type]
        if not term or written == 0 or bytes(rest.obj[written - len(term) : written]) == term:
            return False  # stopped on a line boundary
        end = bytes(rest).find(term)
        tail = rest[: end + len(term)] if end >= 0 else rest
        deadline = time.monotonic() + self.timeout
        while tail and time.monotonic() < deadline:
            try:
                tail = tail[os.write(self.fd, tail) :]
            except BlockingIOError:
                select.select([], [self.fd], [], MAX_SLEEP_S)
        return False


class _ReportLink:
    """An LLRP reader's link: lines become tag reports; the reader takes no commands."""

    def __init__(self, write: Callable[[bytes], bool]) -> None:
        self._write = write

    def write(self, data: bytes, term: bytes = b"", timeout: float | None = None) -> bool:
        return self._write(data)

    def poll(self, timeout: float) -> bytes:
        time.sleep(timeout)
        return b""


class _SerialLink:
    def __init__(self, port: serial.SerialBase) -> None:
        self.port = port

    def write(self, data: bytes, term: bytes = b"", timeout: float | None = None) -> bool:
        try:
            self.port.write(data)
        except serial.SerialTimeoutException:
            return False
        return True

    def poll(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            waiting = self.port.in_waiting
            if waiting:
                return self.port.read(waiting)
            left = deadline - time.monotonic()
            if left <= 0:
                return b""
            time.sleep(min(left, 0.01))
