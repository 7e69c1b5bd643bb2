"""A reader log read for replay, without a journal: numbers, skips, a line still being
written, quarantine reasons, batches and the bytes they account for."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from readers.counts import LineCounts
from readers.formats import get_format
from readers.log_file import LogFile
from readers.read import FormatContext, Read

FMT = get_format("retrotime-csv")
CTX = FormatContext("FIN", ZoneInfo("Europe/London"))


def read(k: int, reader: str = "FIN") -> str:
    return FMT.emit(Read(reader, f"{500 + k:012d}", 1, 1_775_986_200_000 + k * 1_000, -50.0), CTX)


def row(seq: int, line: str, r: Read) -> tuple[int, str, str]:
    return seq, r.chip, line


def test_every_line_is_numbered_and_accounted_for(tmp_path: Path) -> None:
    log = tmp_path / "FIN.log"
    text = [read(1), "", "not,a,read", read(2, reader="K5"), read(3), read(4)]
    log.write_text("\n".join(text) + "\n" + read(5), encoding="latin-1")  # 5: no end of line
    file = LogFile(log, FMT, CTX)
    batches = list(file.batches(row, size=2))
    reads = [r for b in batches for r in b.reads]
    assert [seq for seq, _chip, _line in reads] == [1, 5, 6]
    assert reads[0] == (1, "000000000501", text[0])
    quarantined = [q for b in batches for q in b.quarantined]
    assert [(seq, line) for seq, line, _why in quarantined] == [(3, text[2]), (4, text[3])]
    assert "log is for 'FIN'" in quarantined[1][2]
    # A batch is cut after a read once it holds `size` lines; the last one is the rest.
    assert [len(b.reads) + len(b.quarantined) for b in batches] == [4, 1]
    assert batches[-1].position == log.stat().st_size
    assert file.counts == LineCounts(reads=3, replies=1, quarantined=2)
    assert file.pending and file.skipped == 0


def test_lines_journalled_before_are_skipped(tmp_path: Path) -> None:
    log = tmp_path / "FIN.log"
    log.write_text("".join(read(k) + "\r\n" for k in range(5)), encoding="latin-1")
    file = LogFile(log, FMT, CTX, after=3)
    reads = [r for b in file.batches(row) for r in b.reads]
    assert [seq for seq, _chip, _line in reads] == [4, 5]
    assert file.skipped == 3 and not file.pending
    assert file.counts == LineCounts(reads=2)
