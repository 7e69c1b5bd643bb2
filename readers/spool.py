"""Lines read from the port, held in memory until the journal has them.

The source thread hands every line here, then calls `flush()` once per chunk (and
about once a second): the lines and the reader session's resume position go into the
journal in one transaction. When the journal cannot take them (disk full, another
program holding its lock, an I/O error) they stay here and the next flush tries
again, so the port is still read and nothing is lost once the fault clears. Were the
agent killed meanwhile, the position stored in the journal is the one of the last
stored line, so a reader that keeps its reads is asked for them again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from readers.journal import Journal, JournalError, NewEntry
from readers.read import Read
from readers.uplink_messages import unstorable

log = logging.getLogger("readers.agent")


class Spool:
    """Source thread only (the journal connection is that thread's)."""

    def __init__(
        self,
        journal: Journal,
        position: Callable[[], dict | None],
        on_stored: Callable[[], None],
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.journal = journal
        self.position = position  # the reader session's checkpoint, after the lines fed
        self.on_stored = on_stored  # called after entries were committed
        self.clock_ms = clock_ms
        self.pending: list[NewEntry] = []
        self.failing: str | None = None  # the journal's last error while it fails
        self._failures = 0
        self._stored_position: dict | None = journal.position()

    def read(self, read: Read, raw: str) -> None:
        why = unstorable(read.antenna, read.time_ms, read.rssi, read.reader_seq)
        if why:  # parsed, but no journal or service could hold it: keep the line
            self.quarantine(f"unstorable read: {why}", raw)
        else:
            self.pending.append(NewEntry(raw, self.clock_ms(), read))

    def quarantine(self, reason: str, raw: str) -> None:
        self.pending.append(NewEntry(raw, self.clock_ms(), reason=reason))

    def flush(self) -> bool:
        """Store what is pending; False while the journal refuses it (kept for later)."""
        position = self.position()
        moved = position != self._stored_position
        if not self.pending and not moved:
            return True
        try:
            self.journal.append(self.pending, position if moved else None)
        except JournalError as exc:
            self._failed(str(exc))
            return False
        if self.failing is not None:
            log.warning(
                "journal %s writable again: %d lines held in memory are stored",
                self.journal.reader, len(self.pending),
            )  # fmt: skip
        self.failing, self._failures = None, 0
        self._stored_position = position
        stored = bool(self.pending)
        self.pending = []
        if stored:
            self.on_stored()
        return True

    def _failed(self, reason: str) -> None:
        self._failures += 1
        if self.failing is None or self._failures % 30 == 0:
            log.error(
                "journal of reader %s cannot be written (%s): %d lines held in memory; "
                "the port is still read and the journal retried every second; free "
                "space or stop the program that holds the journal",
                self.journal.reader, reason, len(self.pending),
            )  # fmt: skip
        self.failing = reason
