"""Helpers for the source and agent tests: bounded waits, pseudo-terminals, CSV lines."""

from __future__ import annotations

import os
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from readers.formats import get_format
from readers.read import FormatContext, Read

TZ = ZoneInfo("Europe/London")
CTX = FormatContext("FIN", TZ)
T0_MS = 1_776_000_000_000  # 2026-04-12, race morning


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> None:
    """Poll until `predicate()` is true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


def csv_line(i: int, reader: str = "FIN") -> str:
    """The i-th retrotime-csv read, written by the format's own emitter."""
    read = Read(reader, f"0580037{i:05d}", 1 + i % 4, T0_MS + 137 * i, -40.0 - i % 30)
    return get_format("retrotime-csv").emit(read, CTX)


@dataclass
class Pty:
    master: int
    slave: int  # kept open by the test, so the tty outlives the program reading it
    name: str

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]


@contextmanager
def open_pty() -> Iterator[Pty]:
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo, no line editing: bytes pass through as a serial line would
    pty = Pty(master, slave, os.ttyname(slave))
    try:
        yield pty
    finally:
        for fd in (pty.master, pty.slave):
            with suppress(OSError):  # a test may have closed it to make the device vanish
                os.close(fd)
