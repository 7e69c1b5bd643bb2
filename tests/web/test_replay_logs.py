"""`retrotime replay` on logs as they come off race day: poison lines, a log still being
written, a replay killed -9 and run again. Every format, a real SQLite journal."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from readers.formats import get_format
from readers.read import FormatContext, Read
from tests.timing.builders import EVENT_TOML, write_folder
from timing.folder import load_folder
from timing.store import Store
from web.cli import main
from web.replay import ReplaySummary, replay

FORMATS = ["ipico", "raceresult", "retrotime-csv", "ultra", "wiclax"]
GUN_MS = 1_775_980_800_000  # 2026-04-12 09:00 London, wave A of the test event

# One line per format that stopped a whole replay before: Ultra seconds of 12 digits
# (OverflowError), a RACE RESULT passing number of 20 digits and a Wiclax antenna of 20
# digits (too large for SQLite INTEGER), an antenna of 2^31 (too large for PostgreSQL),
# an IPICO record of 5,000 characters.
POISON = {
    "ultra": "0,11055,999999999999,698,1,-71,0,1,1,0000000000000000,0,7",
    "raceresult": "99999999999999999999;33;2026-04-12;10:30:00.000;0;1;20;;0;;;;;;;;FIN;1;1;FIN",
    "wiclax": "33;12-04-2026 10:30:00.000;99999999999999999999;;;0",
    "retrotime-csv": "FIN,33,2147483648,2026-04-12T10:30:00.000+01:00,-50",
    "ipico": "aa" + "9" * 5000,
}


def event(tmp_path: Path, fmt: str) -> Path:
    toml = EVENT_TOML.replace(
        'id = "FIN"\nformat = "retrotime-csv"', f'id = "FIN"\nformat = "{fmt}"'
    )
    return write_folder(tmp_path / "ev", toml=toml)


def lines(fmt: str, count: int) -> list[str]:
    """`count` finish reads as the reader writes them, reader sequence 1, 2, ..."""
    f = get_format(fmt)
    ctx = FormatContext("FIN", ZoneInfo("Europe/London"))
    return [
        f.emit(Read("FIN", f"{500 + k:012d}", 1, GUN_MS + 5_400_000 + k * 1_000, -50.0, k + 1), ctx)
        for k in range(count)
    ]


def eol(fmt: str) -> str:
    return get_format(fmt).terminator.decode()


def replay_log(folder: Path, db: Path, log: Path) -> ReplaySummary:
    store = Store(f"sqlite:///{db}")
    try:
        return replay(load_folder(folder), store, [("FIN", log)])[1]
    finally:
        store.close()


def journal(db: Path) -> tuple[list[tuple], list[tuple]]:
    with sqlite3.connect(db) as conn:
        reads = conn.execute(
            "SELECT reader_id, source, seq, chip, antenna, time_ms, reader_seq, raw_line "
            "FROM raw_reads ORDER BY seq"
        ).fetchall()
        bad = conn.execute(
            "SELECT reader_id, source, seq, raw_line, reason FROM quarantined_lines ORDER BY seq"
        ).fetchall()
    return reads, bad


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_poison_line_is_quarantined_and_every_valid_read_journalled(
    tmp_path: Path, fmt: str
) -> None:
    folder = event(tmp_path, fmt)
    good = lines(fmt, 3)
    log = tmp_path / "fin.log"
    log.write_text(eol(fmt).join([good[0], POISON[fmt], *good[1:]]) + eol(fmt), "latin-1")
    db = tmp_path / "journal.db"
    args = ["replay", str(folder), "--log", f"FIN={log}", "--database-url", f"sqlite:///{db}"]
    first, again = (CliRunner().invoke(main, args) for _ in range(2))  # the rerun as clean
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert "read this time: 4 lines = 3 reads + 0 replies/status + 1 quarantined" in first.output
    assert "read this time: 0 lines" in again.output and "4 lines already stored" in again.output
    reads, bad = journal(db)
    assert [r[2] for r in reads] == [1, 3, 4]
    assert [(b[2], b[3]) for b in bad] == [(2, POISON[fmt])]
    assert bad[0][4]  # with its reason


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_line_is_accounted_for(tmp_path: Path, fmt: str) -> None:
    folder = event(tmp_path, fmt)
    good = lines(fmt, 4)
    reply = {"ultra": "V=25.0000", "raceresult": "PASSINGS;4", "wiclax": "*",
             "ipico": "ab00000121", "retrotime-csv": ""}[fmt]  # fmt: skip
    log = tmp_path / "fin.log"
    body = [good[0], reply, good[1], "x;y,z", good[2], POISON[fmt], good[3]]
    log.write_text(eol(fmt).join(body) + eol(fmt), "latin-1")
    db = tmp_path / "journal.db"
    result = CliRunner().invoke(
        main, ["replay", str(folder), "--log", f"FIN={log}", "--database-url", f"sqlite:///{db}"]
    )
    assert result.exit_code == 0, result.output
    assert "read this time: 7 lines = 4 reads + 1 replies/status + 2 quarantined" in result.output


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cut", ["half", "before_eol"])
def test_a_log_cut_mid_line_is_read_when_complete(tmp_path: Path, fmt: str, cut: str) -> None:
    """The reader is still writing the log: its last line is read once it is whole."""
    folder = event(tmp_path, fmt)
    end = eol(fmt)
    text = end.join(lines(fmt, 5)) + end
    last = text[: -len(end)].rsplit(end, 1)[1]
    at = len(text) - len(end) - len(last) // 2 if cut == "half" else len(text) - len(end)
    log, db = tmp_path / "fin.log", tmp_path / "journal.db"
    log.write_text(text[:at], "latin-1")
    first = replay_log(folder, db, log)
    assert (first.counts.reads, first.counts.quarantined, first.pending) == (4, 0, 1)
    with log.open("a", encoding="latin-1", newline="") as handle:
        handle.write(text[at:])  # the reader finishes the line
    second = replay_log(folder, db, log)
    assert (second.counts.reads, second.counts.quarantined, second.pending) == (1, 0, 0)
    reads, bad = journal(db)
    assert bad == []
    assert [r[2] for r in reads] == [1, 2, 3, 4, 5]  # the completed line once, in full
    assert reads[-1][7] == last
    assert reads[-1][6] == (5 if fmt in ("ultra", "raceresult") else None)


def test_a_line_cut_between_cr_and_lf_is_not_read_twice(tmp_path: Path) -> None:
    folder = event(tmp_path, "raceresult")
    text = "\r\n".join(lines("raceresult", 3)) + "\r\n"
    log, db = tmp_path / "fin.log", tmp_path / "journal.db"
    log.write_bytes(text[:-1].encode())  # ends in CR: the line is complete
    assert replay_log(folder, db, log).counts.reads == 3
    log.write_bytes(text.encode())
    again = replay_log(folder, db, log)
    assert again.counts.lines == 0 and again.skipped_lines == 3


# --- kill -9 -----------------------------------------------------------------------------

BIG = 60_000  # lines: three journal batches, so a kill lands between two of them


def big_log(path: Path) -> Path:
    good = lines("retrotime-csv", BIG)
    for k in range(0, BIG, 37):  # a bad line every 37
        good[k] = f"FIN,garbage {k}"
    path.write_text("\n".join(good) + "\n", encoding="utf-8")
    return path


def count_reads(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM raw_reads").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet


def replay_process(folder: Path, log: Path, db: Path) -> subprocess.Popen:
    cli = Path(sys.executable).with_name("retrotime")
    args = [
        str(cli),
        "replay",
        str(folder),
        "--log",
        f"FIN={log}",
        "--database-url",
        f"sqlite:///{db}",
    ]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_kill_9_and_rerun_gives_the_same_journal_as_one_run(tmp_path: Path) -> None:
    folder = event(tmp_path, "retrotime-csv")
    log = big_log(tmp_path / "fin.log")
    whole, killed = tmp_path / "whole.db", tmp_path / "killed.db"
    one = replay_process(folder, log, whole)
    for threshold in (1, 20_000):  # killed twice, after the first batch and later
        proc = replay_process(folder, log, killed)
        deadline = time.monotonic() + 120
        while count_reads(killed) < threshold and proc.poll() is None:
            assert time.monotonic() < deadline, "replay never journalled its first batch"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL, "replay ended before it could be killed"
        assert 0 < count_reads(killed) < BIG - BIG // 37
    rerun = replay_process(folder, log, killed)
    assert rerun.wait(300) == 0, rerun.stderr.read().decode()
    assert one.wait(300) == 0, one.stderr.read().decode()
    reads, bad = journal(killed)
    assert (reads, bad) == journal(whole)
    assert len(bad) == len(range(0, BIG, 37)) and len(reads) == BIG - len(bad)


# --- Wiclax device names, mapped in event.toml ------------------------------------------


def test_wiclax_device_names_are_mapped_through_event_toml(tmp_path: Path) -> None:
    # csutorasa/wiclax4j's formatter test sends the device field as free text `deviceId`.
    folder = event(tmp_path, "wiclax")
    toml = (folder / "event.toml").read_text()
    toml = toml.replace('format = "wiclax"\n', 'format = "wiclax"\ndevices = { "deviceId" = 2 }\n')
    (folder / "event.toml").write_text(toml)
    log, db = tmp_path / "fin.log", tmp_path / "journal.db"
    log.write_text(
        "B0101;12-04-2026 10:30:00.200;deviceId;1;3;0\r33;12-04-2026 10:30:01.000;other;;;0\r",
        "latin-1",
    )
    summary = replay_log(folder, db, log)
    assert (summary.counts.reads, summary.counts.quarantined) == (1, 1)
    reads, bad = journal(db)
    assert reads[0][3:5] == ("B0101", 2)
    assert 'devices = { "other" = 1 } on reader FIN' in bad[0][4]


def test_a_devices_value_that_is_not_an_antenna_is_a_problem(tmp_path: Path) -> None:
    folder = event(tmp_path, "wiclax")
    toml = (folder / "event.toml").read_text()
    toml = toml.replace('format = "wiclax"\n', 'format = "wiclax"\ndevices = { "A" = 0 }\n')
    (folder / "event.toml").write_text(toml)
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code == 2
    assert "event.toml:23: readers[2].devices: must be a table of device names" in result.output
