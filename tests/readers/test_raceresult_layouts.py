"""RACE RESULT passings in every documented layout, the decoder's protocol answer, and
the lines a passing log must not lose."""

from __future__ import annotations

from datetime import datetime

import pytest

from readers.read import ParseError, Read
from tests.readers.test_raceresult import CTX, FMT, LONDON, PUSHED, ms, passing, session

# --- every documented layout, the protocol answer, every line accounted for -------------
# RACE RESULT KB id=487, "Older versions": <PassingNo>;<Bib/TranspCode>;<Date>;<Time>;
# <EventID>;<Hits>;<MaxRSSI>[;<InternalData>];<IsActive>[;<Channel>;<LoopID>;<LoopOnly>;
# <WakeupCounter>;<Battery>;<Temperature>;<InternalActiveData>]. Lines built from it.
LEAD = "5;ZCMBG52;2026-04-12;11:40:18.001;0;72;-60"
OLD_ACTIVE = LEAD + ";;1;1;6;0;16731;2.9;21;0"  # 16 fields: InternalData, LoopID 6
OLD_ACTIVE_NO_INTERNAL = LEAD + ";1;1;7;0;16731;2.9;21;0"  # 15 fields: LoopID 7


@pytest.mark.parametrize("count", range(7, 17))
def test_every_older_layout_is_read_by_its_leading_seven_fields(count: int) -> None:
    tail = ["", "1", "1", "4", "0", "16731", "2.9", "21", "0"][: count - 7]
    line = ";".join([LEAD, *tail]) if tail else LEAD
    read = FMT.parse(line, CTX)
    when = ms(datetime(2026, 4, 12, 11, 40, 18, 1_000, tzinfo=LONDON))
    loop = {15: 1, 16: 4}.get(count, 1)  # LoopID is field 9 of 15, field 10 of 16
    assert read == Read("FIN", "ZCMBG52", loop, when, -60.0, 5)


def test_older_active_layouts_take_their_loop_id() -> None:
    assert FMT.parse(OLD_ACTIVE, CTX).antenna == 6
    assert FMT.parse(OLD_ACTIVE_NO_INTERNAL, CTX).antenna == 7
    assert FMT.parse(LEAD + ";;1", CTX).antenna == 1  # 9 fields: no loop


@pytest.mark.parametrize("count", [17, 18, 19, 21])
def test_undocumented_field_counts_are_quarantined(count: int) -> None:
    with pytest.raises(ParseError, match=f"got {count}"):
        FMT.parse(";".join([LEAD, *["0"] * (count - 7)]), CTX)


def test_an_older_decoder_answering_setprotocol_is_read_in_its_own_layout() -> None:
    # KB id=19: SETPROTOCOL is answered with the version now spoken; a decoder whose
    # firmware lacks 2.0 speaks an older one, and its passings have at most 16 fields.
    s = session()
    s.connected()
    assert s.feed("SETPROTOCOL;1.5") == (None, b"")
    assert s.protocol == "1.5" and s.legacy
    s.feed("PASSINGS;2")
    read, _ = s.feed(OLD_ACTIVE.replace("5;", "1;", 1))
    assert read is not None and read.antenna == 6 and read.reader_seq == 1
    with pytest.raises(ParseError, match=r"speaks protocol < 1\.6"):
        s.feed(passing(2))


def test_a_current_decoder_reads_both_layouts() -> None:
    s = session()
    s.feed("SETPROTOCOL;2.0")
    assert not s.legacy
    s.feed("PASSINGS;2")
    assert s.feed(passing(1))[0] is not None
    assert s.feed(OLD_ACTIVE.replace("5;", "2;", 1))[0] is not None


@pytest.mark.parametrize("line", ["x;y", "HELLO", "PASSING;1", "ERRORS;1;2"])
def test_a_line_neither_passing_nor_reply_is_quarantined(line: str) -> None:
    with pytest.raises(ParseError, match="neither a passing nor a known decoder reply"):
        FMT.parse(line, CTX)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (passing(1).replace("1;", "9" * 20 + ";", 1), "passing number"),
        (passing(1).replace("1;", "9" * 5000 + ";", 1), "at most 19 digits"),
        (PUSHED.replace(";2;D-5001", ";2147483648;D-5001"), "MaxRSSIAntenna"),
        (PUSHED.replace("2026-04-12", "9999-12-31"), "between 1970 and 2100"),
        (PUSHED.replace("ABC1234", "A" * 129), "chip of 129 characters"),
    ],
)
def test_values_the_journal_cannot_hold_are_quarantined(line: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        FMT.parse(line, CTX)


@pytest.mark.parametrize("rssi", ["nan", "inf", "1e999", "-" + "9" * 400, "1000"])
def test_an_rssi_out_of_range_is_dropped_and_the_passing_kept(rssi: str) -> None:
    read = FMT.parse(PUSHED.replace(";23;21;", f";23;{rssi};"), CTX)
    assert read is not None and read.rssi is None and read.reader_seq == 17
