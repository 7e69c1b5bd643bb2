"""timing's read rows keep the names and order of the readers' `Read`: the journal, the
engine and a reader format speak of one read, though neither package imports the other."""

from readers.read import Read
from timing.reads import JournalRow, ReadRow, from_uplink


def test_rows_begin_with_the_fields_of_a_read() -> None:
    assert JournalRow._fields[: len(Read._fields)] == Read._fields
    assert ReadRow._fields == ("id", *Read._fields[:5])


def test_an_uplink_entry_is_journalled_by_name() -> None:
    entry = {
        "seq": 7, "chip": "F0101", "antenna": 2, "time_ms": 1_000, "rssi": -50.5,
        "reader_seq": 31, "raw": "F0101,2,...", "received_ms": 1_020,
    }  # fmt: skip
    row = from_uplink("FIN", "agent:j1", entry)
    assert row == JournalRow(
        reader="FIN", chip="F0101", antenna=2, time_ms=1_000, rssi=-50.5, reader_seq=31,
        source="agent:j1", seq=7, received_ms=1_020, raw_line="F0101,2,...",
    )  # fmt: skip
