"""`ultra` format: captured lines, bad lines, round trip, and the command session."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from readers.formats import get_format, open_session
from readers.formats.ultra import (
    Ultra,
    UltraSession,
    get_time_command,
    parse_time_reply,
    rewind_by_log_id,
    rewind_by_time,
    set_time_command,
)
from readers.read import FormatContext, ParseError, Read

LONDON = ZoneInfo("Europe/London")
DENVER = ZoneInfo("America/Denver")
CTX = FormatContext("FIN", LONDON)
FMT = Ultra()
UNIX_TO_1980_S = 315_532_800  # 1980-01-01T00:00Z - 1970-01-01T00:00Z


def epoch_ms(tz: ZoneInfo, *fields: int) -> int:
    """Epoch ms of a local wall time, computed with datetime only (not the code under test)."""
    *whole, ms = fields
    return int(datetime(*whole, tzinfo=tz).timestamp()) * 1000 + ms


def line(
    chip: str = "11055",
    secs: int = 1170518701,
    ms: int = 698,
    port: int = 1,
    rssi: int = -71,
    rewind: int = 0,
    box: int = 1,
    seq: int = 29319,
) -> str:
    return f"0,{chip},{secs},{ms},{port},{rssi},{rewind},{box},1,0000000000000000,0,{seq}"


# Captured line quoted in PikaTimer `src/com/pikatimer/timing/reader/PikaRFIDDirectReader.java`
# (comment in `processRead`): 2017-02-02 16:05:01.698.
CAPTURED = "0,11055,1170518701,698,1,-71,0,2,1,0000000000000000,0,29319"


@pytest.mark.parametrize("ending", ["", "\n", "\r\n", "\r"])
def test_parses_pikatimer_capture(ending: str) -> None:
    ctx = FormatContext("FIN", DENVER)
    read = FMT.parse(CAPTURED + ending, ctx)
    expected = epoch_ms(DENVER, 2017, 2, 2, 16, 5, 1, 698)
    # Local, not UTC: Denver is UTC-7 in February, so the Unix time is 7 h later.
    assert expected == (1170518701 + UNIX_TO_1980_S + 7 * 3600) * 1000 + 698
    # Reader 2, port 1 of an Ultra 8 is antenna 5.
    assert read == Read("FIN", "11055", 5, expected, -71.0, 29319)


def test_seconds_are_local_wall_time_across_dst() -> None:
    # 2024-07-01 12:00:00 London wall time is BST (UTC+1): an hour less than UTC reading.
    wall_s = int((datetime(2024, 7, 1, 12) - datetime(1980, 1, 1)).total_seconds())
    read = FMT.parse(line(secs=wall_s, ms=5), CTX)
    assert read is not None
    assert read.time_ms == epoch_ms(LONDON, 2024, 7, 1, 12, 0, 0, 5)
    assert read.time_ms == (wall_s + UNIX_TO_1980_S - 3600) * 1000 + 5


def test_repeated_hour_reads_as_first_pass() -> None:
    # 01:30 happens twice in London on 2024-10-27; the wire has no offset, so the
    # reader's value is taken as the first (BST) one.
    wall_s = int((datetime(2024, 10, 27, 1, 30) - datetime(1980, 1, 1)).total_seconds())
    read = FMT.parse(line(secs=wall_s, ms=0), CTX)
    assert read is not None
    assert read.time_ms == int(datetime(2024, 10, 27, 0, 30, tzinfo=UTC).timestamp()) * 1000


@pytest.mark.parametrize(
    ("port", "box", "antenna"), [(1, 1, 1), (4, 1, 4), (1, 2, 5), (3, 2, 7), (4, 2, 8)]
)
def test_ultra8_ports_of_reader_2_are_antennas_5_to_8(port: int, box: int, antenna: int) -> None:
    read = FMT.parse(line(port=port, box=box), CTX)
    assert read is not None and read.antenna == antenna
    fields = FMT.emit(read, CTX).split(",")
    assert (fields[4], fields[7]) == (str(port), str(box))


def test_emit_does_not_pad_milliseconds() -> None:
    read = Read("FIN", "0042", 1, epoch_ms(LONDON, 2024, 4, 12, 11, 40, 17, 7), -48.0, 3)
    text = FMT.emit(read, CTX)
    wall_s = int((datetime(2024, 4, 12, 11, 40, 17) - datetime(1980, 1, 1)).total_seconds())
    assert text == f"0,0042,{wall_s},7,1,-48,0,1,1,0000000000000000,0,3"


@pytest.mark.parametrize(
    "text",
    [
        # Banner (Chronokeep `RFIDUltraInterface.cs`: "Connected,[LastTimeSent]"),
        # heartbeat and status (Chronokeep `RFIDUltraInterface.cs`), time and settings replies.
        "Connected,1170518600",
        "V=25.0000",
        "S=10",
        "16:5:3 2-2-2017 (1170518703)",
        "U\x1e3\xff",
        "",
        "\r",
    ],
)
def test_non_read_lines_are_none(text: str) -> None:
    assert FMT.parse(text, CTX) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (",".join(CAPTURED.split(",")[:11]), "expected 12 comma-separated fields, got 11"),
        (CAPTURED + ",7", "got 13"),
        ("1" + CAPTURED[1:], "record type '1'"),
        (line(chip=" "), "empty chip"),
        (line(ms=1000), "milliseconds 0-999"),
        (line(secs=-5), "seconds >= 0"),
        (line(port=0), "antenna 0 is not 1-4"),
        (line(port=5), "antenna 5 is not 1-4"),
        (line(box=3), "reader '3' is not 1 or 2"),
        (line(rewind=2), "rewind flag '2'"),
        (line(seq=-1), "log id -1 is negative"),
        (CAPTURED.replace(",698,", ",6x8,"), "milliseconds '6x8' is not an integer"),
        (CAPTURED.replace(",-71,", ",-7.1,"), "RSSI '-7.1' is not an integer"),
        (CAPTURED.replace(",29319", ",29 319"), "log id '29 319'"),
        ("garbage", "expected 12"),
    ],
)
def test_bad_lines_say_why(text: str, reason: str) -> None:
    with pytest.raises(ParseError) as err:
        FMT.parse(text, CTX)
    assert reason in err.value.reason


def test_emit_rejects_what_an_ultra_cannot_send() -> None:
    with pytest.raises(ValueError, match="antenna 9"):
        FMT.emit(Read("FIN", "1", 9, 1_700_000_000_000), CTX)
    with pytest.raises(ValueError, match="1980"):
        FMT.emit(Read("FIN", "1", 1, 0), CTX)


# Times a zone-less local clock can carry: whole ms from 1981 to 2037.
TIMES = st.integers(epoch_ms(LONDON, 1981, 1, 1, 0, 0, 0, 0), epoch_ms(LONDON, 2037, 1, 1, 0))


@given(
    chip=st.from_regex(r"[0-9]{1,12}|[0-9a-f]{24}", fullmatch=True),
    antenna=st.integers(1, 8),
    time_ms=TIMES,
    rssi=st.integers(-127, 0),
    seq=st.integers(0, 10_000_000),
)
def test_round_trip(chip: str, antenna: int, time_ms: int, rssi: int, seq: int) -> None:
    # The second pass through the repeated hour at the end of DST reads back as the
    # first (the wire has no offset; see test_repeated_hour_reads_as_first_pass).
    assume(datetime.fromtimestamp(time_ms // 1000, LONDON).fold == 0)
    read = Read("FIN", chip, antenna, time_ms, float(rssi), seq)
    assert FMT.parse(FMT.emit(read, CTX), CTX) == read


def test_registered_and_has_a_session() -> None:
    assert isinstance(get_format("ultra"), Ultra)
    assert isinstance(open_session(get_format("ultra"), CTX), UltraSession)


# --- session ------------------------------------------------------------------------------


def test_session_starts_reading_on_connect() -> None:
    assert FMT.session(CTX).connected() == b"R"


def test_gap_in_log_ids_asks_a_rewind_of_the_missing_range() -> None:
    s = FMT.session(CTX)
    assert s.feed(line(seq=10)) == (FMT.parse(line(seq=10), CTX), b"")
    assert s.feed(line(seq=11))[1] == b""
    read, ask = s.feed(line(seq=15))
    assert read is not None and read.reader_seq == 15
    # PikaTimer's encoding, bracketing the missing 12-14 with the ids either side.
    assert ask == b"6\x00\x0011\r15\r" == rewind_by_log_id(11, 15)
    assert s.feed(line(seq=16))[1] == b""


def test_rewound_reads_fill_the_gap_once_and_do_not_move_the_log_cursor() -> None:
    s = FMT.session(CTX)
    s.feed(line(seq=11))
    s.feed(line(seq=15))
    assert s.missing == [(12, 14)]
    got = {}
    for seq in (11, 12, 13, 14, 15, 13):
        read, ask = s.feed(line(seq=seq, rewind=1))
        got.setdefault(seq, []).append(read)
        assert ask == b""
    # The bracketing ids 11 and 15 and the second 13 are held already: dropped, so the
    # journal holds each read once.
    assert {seq for seq, reads in got.items() if reads[0] is not None} == {12, 13, 14}
    assert got[13][1] is None and s.missing == []
    assert s.last_log_id == 15


def test_open_gaps_survive_a_restart_and_are_asked_again() -> None:
    s = FMT.session(CTX)
    s.feed(line(seq=20))
    s.feed(line(seq=25))
    s.feed(line(seq=22, rewind=1))
    assert s.checkpoint() == {"log_id": 25, "missing": [[21, 21], [23, 24]]}
    restored = FMT.session(CTX)
    restored.restore(s.checkpoint())
    assert restored.connected() == (
        b"R"
        + rewind_by_log_id(20, 22)
        + rewind_by_log_id(22, 25)
        + rewind_by_log_id(25, 25 + restored.REWIND_AHEAD)
    )
    assert restored.feed(line(seq=25))[0] is None  # a duplicate of the last read held
    assert restored.feed(line(seq=23, rewind=1))[0] is not None
    assert restored.tick(0.0) == b"" and restored.tick(30.0) == b"?" + rewind_by_log_id(20, 22) + (
        rewind_by_log_id(23, 25)
    )
    # Logged while the agent was away and never seen live: taken from the rewind.
    late = [restored.feed(line(seq=n, rewind=1))[0] for n in (25, 26, 27)]
    assert [r is not None for r in late] == [False, True, True]
    assert restored.last_log_id == 27 and restored.missing == [(21, 21), (24, 24)]


def test_gap_across_a_reconnect_is_recovered_and_a_new_log_is_followed() -> None:
    s = FMT.session(CTX)
    s.feed(line(seq=100))
    # Back on the link: what the reader logged meanwhile is asked at once.
    assert s.connected() == b"R" + rewind_by_log_id(100, 100 + s.REWIND_AHEAD)
    assert s.feed(line(seq=104))[1] == rewind_by_log_id(100, 104)
    assert s.feed(line(seq=1))[1] == b""  # the reader started a new log
    assert s.feed(line(seq=2))[1] == b""


def test_seeded_cursor_and_bad_lines() -> None:
    s = FMT.session(CTX)
    s.last_log_id = 41  # e.g. the highest log id in the journal
    assert s.feed(line(seq=43))[1] == rewind_by_log_id(41, 43)
    assert s.feed("V=25.0000") == (None, b"")
    with pytest.raises(ParseError):
        s.feed(line(port=9))


def test_status_restarts_a_stopped_reader_and_is_polled() -> None:
    s = FMT.session(CTX)
    s.connected()
    assert s.feed("S=10") == (None, b"")
    assert s.reading is True
    assert s.feed("S=00") == (None, b"R")
    assert s.reading is False
    # The first `?` one interval after connect, then every interval.
    assert [s.tick(t) for t in (0.0, 29.0, 30.0, 31.0, 59.9, 60.0)] == [
        b"",
        b"",
        b"?",
        b"",
        b"",
        b"?",
    ]


def test_time_reply_gives_the_reader_clock() -> None:
    # Reply shape `H:M:S D-M-YYYY (<n>)`, not zero-padded: Chronokeep's `Time()` regex in
    # `ChronoKeep/Timing/Interfaces/RFIDUltraInterface.cs` (a template, not a capture).
    reply = "16:5:3 2-2-2017 (1170518703)"
    expected = epoch_ms(LONDON, 2017, 2, 2, 16, 5, 3, 0)
    assert parse_time_reply(reply + "\n", CTX) == expected
    s = FMT.session(CTX)
    assert s.feed(reply) == (None, b"")
    assert s.reader_clock_ms == expected
    assert parse_time_reply("9:05:00 12-10-2024", CTX) == epoch_ms(LONDON, 2024, 10, 12, 9, 5, 0, 0)


@pytest.mark.parametrize("reply", ["25:0:0 1-1-2020 (0)", "1:2:3 31-2-2020", "V=25.0000"])
def test_bad_time_reply(reply: str) -> None:
    with pytest.raises(ParseError):
        parse_time_reply(reply, CTX)


def test_clock_commands() -> None:
    assert get_time_command() == b"r"
    # `t HH:MM:SS DD-MM-YYYY`, local, whole seconds (PikaTimer `setClock`, Chronokeep `SetTime`).
    when = epoch_ms(LONDON, 2024, 7, 1, 9, 5, 7, 999)
    assert set_time_command(when, CTX) == b"t 09:05:07 01-07-2024"
    start = epoch_ms(LONDON, 2024, 7, 1, 9, 0, 0, 0)
    wall_s = int((datetime(2024, 7, 1, 9) - datetime(1980, 1, 1)).total_seconds())
    assert rewind_by_time(start, start + 60_000, CTX) == b"8\x00\x00%d\r%d\r" % (
        wall_s,
        wall_s + 60,
    )


# --- clock jumps and values the journal cannot hold ----------------------------------------

CAPTURE_DAY = FormatContext("FIN", LONDON, day=date(2017, 2, 2))


def seconds_1980(year: int, month: int, day: int) -> int:
    return int((datetime(year, month, day) - datetime(1980, 1, 1)).total_seconds())


def test_a_read_near_the_event_day_is_kept() -> None:
    assert FMT.parse(CAPTURED, CAPTURE_DAY) == FMT.parse(CAPTURED, CTX)


@pytest.mark.parametrize("when", [(2077, 6, 1), (1980, 1, 1), (2017, 3, 6)])
def test_a_clock_that_jumped_is_quarantined_with_the_reason(when: tuple[int, int, int]) -> None:
    # Years like 2077 are seen from Ultras whose clock jumped (reset, bad sync).
    with pytest.raises(ParseError) as err:
        FMT.parse(line(secs=seconds_1980(*when)), CAPTURE_DAY)
    assert f"reader clock says {when[0]}" in err.value.reason
    assert "more than 31 days from the event date 2017-02-02" in err.value.reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (line(secs=10**11), "seconds >= 0 (at most 4294967295)"),  # OverflowError before
        (CAPTURED.replace(",-71,", "," + "9" * 400 + ","), "RSSI"),
        (CAPTURED.replace(",-71,", ",-1000,"), "RSSI -1000 is not -999-999"),
        (CAPTURED.replace(",29319", "," + "7" * 5000), "at most 19 digits"),  # int-string limit
        (CAPTURED.replace(",29319", ",9223372036854775808"), "log id"),
        (CAPTURED.replace(",29319", ",\u0662\u0663"), "log id"),
        (line(chip="x" * 129), "chip of 129 characters"),
    ],
)
def test_values_the_journal_cannot_hold_are_quarantined(text: str, reason: str) -> None:
    with pytest.raises(ParseError) as err:
        FMT.parse(text, CTX)
    assert reason in err.value.reason
