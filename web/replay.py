"""Replay: score an event folder from reader logs in their native formats.

Each log line is journalled (idempotently: lines already stored from the same log
are skipped), quarantined if it does not parse, and fed to the same engine the live
service uses. Reads and quarantined lines are written together, batch by batch, so a
replay killed at any point and run again stores exactly what one run would.

A log still being written may end in the middle of a line: a last line without its
end of line is left for the next replay, once the reader has finished writing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from readers.counts import LineCounts
from readers.formats import get_format
from readers.read import FormatContext, ParseError
from timing.actions import replay_actions
from timing.engine import Engine, EventResults
from timing.folder import EventFolder
from timing.reads import JournalRow
from timing.store import QuarantineRow, Store, now_ms

BATCH = 20_000
log = logging.getLogger(__name__)


@dataclass
class ReplaySummary:
    lines: int = 0  # lines read this time: counts.lines
    new_reads: int = 0
    skipped_lines: int = 0  # already journalled by an earlier replay of the same log
    quarantined_new: int = 0
    pending: int = 0  # logs whose last line has no end of line yet: read next time
    counts: LineCounts = field(default_factory=LineCounts)  # of the lines read this time


def build_engine(folder: EventFolder, store: Store, final: bool = False) -> Engine:
    """An engine holding every read and every director decision already journalled;
    `final`: the logs are complete, every race is closed (runners not in are DNF)."""
    engine = Engine(folder)
    for batch in store.iter_reads():
        engine.add_reads(batch)
    for skipped in replay_actions(engine, store.actions()):
        log.warning(
            "director action %s (%s %s) no longer applies, skipped: %s",
            skipped.id,
            skipped.kind,
            skipped.target,
            skipped.reason,
        )
    if final:
        engine.set_final()
    return engine


def ingest_log(
    folder: EventFolder,
    store: Store,
    engine: Engine,
    reader_id: str,
    path: Path,
    summary: ReplaySummary,
    progress: Callable[[int], None] | None = None,
) -> bool:
    """Journal one reader log and feed its new reads to the engine.

    Returns False if some reads turned out to be stored already under other ids (a
    log rewritten in place): the caller must then rebuild the engine from the journal.
    """
    reader = folder.event.readers[reader_id]
    fmt = get_format(reader.format)
    ctx = FormatContext(reader_id, folder.event.timezone, folder.event.date, reader.devices)
    source = f"log:{path.name}"
    upto = store.last_seq(reader_id, source)
    received = now_ms()
    batch: list[JournalRow] = []
    bad: list[QuarantineRow] = []
    clean = True
    replies = 0

    def flush() -> None:
        # Reads and quarantined lines up to here in one transaction: a fault (a full
        # disk, a kill) keeps both or neither, so a rerun resumes after the last seq.
        nonlocal clean
        rows, ok = store.append_reads(batch, bad)
        engine.add_reads(rows)
        clean = clean and ok
        summary.new_reads += len(rows)
        summary.quarantined_new += len(bad)
        batch.clear()
        bad.clear()

    def quarantine(seq: int, line: str, reason: str) -> None:
        bad.append((reader_id, source, seq, line, reason, received))

    done = quarantined = reads = 0
    # Universal newlines: readers end lines with CR (Wiclax), LF or CRLF. Latin-1 maps
    # every byte to one character, as the serial sources do, so the raw line is exact.
    with path.open(encoding="latin-1", newline=None) as handle:
        for seq, text in enumerate(handle, start=1):
            if seq <= upto:
                summary.skipped_lines += 1
                continue
            if not text.endswith("\n"):
                summary.pending += 1  # cut mid-line: the reader is still writing it
                break
            line = text[:-1]
            if not line or line.isspace():
                replies += 1  # a blank separator, as RACE RESULT ends a list
                continue
            try:
                read = fmt.parse(line, ctx)
            except ParseError as exc:
                quarantine(seq, line, exc.reason)
                quarantined += 1
                continue
            if read is None:
                replies += 1  # a banner, heartbeat or reply: not a read
                continue
            if read.reader != reader_id:
                quarantine(
                    seq, line, f"line is from reader {read.reader!r}, log is for {reader_id!r}"
                )
                quarantined += 1
                continue
            reads += 1
            batch.append(
                JournalRow(
                    reader_id,
                    read.chip,
                    read.antenna,
                    read.time_ms,
                    read.rssi,
                    read.reader_seq,
                    source,
                    seq,
                    received,
                    line,
                )
            )
            if len(batch) + len(bad) >= BATCH:
                flush()
                if progress is not None:
                    position = handle.buffer.tell()
                    progress(position - done)
                    done = position
    flush()
    if progress is not None:
        progress(path.stat().st_size - done)
    counts = LineCounts(reads, replies, quarantined)
    summary.counts = summary.counts + counts
    summary.lines += counts.lines
    return clean


def replay(
    folder: EventFolder,
    store: Store,
    logs: list[tuple[str, Path]],
    progress: Callable[[int], None] | None = None,
    final: bool = False,
) -> tuple[EventResults, ReplaySummary]:
    summary = ReplaySummary()
    engine = build_engine(folder, store, final)
    clean = True
    for reader_id, path in logs:
        clean = ingest_log(folder, store, engine, reader_id, path, summary, progress) and clean
    if not clean:
        engine = build_engine(folder, store, final)
    return engine.results(), summary
