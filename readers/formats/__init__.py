"""Reader formats: sans-I/O parse and emit of the lines each kind of reader sends.

A format turns one line (without its terminator) into a `Read`, or `None` for a line
that is not a read (banner, heartbeat, command reply), and raises `ParseError` for a
line it cannot make sense of: `parse` raises nothing else, whatever the line, and every
read it returns is within the bounds of `readers.read` (storable, showable). `emit`
writes a read as the hardware would. No format opens a port: sources
(`readers/sources.py`) do the I/O.
"""

from __future__ import annotations

from typing import Protocol

from readers.read import FormatContext, Read


class ReaderFormat(Protocol):
    name: str
    has_rssi: bool  # the format carries a signal strength per read
    terminator: bytes  # what the device ends a line with

    def parse(self, line: str, ctx: FormatContext) -> Read | None: ...

    def emit(self, read: Read, ctx: FormatContext) -> str: ...


_REGISTRY: dict[str, ReaderFormat] = {}


def register(fmt: ReaderFormat) -> ReaderFormat:
    _REGISTRY[fmt.name] = fmt
    return fmt


def get_format(name: str) -> ReaderFormat:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown reader format {name!r} (known: {known})") from None


def format_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def _load_builtin() -> None:
    # Imported lazily so that importing one format does not pull in all of them.
    import importlib
    import pkgutil

    import readers.formats as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"readers.formats.{info.name}")


class Session:
    """A sans-I/O conversation with one reader: lines in, reads and bytes to send out.

    The default speaks no commands and only parses. A format whose protocol has
    commands (start reading, pull stored reads by index, heartbeats, clock) provides
    its own subclass through a `session(ctx)` method; sources drive it over any link.
    """

    def __init__(self, fmt: ReaderFormat, ctx: FormatContext) -> None:
        self.fmt = fmt
        self.ctx = ctx

    def connected(self) -> bytes:
        """What to send when the link (re)opens."""
        return b""

    def feed(self, line: str) -> tuple[Read | None, bytes]:
        """One received line: the read it holds (or None) and any bytes to answer.

        Raises `ParseError` for a line that should be quarantined.
        """
        return self.fmt.parse(line, self.ctx), b""

    def tick(self, now_s: float) -> bytes:
        """Called about once a second: periodic commands (heartbeat, pull by index)."""
        return b""

    def checkpoint(self) -> dict | None:
        """Where to resume after a restart (JSON-able), for readers that keep their reads.

        The agent journals it with the reads it accounts for and gives it back to
        `restore` in a new process, so the device is asked only for what is missing.
        """
        return None

    def restore(self, checkpoint: dict) -> None:
        """Resume from a `checkpoint()` of an earlier process."""


def open_session(fmt: ReaderFormat, ctx: FormatContext) -> Session:
    factory = getattr(fmt, "session", None)
    return factory(ctx) if factory is not None else Session(fmt, ctx)
