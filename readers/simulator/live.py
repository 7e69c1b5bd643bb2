"""Replay a simulated reader onto a serial link in accelerated real time.

The race clock runs `speed` times faster than the wall clock; each line is written
when its time comes. The link is a pyserial URL (`/dev/pts/7`, `socket://host:port`,
`rfc2217://...`), `tcp://HOST:PORT` for an LLRP reader (an emulated reader serves
the lines there as tag reports), or an open file descriptor, e.g. the master side of
`os.openpty()` whose slave the reader agent opens. (A pty slave nobody has opened
yet is in cooked mode and echoes: put it in raw mode, `tty.setraw(slave)`, first.)

Nothing here waits unboundedly: sleeps are short and capped so `stop_event` is
noticed, and a link that will not take bytes for `write_timeout` seconds has the
pending lines dropped (counted), as a real reader's line would lose them.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import serial

from readers.simulator.simulation import Simulation

MAX_SLEEP_S = 0.05  # how quickly a stop request is noticed
BATCH_BYTES = 4096


@dataclass(slots=True)
class StreamStats:
    lines_written: int = 0
    lines_dropped: int = 0
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
    term = sim.format(reader_id).terminator
    stats = StreamStats()
    lines = sim.timed_lines(reader_id)
    if isinstance(port_url, str) and port_url.startswith("tcp://"):  # an LLRP reader
        from readers.llrp_emulator import serve_lines

        def pump(write: Callable[[bytes], bool]) -> None:
            _pump(lines, write, term, speed, stop, stats, start_ms, started_at)

        serve_lines(port_url, pump, stop)
    elif isinstance(port_url, int):
        with _FdLink(port_url, stop, write_timeout) as link:
            _pump(lines, link.write, term, speed, stop, stats, start_ms, started_at)
    else:
        port = serial.serial_for_url(port_url, baudrate=baudrate, write_timeout=write_timeout)
        try:
            _pump(lines, _serial_writer(port), term, speed, stop, stats, start_ms, started_at)
        finally:
            port.close()
    return stats


def _pump(
    lines: Iterator[tuple[int, str]],
    write: Callable[[bytes], bool],
    term: bytes,
    speed: float,
    stop: threading.Event,
    stats: StreamStats,
    start_ms: int | None,
    started_at: float | None,
) -> None:
    t0 = time.monotonic() if started_at is None else started_at
    race0 = start_ms
    batch: list[bytes] = []
    size = 0

    def flush() -> None:
        nonlocal size
        if batch:
            if write(b"".join(batch)):
                stats.lines_written += len(batch)
            else:
                stats.lines_dropped += len(batch)
            batch.clear()
            size = 0

    for due, line in lines:
        if race0 is None:
            race0 = due
        if due < race0:
            continue
        wait = t0 + (due - race0) / 1000.0 / speed - time.monotonic()
        if wait > 0:
            flush()  # what is due goes out before we sleep
            while wait > 0:
                if stop.wait(min(wait, MAX_SLEEP_S)):
                    stats.stopped = True
                    return
                wait = t0 + (due - race0) / 1000.0 / speed - time.monotonic()
        if stop.is_set():
            stats.stopped = True
            return
        data = line.encode("utf-8") + term
        batch.append(data)
        size += len(data)
        if size >= BATCH_BYTES:
            flush()
    flush()


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

    def write(self, data: bytes) -> bool:
        view = memoryview(data)
        deadline = time.monotonic() + self.timeout
        while view:
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                n = 0
            view = view[n:]
            if view:
                left = deadline - time.monotonic()
                if left <= 0 or self.stop.is_set():
                    return False
                select.select([], [self.fd], [], min(left, MAX_SLEEP_S))
        return True


def _serial_writer(port: serial.SerialBase) -> Callable[[bytes], bool]:
    def write(data: bytes) -> bool:
        try:
            port.write(data)
        except serial.SerialTimeoutException:
            return False
        return True

    return write
