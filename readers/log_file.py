"""A reader's log file in its native format, read for replay: each line numbered from
1 and found a read, a reply or status line, or a line to quarantine with its reason.

Lines numbered up to `after` were journalled by an earlier replay of the same log and
are skipped, so a replay run again reads only what is new. A log still being written
may end in the middle of a line: a last line without its end of line is left for the
next replay, once the reader has finished writing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from readers.counts import LineCounts
from readers.formats import ReaderFormat
from readers.read import FormatContext, ParseError, Read

BATCH = 20_000  # lines journalled in one transaction
Row = TypeVar("Row")


@dataclass(slots=True)
class LogBatch(Generic[Row]):
    """Lines of a log to journal together, in the order of their numbers."""

    reads: list[Row] = field(default_factory=list)  # as the caller's `row` made them
    quarantined: list[tuple[int, str, str]] = field(default_factory=list)  # number, line, why
    position: int = 0  # bytes of the file read so far


class LogFile:
    def __init__(self, path: Path, fmt: ReaderFormat, ctx: FormatContext, after: int = 0) -> None:
        self.path, self.fmt, self.ctx, self.after = path, fmt, ctx, after
        self.skipped = 0  # lines journalled before: numbers 1..after
        self.pending = False  # the last line has no end of line yet
        self.counts = LineCounts()  # of the lines read this time (not the skipped)

    def batches(
        self, row: Callable[[int, str, Read], Row], size: int = BATCH
    ) -> Iterator[LogBatch[Row]]:
        """The new lines, `size` at a time; the last batch (maybe empty) ends at the
        file's size, so the positions add up to the whole file.

        Each read becomes the caller's row, `row(number, line, read)`, as it is parsed:
        a batch keeps no `Read`. A tuple of plain values leaves the garbage collector's
        lists, an object stays on them, and 20,000 of them kept per batch make Python
        collect the whole heap again and again (replay ran a third slower)."""
        fmt, ctx, reader = self.fmt, self.ctx, self.ctx.reader
        batch: LogBatch[Row] = LogBatch()
        reads = replies = quarantined = 0
        # Universal newlines: readers end lines with CR (Wiclax), LF or CRLF. Latin-1 maps
        # every byte to one character, as the serial sources do, so the raw line is exact.
        with self.path.open(encoding="latin-1", newline=None) as handle:
            for seq, text in enumerate(handle, start=1):
                if seq <= self.after:
                    self.skipped += 1
                    continue
                if not text.endswith("\n"):
                    self.pending = True  # cut mid-line: the reader is still writing it
                    break
                line = text[:-1]
                if not line or line.isspace():
                    replies += 1  # a blank separator, as RACE RESULT ends a list
                    continue
                try:
                    read = fmt.parse(line, ctx)
                except ParseError as exc:
                    batch.quarantined.append((seq, line, exc.reason))
                    quarantined += 1
                    continue
                if read is None:
                    replies += 1  # a banner, heartbeat or reply: not a read
                    continue
                if read.reader != reader:
                    reason = f"line is from reader {read.reader!r}, log is for {reader!r}"
                    batch.quarantined.append((seq, line, reason))
                    quarantined += 1
                    continue
                reads += 1
                batch.reads.append(row(seq, line, read))
                if len(batch.reads) + len(batch.quarantined) >= size:
                    batch.position = handle.buffer.tell()
                    yield batch
                    batch = LogBatch()
        self.counts = LineCounts(reads, replies, quarantined)
        batch.position = self.path.stat().st_size
        yield batch
