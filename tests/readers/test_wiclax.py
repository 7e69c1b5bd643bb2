"""Wiclax generic acquisition protocol: bytes in, reads out, no port opened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readers.formats import get_format, open_session
from readers.formats.wiclax import (
    WiclaxSession,
    clock_get_command,
    clock_set_command,
    parse_clock_reply,
    rewind_command,
)
from readers.read import FormatContext, ParseError, Read
from tests.readers.wall_clock import instants, over_the_wire

LONDON = ZoneInfo("Europe/London")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FMT = get_format("wiclax")
CTX = FormatContext("FIN", LONDON)
# event.toml `devices = { "0A" = 10, "deviceId" = 3 }` on reader FIN.
CTX_DEVICES = FormatContext("FIN", LONDON, devices=(("0A", 10), ("deviceId", 3)))

# csutorasa/wiclax4j `docs/protocol.md`, "Tag report" example.
DOC_LINE = "01539;22-09-2011 02:41:30.620;0A;559;;0"
# csutorasa/wiclax4j `src/test/groovy/.../formatter/WiclaxAcquisitionFormatterTest.groovy`:
# the device field is free text.
FORMATTER_LINE = "chipId;03-12-2007 10:15:30.200;deviceId;1;3;1"
# csutorasa/wiclax4j `src/test/groovy/.../smoke/IntegrationSmokeTest.md`, Connection Spy
# log of a session with the real Wiclax program (live read, then a rewind answer).
SMOKE_LIVE = "123;27-12-2020 17:30:08.392;301;;;0"
SMOKE_REWIND = "123;27-12-2020 17:30:09.958;301;;;1"


def ms(when: datetime) -> int:
    """Epoch ms computed independently of the module under test."""
    return (when - EPOCH) // timedelta(milliseconds=1)


# --- parse: the documented examples --------------------------------------------------


def test_protocol_doc_example() -> None:
    assert FMT.parse(DOC_LINE + "\r", CTX_DEVICES) == Read(
        reader="FIN",
        chip="01539",  # leading zero kept
        antenna=10,  # the device name `0A`, mapped in event.toml
        time_ms=ms(datetime(2011, 9, 22, 2, 41, 30, 620_000, tzinfo=LONDON)),
        rssi=None,
        reader_seq=None,
    )


@pytest.mark.parametrize(("line", "millis"), [(SMOKE_LIVE, 392), (SMOKE_REWIND, 1_958)])
def test_smoke_test_examples(line: str, millis: int) -> None:
    # Live and rewound lines are the same read; the flag only says why it was sent.
    assert FMT.parse(line, CTX) == Read(
        reader="FIN",
        chip="123",
        antenna=301,  # a loop number, decimal: not hex 0x301 = 769
        time_ms=ms(datetime(2020, 12, 27, 17, 30, 8, tzinfo=LONDON)) + millis,
        rssi=None,
        reader_seq=None,
    )


def test_free_text_device_is_mapped_through_event_toml() -> None:
    read = FMT.parse(FORMATTER_LINE, CTX_DEVICES)
    when = ms(datetime(2007, 12, 3, 10, 15, 30, 200_000, tzinfo=LONDON))
    assert read == Read("FIN", "chipId", 3, when)


def test_unmapped_free_text_device_is_quarantined_naming_the_key() -> None:
    with pytest.raises(ParseError) as err:
        FMT.parse(FORMATTER_LINE, CTX)
    assert 'devices = { "deviceId" = 1 } on reader FIN' in err.value.reason


def test_a_mapping_wins_over_a_number() -> None:
    ctx = FormatContext("FIN", LONDON, devices=(("301", 2),))
    read = FMT.parse(SMOKE_LIVE, ctx)
    assert read is not None and read.antenna == 2
    assert FMT.emit(read, ctx).split(";")[2] == "301"


def test_optional_fields_may_be_left_off_and_antenna_defaults_to_1() -> None:
    read = FMT.parse("77;01-06-2026 10:00:00.005\n", CTX)
    assert read == Read("FIN", "77", 1, ms(datetime(2026, 6, 1, 10, 0, 0, 5_000, tzinfo=LONDON)))
    assert FMT.parse("77;01-06-2026 10:00:00.005;;;;0", CTX) == read


@pytest.mark.parametrize(
    "line",
    ["*", "*\r", "CLOCKOK", "READOK", "CLOCK 27-12-2020 17:34:16", "RACESTART 17:30:09.065", ""],
)
def test_heartbeats_and_replies_are_not_reads(line: str) -> None:
    # All seen in the wiclax4j smoke-test log.
    assert FMT.parse(line, CTX) is None


def test_gun_start_in_the_documented_comma_form_is_not_a_read() -> None:
    # wiclax4j docs/protocol.md writes `RACESTART 23:59:59,999`; its code sends a dot.
    assert FMT.parse("RACESTART 23:59:59,999", CTX) is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("HELLO", "neither a chip line"),
        ("123;27-12-2020 17:30:08.392;301;;;0;x", "got 7"),
        (";27-12-2020 17:30:08.392;301;;;0", "empty chip"),
        ("123;2020-12-27 17:30:08.392;301;;;0", "dd-MM-yyyy"),
        ("123;31-02-2020 17:30:08.392;301;;;0", "calendar date"),
        ("123;27-12-2020 24:30:08.392;301;;;0", "calendar date"),
        ("123;27-12-2020 17:30:08.392;G1;;;0", "not a loop number"),
        ("123;27-12-2020 17:30:08.392;0x1;;;0", "not a loop number"),
        ("123;27-12-2020 17:30:08.392;2147483648;;;0", "is not 0-2147483647"),
        ("123;27-12-2020 17:30:08.392;" + "9" * 5000 + ";;;0", "at most 19 digits"),
        ("123;27-12-9999 17:30:08.392;1;;;0", "between 1970 and 2100"),
        ("123;27-12-2020 17:30:08.392;00;;;0", "count from 1"),
        ("123;27-12-2020 17:30:08.392;301;;;2", "rewind flag"),
    ],
)
def test_bad_lines_say_why(line: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        FMT.parse(line, CTX)


# --- emit: the round trip ------------------------------------------------------------


reads = st.builds(
    Read,
    reader=st.just("FIN"),
    chip=st.text("0123456789ABCDEFabcdef", min_size=1, max_size=16),
    antenna=st.integers(1, 0xFFFF),
    # Every instant from 2000 to 2099, the repeated hour of each autumn included.
    time_ms=instants(LONDON),
    rssi=st.none(),  # Wiclax lines carry no signal strength
    reader_seq=st.none(),
)


@given(reads)
def test_parse_emit_round_trip(read: Read) -> None:
    line = FMT.emit(read, CTX)
    # The second pass of the repeated hour reads back as the first (no offset sent).
    back = read._replace(time_ms=over_the_wire(read.time_ms, LONDON))
    assert FMT.parse(line, CTX) == back
    assert FMT.parse(line + "\r", CTX) == back
    assert FMT.emit(back, CTX) == line


def test_emit_writes_the_documented_shape() -> None:
    read = FMT.parse(DOC_LINE, CTX_DEVICES)
    assert read is not None
    assert FMT.emit(read, CTX_DEVICES) == "01539;22-09-2011 02:41:30.620;0A;;;0"
    assert FMT.emit(read, CTX) == "01539;22-09-2011 02:41:30.620;10;;;0"


# --- session and commands ------------------------------------------------------------


def session() -> WiclaxSession:
    s = open_session(FMT, CTX)
    assert isinstance(s, WiclaxSession)
    return s


def test_handshake_bytes() -> None:
    # Wiclax greets with HELLO (no reply), then STARTREAD, answered READOK (smoke-test log).
    s = session()
    assert s.connected() == b"HELLO\rSTARTREAD\r"
    assert s.feed("READOK") == (None, b"")
    assert s.tick(1.0) == b""  # the device sends the heartbeats


def test_rewind_command_covers_the_range_in_whole_seconds() -> None:
    start = ms(datetime(2020, 12, 27, 0, 0, 0, 400_000, tzinfo=LONDON))
    end = ms(datetime(2020, 12, 27, 17, 6, 59, 1_000, tzinfo=LONDON))
    # Shape as in the wiclax4j smoke-test log: `REWIND 27-12-2020 00:00:00 27-12-2020 17:07:00`.
    assert rewind_command(start, end, CTX) == b"REWIND 27-12-2020 00:00:00 27-12-2020 17:07:00\r"
    summer = ms(datetime(2026, 7, 1, 9, 0, tzinfo=LONDON))
    assert (
        rewind_command(summer, summer, CTX) == b"REWIND 01-07-2026 09:00:00 01-07-2026 09:00:00\r"
    )


def test_clock_commands_and_reply() -> None:
    when = ms(datetime(2020, 12, 27, 17, 34, 20, tzinfo=LONDON))
    assert clock_get_command() == b"CLOCK\r"
    assert clock_set_command(when + 999, CTX) == b"CLOCK 27-12-2020 17:34:20\r"
    assert parse_clock_reply("CLOCK 27-12-2020 17:34:20\r", CTX) == when
    with pytest.raises(ParseError, match="CLOCK reply"):
        parse_clock_reply("CLOCKOK", CTX)


def test_heartbeat_between_a_command_and_its_reply() -> None:
    # Smoke-test log: `>> CLOCK 27-12-2020 17:34:20`, `<< *`, `<< CLOCKOK`; then a get.
    s = session()
    assert s.feed("*") == (None, b"")
    assert s.feed("CLOCKOK") == (None, b"")
    assert s.feed("*\r") == (None, b"")
    assert s.feed("CLOCK 27-12-2020 17:34:24\r") == (None, b"")
    assert s.reader_clock_ms == ms(datetime(2020, 12, 27, 17, 34, 24, tzinfo=LONDON))


def test_session_reads_and_gun_start() -> None:
    s = session()
    read, out = s.feed(SMOKE_LIVE + "\r")
    assert read is not None and read.antenna == 301 and out == b""
    assert s.feed("RACESTART 17:30:09.065") == (None, b"")
    assert s.race_start == "17:30:09.065"
    with pytest.raises(ParseError):
        s.feed("123;27-12-2020;301")
