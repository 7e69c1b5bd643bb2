"""A read as timing holds it: the row the journal stores and the row the engine scores.

`timing/` imports nothing of `readers/`, so these are its own types; their fields keep
the names and order of `readers.read.Read` (reader, chip, antenna, time_ms, rssi,
reader_seq), which tests/timing/test_reads.py holds. A replayed log line arrives as a
`Read`; an agent's entry as the uplink's JSON object (docs/uplink.md), which
`from_uplink` alone reads.

Named tuples, not dataclasses: replay builds one of each per line, and the engine's
loop over them unpacks them as plain tuples.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import repeat
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
    """ReadRows of (id, reader, chip, antenna, time_ms, rssi) values, in bulk for the
    journal: tuple.__new__ makes each without the named tuple's Python-level __new__,
    which would cost replay a tenth of its speed."""
    return list(map(tuple.__new__, repeat(ReadRow), values))  # type: ignore[arg-type]


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
