"""Replay: score an event folder from reader logs in their native formats.

Each log is read by `readers.log_file` (lines already journalled from the same log
skipped, a last line still being written left for next time) and its lines go through
the live service's ingest (`timing.ingest`): reads and quarantined lines journalled
together, batch by batch, then fed to the engine. So a replay killed at any point and
run again stores exactly what one run would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from readers.counts import LineCounts
from readers.formats import get_format
from readers.log_file import LogFile
from readers.read import FormatContext, Read
from timing.engine import Engine, EventResults
from timing.folder import EventFolder
from timing.ingest import Ingest, build_engine
from timing.reads import JournalRow
from timing.store import Store, now_ms


@dataclass
class ReplaySummary:
    lines: int = 0  # lines read this time: counts.lines
    new_reads: int = 0
    skipped_lines: int = 0  # already journalled by an earlier replay of the same log
    quarantined_new: int = 0
    pending: int = 0  # logs whose last line has no end of line yet: read next time
    counts: LineCounts = field(default_factory=LineCounts)  # of the lines read this time


def replay(
    folder: EventFolder,
    store: Store,
    logs: list[tuple[str, Path]],
    progress: Callable[[int], None] | None = None,
    final: bool = False,
) -> tuple[EventResults, ReplaySummary]:
    summary = ReplaySummary()
    ingest = Ingest(store, follows=False)
    engine = build_engine(folder, store, final)
    for reader_id, path in logs:
        engine = ingest_log(folder, ingest, engine, reader_id, path, summary, progress, final)
    return engine.results(), summary


def ingest_log(
    folder: EventFolder,
    ingest: Ingest,
    engine: Engine,
    reader_id: str,
    path: Path,
    summary: ReplaySummary,
    progress: Callable[[int], None] | None = None,
    final: bool = False,
) -> Engine:
    """Journal one reader log and feed its new reads to `engine`; return the engine to
    go on with (one rebuilt from the journal if the log's reads did not add up)."""
    reader = folder.event.readers[reader_id]
    ctx = FormatContext(reader_id, folder.event.timezone, folder.event.date, reader.devices)
    source = f"log:{path.name}"
    log = LogFile(path, get_format(reader.format), ctx, ingest.store.last_seq(reader_id, source))
    received = now_ms()

    def row(seq: int, line: str, r: Read) -> JournalRow:  # a plain tuple: timing/reads.py
        return (reader_id, r.chip, r.antenna, r.time_ms, r.rssi, r.reader_seq,
                          source, seq, received, line)  # fmt: skip

    done = 0
    for batch in log.batches(row):
        bad = [(reader_id, source, n, line, why, received) for n, line, why in batch.quarantined]
        summary.new_reads += ingest.append(batch.reads, bad)
        summary.quarantined_new += len(bad)
        engine, _ = ingest.feed(engine, lambda: build_engine(folder, ingest.store, final))
        if progress is not None:
            progress(batch.position - done)
            done = batch.position
    summary.skipped_lines += log.skipped
    summary.pending += log.pending
    summary.counts = summary.counts + log.counts
    summary.lines += log.counts.lines
    return engine
