"""RACE RESULT decoder protocol: bytes in, reads out, no port opened."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readers.formats import get_format, open_session
from readers.formats.raceresult import (
    MAX_FETCH,
    RaceResultSession,
    gettime_command,
    parse_gettime,
    settime_command,
)
from readers.read import FormatContext, ParseError, Read
from tests.readers.wall_clock import instants, over_the_wire

LONDON = ZoneInfo("Europe/London")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FMT = get_format("raceresult")
CTX = FormatContext("FIN", LONDON)
DAY = date(2026, 4, 12)
CTX_DAY = FormatContext("FIN", LONDON, day=DAY)

# CrossMgr `RaceResultImport.py` (esitarski/CrossMgr), docstring: passing-file layout.
FILE_LINE = "1;33;0000-00-00;00:00:02.773;6692;12;-68;09ca52"
# Built field by field from the RACE RESULT KB id=487 passing record (protocol >= 1.6);
# no captured 20-field line is public. MaxRSSIAntenna (18) is 2, LoopID (10) empty.
PUSHED = "#P;17;ABC1234;2026-04-12;11:40:17.843;0;23;21;;0;;;;;;;;D-5001;3;2;D-5001"
# Same layout, active transponder: MaxRSSIAntenna empty, LoopID 5.
ACTIVE = "18;ZCMBG52;2026-04-12;11:40:18.001;0;72;127;;1;1;5;;16731;2.9;21;0;D-5001;3;;D-5001"


def ms(when: datetime) -> int:
    """Epoch ms computed independently of the module under test."""
    return (when - EPOCH) // timedelta(milliseconds=1)


def passing(seq: int, chip: str = "ABC1234", push: bool = False) -> str:
    line = f"{seq};{chip};2026-04-12;11:40:{seq % 60:02d}.500;0;5;20;;0;;;;;;;;D-5001;3;1;D-5001"
    return "#P;" + line if push else line


# --- parse: the documented examples --------------------------------------------------


def test_passing_file_line_is_time_since_start_on_the_event_day() -> None:
    read = FMT.parse(FILE_LINE, CTX_DAY)
    midnight = datetime(2026, 4, 12, tzinfo=LONDON)
    assert read == Read(
        reader="FIN",
        chip="33",
        antenna=1,  # the 8-field layout has no antenna: 1
        time_ms=ms(midnight) + 2_773,
        rssi=-68.0,
        reader_seq=1,
    )


def test_date_less_passing_without_event_day_is_quarantined() -> None:
    with pytest.raises(ParseError, match="never set"):
        FMT.parse(FILE_LINE, CTX)


def test_date_less_time_is_a_counter_across_a_dst_change() -> None:
    # 2026-03-29: clocks go forward at 01:00 GMT. A counter of 03:00 is 3 h after local
    # midnight (03:00 UTC), not the wall time 03:00 BST (02:00 UTC).
    ctx = FormatContext("FIN", LONDON, day=date(2026, 3, 29))
    read = FMT.parse("2;33;0000-00-00;03:00:00.000;6692;12;-68;09ca52", ctx)
    assert read is not None
    assert read.time_ms == ms(datetime(2026, 3, 29, 3, tzinfo=UTC))


def test_date_less_second_day() -> None:
    read = FMT.parse("3;33;0000-00-01;00:00:01.000;6692;12;-68", CTX_DAY)
    assert read is not None
    assert read.time_ms == ms(datetime(2026, 4, 13, tzinfo=LONDON)) + 1_000


def test_pushed_20_field_passing() -> None:
    assert FMT.parse(PUSHED, CTX) == Read(
        reader="FIN",
        chip="ABC1234",
        antenna=2,  # MaxRSSIAntenna
        time_ms=ms(datetime(2026, 4, 12, 11, 40, 17, 843_000, tzinfo=LONDON)),
        rssi=21.0,
        reader_seq=17,
    )


def test_active_passing_takes_loop_id_as_antenna() -> None:
    assert FMT.parse(ACTIVE, CTX) == Read(
        reader="FIN",
        chip="ZCMBG52",
        antenna=5,  # LoopID, as MaxRSSIAntenna is empty for active transponders
        time_ms=ms(datetime(2026, 4, 12, 11, 40, 18, 1_000, tzinfo=LONDON)),
        rssi=127.0,
        reader_seq=18,
    )


@pytest.mark.parametrize(
    "line",
    [
        # Replies from the KB id=19 quick start, then others the session provokes.
        "SETPROTOCOL;2.0",
        "STARTOPERATION;OK;0000-00-00;00:00:00.000",
        "GETTIME;0000-00-00;00:02:12.942",
        "PASSINGS;1",
        "GETPROTOCOL;2.0;1.0;2.6",
        "GETSTATUS;2026-04-12;11:40:17.843;1;00011001;1;3;1",
        "",
        "#PREWARN;1",
    ],
)
def test_replies_are_not_reads(line: str) -> None:
    assert FMT.parse(line, CTX) is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("1;33;2026-04-12;11:40:17.843;6692", "got 5"),
        ("#P;1;33;2026-04-12", "got 3"),
        ("0;33;2026-04-12;11:40:17.843;6692;12;-68", "1 or more"),
        ("-1;33;2026-04-12;11:40:17.843;6692;12;-68", "not a number"),
        ("1;;2026-04-12;11:40:17.843;6692;12;-68", "empty transponder"),
        ("1;33;12-04-2026;11:40:17.843;6692;12;-68", "yyyy-mm-dd"),
        ("1;33;2026-02-30;11:40:17.843;6692;12;-68", "calendar date"),
        ("1;33;2026-04-12;11h40;6692;12;-68", "hh:mm:ss"),
        ("1;33;2026-04-12;25:40:17.843;6692;12;-68", "out of range"),
        (PUSHED.replace(";2;D-5001", ";x;D-5001"), "MaxRSSIAntenna"),
        (PUSHED.replace(";2;D-5001", ";0;D-5001"), "antenna 0"),
    ],
)
def test_bad_lines_say_why(line: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        FMT.parse(line, CTX)


def test_non_numeric_rssi_keeps_the_passing() -> None:
    read = FMT.parse(PUSHED.replace(";23;21;", ";23;7f;"), CTX)
    assert read is not None and read.rssi is None


# --- emit: the round trip ------------------------------------------------------------


reads = st.builds(
    Read,
    reader=st.just("FIN"),
    chip=st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", min_size=1, max_size=16),
    antenna=st.integers(1, 8),
    # Every instant from 2000 to 2099, the repeated hour of each autumn included.
    time_ms=instants(LONDON),
    rssi=st.none() | st.integers(-100, 31).map(float),
    reader_seq=st.integers(1, 10**7),
)


@given(reads)
def test_parse_emit_round_trip(read: Read) -> None:
    line = FMT.emit(read, CTX)
    assert len(line.split(";")) == 20
    # Local wall time carries no offset: the second pass of the repeated hour reads
    # back as the first; every other instant exactly.
    back = read._replace(time_ms=over_the_wire(read.time_ms, LONDON))
    assert FMT.parse(line, CTX) == back
    assert FMT.parse("#P;" + line, CTX) == back
    assert FMT.emit(back, CTX) == line  # and the line itself is stable


def test_second_pass_of_the_repeated_hour_reads_as_the_first() -> None:
    # 2054-10-25 01:00:00 UTC is 01:00 GMT, the second 01:00 of that night in London.
    second = Read("FIN", "33", 1, 2_676_502_800_000, None, 5)
    line = FMT.emit(second, CTX)
    assert line.startswith("5;33;2054-10-25;01:00:00.000;")
    assert FMT.parse(line, CTX) == second._replace(time_ms=2_676_502_800_000 - 3_600_000)


def test_emit_needs_a_passing_number() -> None:
    with pytest.raises(ValueError, match="passing number"):
        FMT.emit(Read("FIN", "33", 1, 0), CTX)


# --- clock helpers -------------------------------------------------------------------


def test_settime_and_gettime_commands() -> None:
    when = ms(datetime(2026, 7, 1, 9, 5, 3, 42_000, tzinfo=LONDON))
    assert settime_command(when, CTX) == b"SETTIME;2026-07-01;09:05:03.042\r\n"
    assert gettime_command() == b"GETTIME\r\n"
    assert parse_gettime("GETTIME;2026-07-01;09:05:03.042\r\n", CTX) == when


def test_gettime_reply_from_the_kb_quick_start() -> None:
    # KB id=19: a decoder without GPS or SETTIME counts from start of operation.
    got = parse_gettime("GETTIME;0000-00-00;00:02:12.942", CTX_DAY)
    assert got == ms(datetime(2026, 4, 12, tzinfo=LONDON)) + 132_942
    with pytest.raises(ParseError, match="GETTIME"):
        parse_gettime("PASSINGS;3", CTX_DAY)


# --- session -------------------------------------------------------------------------


def session(**kwargs: object) -> RaceResultSession:
    s = FMT.session(CTX_DAY, **kwargs)  # type: ignore[attr-defined]
    assert isinstance(s, RaceResultSession)
    return s


def test_open_session_gives_the_pull_session() -> None:
    assert isinstance(open_session(FMT, CTX), RaceResultSession)


def test_kb_quick_start_exchange() -> None:
    # raceresult.com KB id=19, "Quick start/brief example", replies verbatim.
    s = session()
    assert s.connected() == b"SETPROTOCOL;2.0\r\nGETSTATUS\r\nPASSINGS\r\n"
    assert s.feed("SETPROTOCOL;2.0") == (None, b"")
    assert s.start_operation() == b"STARTOPERATION\r\n"
    assert s.feed("STARTOPERATION;OK;0000-00-00;00:00:00.000") == (None, b"PASSINGS\r\n")
    assert s.operating is True
    assert s.feed("GETTIME;0000-00-00;00:02:12.942") == (None, b"")
    assert s.reader_clock_ms == ms(datetime(2026, 4, 12, tzinfo=LONDON)) + 132_942
    assert s.feed("PASSINGS;1") == (None, b"1:1\r\n")
    read, out = s.feed(FILE_LINE)
    assert read is not None and read.reader_seq == 1 and out == b""
    assert s.feed("") == (None, b"")
    assert s.position == (None, 1)


def test_status_in_test_mode_starts_operation_once() -> None:
    s = session()
    s.connected()
    status = "GETSTATUS;0000-00-00;00:00:00.000;1;00011001;{};3;0"
    assert s.feed(status.format(0)) == (None, b"STARTOPERATION\r\n")
    assert s.feed(status.format(1)) == (None, b"")
    assert session(auto_start=False).feed(status.format(0)) == (None, b"")


def test_push_mode_is_asked_for_on_connect() -> None:
    assert b"SETPUSHPASSINGS;1;0\r\n" in session(push=True).connected()


def fetch(s: RaceResultSession, reply: str, request: bytes, seqs: range) -> list[Read]:
    assert s.feed(reply) == (None, request)
    reads = [s.feed(passing(n))[0] for n in seqs]
    assert s.feed("")[1] == b""
    return [r for r in reads if r is not None]


def test_reconnect_resumes_after_the_last_passing() -> None:
    s = session()
    s.connected()
    assert len(fetch(s, "PASSINGS;3;7", b"1:3\r\n", range(1, 4))) == 3
    assert s.position == (7, 3)
    s.connected()  # link dropped and came back: no STARTOPERATION, no refetch
    assert [r.reader_seq for r in fetch(s, "PASSINGS;5;7", b"4:2\r\n", range(4, 6))] == [4, 5]
    # A new process restores the persisted position.
    restored = session(file=7, last_passing=5)
    assert restored.connected().count(b"STARTOPERATION") == 0
    assert restored.feed("PASSINGS;6;7") == (None, b"6:1\r\n")


def test_count_that_fell_is_a_new_file() -> None:
    s = session(last_passing=40)
    assert s.feed("PASSINGS;2") == (None, b"1:2\r\n")
    assert s.position == (None, 0)


def test_changed_file_number_is_a_new_file() -> None:
    s = session(file=7, last_passing=5)
    assert s.feed("PASSINGS;9;8") == (None, b"1:9\r\n")
    assert s.position == (8, 0)


def test_pushes_interleaved_with_replies() -> None:
    s = session(last_passing=3)
    assert s.feed("PASSINGS;5") == (None, b"4:2\r\n")
    assert s.feed(passing(4))[0] is not None
    # Pushed #6 arrives before the fetch has sent #5: taken later, in order.
    assert s.feed(passing(6, push=True)) == (None, b"")
    assert s.feed(passing(5))[0] is not None
    assert s.feed("GETTIME;2026-04-12;11:41:00.000") == (None, b"")
    assert s.feed("") == (None, b"")
    assert s.feed("PASSINGS;6") == (None, b"6:1\r\n")
    read, _ = s.feed(passing(6))
    assert read is not None and read.reader_seq == 6
    assert s.feed("") == (None, b"")
    pushed, out = s.feed(passing(7, push=True))  # in sequence: taken at once
    assert pushed is not None and pushed.reader_seq == 7 and out == b""
    assert s.feed(passing(7)) == (None, b"")  # a duplicate from a later fetch
    assert s.feed("PASSINGS;7") == (None, b"")
    assert s.last_passing == 7


def test_long_backlog_is_fetched_in_chunks() -> None:
    s = session()
    assert s.feed(f"PASSINGS;{MAX_FETCH + 10}") == (None, f"1:{MAX_FETCH}\r\n".encode())
    assert s.feed("PASSINGS;9999") == (None, b"")  # one request at a time
    for n in range(1, MAX_FETCH + 1):
        s.feed(passing(n))
    # The end of one chunk asks for the next at once, still capped.
    assert s.feed("") == (None, f"{MAX_FETCH + 1}:{MAX_FETCH}\r\n".encode())


def test_tick_polls_about_once_a_second_and_recovers_a_lost_fetch() -> None:
    s = session()
    assert s.tick(100.0) == b"PASSINGS\r\n"
    assert s.tick(100.5) == b""
    assert s.tick(101.0) == b"PASSINGS\r\n"
    assert s.feed("PASSINGS;2") == (None, b"1:2\r\n")
    assert s.feed("PASSINGS;2") == (None, b"")  # request outstanding
    s.tick(107.0)  # no end of list for 6 s: the request was lost
    assert s.feed("PASSINGS;2") == (None, b"1:2\r\n")


def test_fetch_sent_before_the_first_tick_is_not_timed_out_at_once() -> None:
    s = session()
    assert s.feed("PASSINGS;2") == (None, b"1:2\r\n")
    s.tick(5000.0)
    assert s.feed("PASSINGS;2") == (None, b"")
    s.tick(5006.0)
    assert s.feed("PASSINGS;2") == (None, b"1:2\r\n")


def test_only_reply_ends_a_fetch_without_asking_again() -> None:
    s = session()
    assert s.feed("PASSINGS;3") == (None, b"1:3\r\n")
    assert s.feed("ONLY 2") == (None, b"")
    assert s.feed("PASSINGS;3") == (None, b"1:3\r\n")


def test_bad_passings_reply_is_quarantined() -> None:
    with pytest.raises(ParseError, match="count"):
        session().feed("PASSINGS;lots")
