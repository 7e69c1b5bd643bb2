"""A read as timing holds it: the row the journal stores and the row the engine scores.

`timing/` imports nothing of `readers/`, so these are its own types; their fields keep
the names and order of `readers.read.Read` (reader, chip, antenna, time_ms, rssi,
reader_seq), which tests/timing/test_reads.py holds. A replayed log line arrives as a
`Read`; an agent's entry as the uplink's JSON object (docs/uplink.md), which
`from_uplink` alone reads.

The named tuples are the schema: what each field is, and its place. In bulk (a
replay's batches, the journal read back for the engine) rows are plain tuples in the
same order: Python's garbage collector stops tracking a tuple of plain values but never
a named tuple, and 20,000 tracked rows per batch made replay about a sixth slower
(`python -m benchmarks.replay`: 27,000 against 33,000 reads/s here). So code that may
get a row in bulk reads it by position (`read_id`), never by attribute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import Any, NamedTuple


class JournalRow(NamedTuple):
    """A read to journal: the read, where it came from, and the line as received."""

    reader: str
    chip: str
    antenna: int
    time_ms: int  # the reader's clock, uncorrected
    rssi: float | None
    reader_seq: int | None
    source: str  # "log:<file name>" for a replayed log, "agent:<journal id>" for the uplink
    seq: int  # line number in the log, or the agent's entry number
    received_ms: int
    raw_line: str


class ReadRow(NamedTuple):
    """A journalled read as the engine takes it: its journal id, then the read."""

    id: int
    reader: str
    chip: str
    antenna: int
    time_ms: int
    rssi: float | None


def read_rows(values: Iterable[Iterable[Any]]) -> list[ReadRow]:
    """Rows for the engine from (id, reader, chip, antenna, time_ms, rssi) values, as
    plain tuples (see above)."""
    return list(map(tuple, values))  # type: ignore[arg-type]


read_id = itemgetter(ReadRow._fields.index("id"))  # a ReadRow's journal id, bulk or not


def from_uplink(reader: str, source: str, entry: Mapping[str, Any]) -> JournalRow:
    """A checked entry of an uplink `reads` message (docs/uplink.md) as journalled."""
    return JournalRow(
        reader=reader,
        chip=entry["chip"],
        antenna=entry["antenna"],
        time_ms=entry["time_ms"],
        rssi=entry["rssi"],
        reader_seq=entry["reader_seq"],
        source=source,
        seq=entry["seq"],
        received_ms=entry["received_ms"],
        raw_line=entry["raw"],
    )
