"""The journal, on an SQLite file and on PostgreSQL: append-only, idempotent, rebuildable."""

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests.timing.builders import write_folder
from timing.engine import Engine
from timing.folder import load_folder
from timing.reads import JournalRow
from timing.store import Store, escape_raw, unescape_raw


def read(
    reader: str, source: str, seq: int, chip: str, time_ms: int, raw: str, rssi: float | None = -50
) -> JournalRow:
    return JournalRow(
        reader=reader, chip=chip, antenna=1, time_ms=time_ms, rssi=rssi, reader_seq=None,
        source=source, seq=seq, received_ms=0, raw_line=raw,
    )  # fmt: skip


def row(seq: int, chip: str = "F0101", t: int = 1_775_980_000_000) -> JournalRow:
    return read("FIN", "log:fin.log", seq, chip, t + seq, f"raw {seq}")


def test_reads_get_ids_and_rebuild_in_order(database_url: str) -> None:
    store = Store(database_url)
    first, clean = store.append_reads([row(1), row(2)])
    second, _ = store.append_reads([row(3)])
    assert clean
    assert [r[0] for r in first + second] == [1, 2, 3]
    assert [r for batch in store.iter_reads(batch=2) for r in batch] == first + second
    store.close()


def test_same_origin_is_stored_once(database_url: str) -> None:
    store = Store(database_url)
    store.append_reads([row(1), row(2)])
    _, clean = store.append_reads([row(2), row(3)])
    assert not clean  # the caller must rebuild: one of the ids it was given is not stored
    assert store.count_reads() == 3
    assert store.last_seq("FIN", "log:fin.log") == 3
    store.close()


def test_quarantine_and_actions_are_kept(database_url: str) -> None:
    store = Store(database_url)
    store.quarantine([("FIN", "log:fin.log", 7, "garbage", "expected 5 fields", 0)])
    store.quarantine([("FIN", "log:fin.log", 7, "garbage", "expected 5 fields", 0)])
    assert [q.raw_line for q in store.quarantined()] == ["garbage"]
    assert store.last_seq("FIN", "log:fin.log") == 7
    store.record_action("director", "status", "101", {"status": "DQ"}, "cut the course")
    (action,) = store.actions()
    assert (action.who, action.kind, action.reason) == ("director", "status", "cut the course")
    store.close()


def test_results_rebuild_from_the_journal(database_url: str, tmp_path: Path) -> None:
    folder = load_folder(write_folder(tmp_path / "ev"))
    gun = folder.event.races[0].waves[0].gun_ms
    store = Store(database_url)
    rows, _ = store.append_reads(
        [
            read("START", "agent", 1, "F0101", gun + 5_000, "a"),
            read("FIN", "agent", 1, "F0101", gun + 3_600_000, "b"),
        ]
    )
    live = Engine(folder)
    live.add_reads(rows)
    rebuilt = Engine(folder)
    for batch in store.iter_reads():
        rebuilt.add_reads(batch)
    get = lambda e: [(r.bib, r.status, r.chip_time_ms) for r in e.results().races[0].results]  # noqa: E731
    assert get(live) == get(rebuilt)
    assert get(rebuilt)[0] == ("101", "FIN", 3_595_000)
    store.close()


@given(st.text())
def test_raw_lines_round_trip_through_their_stored_form(raw: str) -> None:
    assert unescape_raw(escape_raw(raw)) == raw
    assert "\x00" not in escape_raw(raw)


def test_line_noise_with_nul_is_kept_exactly(database_url: str) -> None:
    store = Store(database_url)
    noise = "\x00\x01\\0 F\\x"
    store.quarantine([("FIN", "agent:j", 1, noise, "not a read", 0)])
    store.append_reads([read("FIN", "agent:j", 2, "F0101", 1, "F\x00,1", rssi=None)])
    assert [q.raw_line for q in store.quarantined()] == [noise]
    assert [r.raw_line for r in store.reads_of_chips(["F0101"])] == ["F\x00,1"]
    store.close()
