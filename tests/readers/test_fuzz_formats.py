"""Fuzzing every format with mutated real lines: `parse` (and a session's `feed`) raise
nothing but ParseError, and every read they give fits the journal's columns. The long
run is `python -m benchmarks.fuzz_readers --lines 120000`."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readers.read import ParseError, Read
from tests.readers.fuzz_lines import (
    CONTEXTS,
    MUTATIONS,
    PAYLOADS,
    REAL_LINES,
    mutate,
    outcome,
    random_line,
)
from timing.reads import JournalRow
from timing.store import Store

steps = st.lists(
    st.tuples(
        st.integers(0, len(MUTATIONS) - 1),
        st.integers(0, 80),
        st.sampled_from(PAYLOADS) | st.text(max_size=24),
    ),
    min_size=1,
    max_size=3,
)


@pytest.mark.parametrize("name", sorted(REAL_LINES))
@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_mutated_real_lines_parse_or_raise_parse_error(name: str, data: st.DataObject) -> None:
    line = data.draw(st.sampled_from(REAL_LINES[name]))
    ctx = data.draw(st.sampled_from(CONTEXTS))
    outcome(name, mutate(name, line, data.draw(steps)), ctx)


@pytest.mark.parametrize("name", sorted(REAL_LINES))
def test_real_lines_are_reads_or_replies(name: str) -> None:
    # In one context or the other: an undated RACE RESULT passing needs the event day,
    # and the 2017 Ultra capture is years from the 2026 event day.
    for line in REAL_LINES[name]:
        got = [outcome(name, line, ctx) for ctx in CONTEXTS]
        assert not all(isinstance(g, ParseError) for g in got), (line, got)


def test_fuzzed_reads_are_stored_on_sqlite_and_postgresql(database_url: str) -> None:
    """The reads the fuzzer gets through are written to the real journal unchanged."""
    rng = random.Random(17)
    rows = []
    for name in sorted(REAL_LINES):
        for _ in range(1_500):
            line = random_line(name, rng)
            for ctx in CONTEXTS:
                got = outcome(name, line, ctx)
                if isinstance(got, Read):
                    rows.append(
                        JournalRow(**got._asdict(), source=f"fuzz:{name}", seq=len(rows) + 1,
                                   received_ms=0, raw_line=line)
                    )  # fmt: skip
    assert len(rows) > 500  # the mutations leave many lines valid
    store = Store(database_url)
    stored, clean = store.append_reads(rows)
    assert clean and len(stored) == len(rows)
    back = {r.seq: r for r in store.reads_of_chips({row.chip for row in rows})}
    for row in rows:
        got = back[row.seq]
        assert (got.antenna, got.time_ms, got.rssi, got.reader_seq) == (
            row.antenna, row.time_ms, row.rssi, row.reader_seq
        )  # fmt: skip
    store.close()
