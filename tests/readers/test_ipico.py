"""`ipico` format: vendor and captured records, bad records, round trip, control frames."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from readers.formats import get_format, open_session
from readers.formats.ipico import (
    ControlFrame,
    Ipico,
    IpicoSession,
    get_date_time_command,
    parse_control,
    parse_date_time_reply,
    set_date_time_command,
)
from readers.read import FormatContext, ParseError, Read

LONDON = ZoneInfo("Europe/London")
CTX = FormatContext("GATE", LONDON)
FMT = Ipico()


def epoch_ms(*fields: int) -> int:
    """Epoch ms of a London wall time, with datetime only (not the code under test)."""
    *whole, ms = fields
    return int(datetime(*whole, tzinfo=LONDON).timestamp()) * 1000 + ms


def lrc(body: str) -> str:
    return f"{sum(ord(c) for c in body) % 256:02x}"


def record(body: str) -> str:
    """`aa` + body + its checksum, so a bad field can be tested past the checksum."""
    return f"aa{body}{lrc(body)}"


# (record, antenna, chip, local wall time, hundredths -> ms)
EXAMPLES = [
    # Vendor "IPICO Reader Serial Protocol" (2007), checksum example; copy of the PDF in
    # iwismer/rusty-timer `docs/ipico-protocol/IPICO-Reader-Serial-Protocol-100-20071120.pdf`,
    # line in `crates/ipico-core/tests/fixtures/raw_reads.txt`.
    ("aa400000000123450a2a01123018455927a7", 0x40, "000000012345", (2001, 12, 30, 18, 45, 59, 390)),
    # iwismer/rusty-timer `crates/ipico-core/tests/fixtures/raw_reads.txt` (fixtures, the
    # third in upper case: the chip is still the lower-case tag).
    ("aa400000000123450a2a0112301846000091", 0x40, "000000012345", (2001, 12, 30, 18, 46, 0, 0)),
    ("aa4000000000AABB0a2a2601010830003ffc", 0x40, "00000000aabb", (2026, 1, 1, 8, 30, 0, 630)),
    # Captured from a real IPICO Lite, reader id 00: iwismer/rusty-timer
    # `docs/ipico-protocol/ipico-control-protocol.md` (read4tags.pcapng).
    ("aa0005800012860800012603062027472353", 256, "058000128608", (2026, 3, 6, 20, 27, 47, 350)),
    ("aa0005800012860800012603071348515f8a", 256, "058000128608", (2026, 3, 7, 13, 48, 51, 950)),
    # Same document, direct-fslsreads-con-dis.pcapng.
    ("aa00058000120e38000e26030713560136b0", 256, "058000120e38", (2026, 3, 7, 13, 56, 1, 540)),
    # TTO on (42 chars): rusty-timer `docs/ipico-protocol/ipico-control-protocol.md`
    # (fsls-event-tto.pcapng, TTO bytes `060080`).
    (
        "aa00058000123b3200012603081222022f060080cd",
        256,
        "058000123b32",
        (2026, 3, 8, 12, 22, 2, 470),
    ),
]


@pytest.mark.parametrize(("text", "antenna", "chip", "wall"), EXAMPLES)
def test_parses_documented_records(
    text: str, antenna: int, chip: str, wall: tuple[int, ...]
) -> None:
    assert lrc(text[2:-2]) == text[-2:].lower()  # the examples' checksums, independently
    expected = Read("GATE", chip, antenna, epoch_ms(*wall), None, None)
    assert FMT.parse(text, CTX) == expected
    assert FMT.parse(text + "\r\n", CTX) == expected


def test_hundredths_are_hex() -> None:
    # `5f` is 95 hundredths, not an error (CrossMgr reads it as decimal and drops it).
    read = FMT.parse("aa0005800012860800012603071348515f8a", CTX)
    assert read is not None and read.time_ms % 1000 == 950


@pytest.mark.parametrize("suffix", ["FS", "LS"])
def test_first_last_seen_suffix_is_accepted(suffix: str) -> None:
    text = "aa400000000123450a2a01123018455927a7"
    assert FMT.parse(text + suffix, CTX) == FMT.parse(text, CTX)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ab00000121",  # ack (rusty-timer `ipico-control-protocol.md`)
        "ab000902260306051855443727cf",  # date/time reply, same source
        # Startup banner, same source.
        "ARM9 Controller for DF Dual DSP TTO Actel FPGA (STK Lite) (38.4kB) v1.4 Jun  5 2013",
    ],
)
def test_non_read_lines_are_none(text: str) -> None:
    assert FMT.parse(text, CTX) is None


GOOD = "400000000123450a2a0112301845592"  # body of the vendor example, minus hundredths' 7


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("aa400000000123450a2a01123018455927a8", "bad checksum 'a8'"),
        ("aa400000000123450a2a01123018455927", "34 characters, not 36"),  # no checksum
        ("aa400000000123450a2a01123018455927a7ff", "38 characters, not 36"),
        ("xyz", "is not an `aa` tag record"),
        (record("400000000123450a2a011230184559zz"), "hundredths 'zz' is not hex"),
        (record("400000000123450a2a0112301845596a"), "hundredths 0x6a = 106 is not below 100"),
        (record("400000000123450a2a01123018455964"), "hundredths 0x64 = 100"),
        (record("40000000012345xx2a011230184559" + "27"), "I/Q or TTO field 'xx2a'"),
        (record("4000000g0123450a2a011230184559" + "27"), "tag id '00000g012345' is not hex"),
        (record("g00000000123450a2a011230184559" + "27"), "reader id 'g0'"),
        (record("400000000123450a2a011330184559" + "27"), "bad date/time 011330 184559"),
        (record("400000000123450a2a010229184559" + "27"), "bad date/time 010229"),
        (record("400000000123450a2a011230246059" + "27"), "bad date/time"),
        (record("400000000123450a2a0112x0184559" + "27"), "is not decimal digits"),
    ],
)
def test_bad_records_say_why(text: str, reason: str) -> None:
    with pytest.raises(ParseError) as err:
        FMT.parse(text, CTX)
    assert reason in err.value.reason


def test_emit_writes_what_the_reader_sends() -> None:
    read = FMT.parse("aa0005800012860800012603071348515f8a", CTX)
    assert read is not None
    # I/Q counters are not kept: emitted as 0001, which the captured record also has.
    assert FMT.emit(read, CTX) == "aa0005800012860800012603071348515f8a"


def test_emit_truncates_to_hundredths() -> None:
    read = Read("GATE", "058000128608", 1, epoch_ms(2026, 3, 7, 13, 48, 51, 959))
    text = FMT.emit(read, CTX)
    assert text[32:34] == "5f"  # 95 hundredths: 9 ms dropped, never rounded up
    assert FMT.parse(text, CTX) == Read("GATE", "058000128608", 1, read.time_ms - 9)


def test_emit_rejects_what_an_ipico_cannot_send() -> None:
    ok = Read("GATE", "058000128608", 1, epoch_ms(2026, 3, 7, 13, 48, 51, 0))
    for bad, why in [
        (Read(ok.reader, ok.chip, 0, ok.time_ms), "antenna 0"),
        (Read(ok.reader, ok.chip, 257, ok.time_ms), "antenna 257"),
        (Read(ok.reader, "12345", 1, ok.time_ms), "12 hex digits"),
        (Read(ok.reader, "05800012860z", 1, ok.time_ms), "12 hex digits"),
        (Read(ok.reader, ok.chip, 1, epoch_ms(1999, 12, 31, 12, 0, 0, 0)), "year 1999"),
    ]:
        with pytest.raises(ValueError, match=why):
            FMT.emit(bad, CTX)


def test_antenna_mapping_is_reader_id_mod_256() -> None:
    read = Read("GATE", "058000128608", 1, epoch_ms(2026, 3, 7, 13, 48, 51, 0))
    for antenna, reader_id in [(1, "01"), (15, "0f"), (255, "ff"), (256, "00")]:
        text = FMT.emit(Read(read.reader, read.chip, antenna, read.time_ms), CTX)
        assert text[2:4] == reader_id


TIMES = st.integers(epoch_ms(2000, 1, 2, 0, 0, 0, 0), epoch_ms(2099, 12, 30, 0, 0, 0, 0))


@given(
    chip=st.from_regex(r"[0-9a-f]{12}", fullmatch=True),
    antenna=st.integers(1, 256),
    time_ms=TIMES,
)
def test_round_trip(chip: str, antenna: int, time_ms: int) -> None:
    # The second pass through the repeated hour at the end of DST reads back as the
    # first: the record carries local wall time with no offset.
    assume(datetime.fromtimestamp(time_ms // 1000, LONDON).fold == 0)
    exact = Read("GATE", chip, antenna, time_ms - time_ms % 10)  # quantised to hundredths
    text = FMT.emit(exact, CTX)
    assert len(text) == 36 and text == text.lower()
    assert FMT.parse(text, CTX) == exact
    # Any millisecond emits as the hundredth below it (London offsets are whole hours).
    assert FMT.parse(FMT.emit(Read("GATE", chip, antenna, time_ms), CTX), CTX) == exact


def test_registered_and_has_a_session() -> None:
    assert isinstance(get_format("ipico"), Ipico)
    assert isinstance(open_session(get_format("ipico"), CTX), IpicoSession)


# --- control frames and session ------------------------------------------------------------
# Frames captured in iwismer/rusty-timer `docs/ipico-protocol/ipico-control-protocol.md`.


def test_get_date_time_command() -> None:
    assert get_date_time_command() == b"ab00000222\r\n"


def test_set_date_time_command_matches_capture() -> None:
    # 2026-03-06 19:49:21, a Friday (day of week 05).
    when = epoch_ms(2026, 3, 6, 19, 49, 21, 0)
    assert set_date_time_command(when, CTX) == b"ab00070126030605194921f8\r\n"
    # Milliseconds are dropped; Sunday is day 00.
    sunday = epoch_ms(2026, 3, 8, 7, 5, 9, 700)
    body = "00070126030800070509"
    assert set_date_time_command(sunday, CTX) == f"ab{body}{lrc(body)}\r\n".encode()


def test_date_time_reply_gives_the_reader_clock() -> None:
    # Payload 26 03 06 05 18 55 44 37 27: 2026-03-06 18:55:44, 0x37 = 55 hundredths.
    expected = epoch_ms(2026, 3, 6, 18, 55, 44, 550)
    assert parse_date_time_reply("ab000902260306051855443727cf\r\n", CTX) == expected


def test_parse_control_frames() -> None:
    assert parse_control("ab00000121") == ControlFrame(0, 0x01, b"")  # set ack
    assert parse_control("ab0000f157").instruction == 0xF1  # error: bad checksum
    reply = parse_control("ab000902260306051855443727cf")
    assert reply.payload == bytes.fromhex("260306051855443727")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ab00000122", "bad checksum"),
        ("ab00010223", "says 1 data bytes but has 0"),
        ("aa00000222", "not an `ab` control frame"),
        ("ab00", "not an `ab` control frame"),
    ],
)
def test_bad_control_frames(text: str, reason: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_control(text)
    assert reason in err.value.reason


@pytest.mark.parametrize(
    "text",
    [
        "ab00000121",  # an ack, not a reply
        "ab000902260306051855443727ce",  # bad checksum
        "ab000902261306051855443727d0",  # month 13
        "ab000902260306051855446427cf",  # hundredths 0x64
    ],
)
def test_bad_date_time_reply(text: str) -> None:
    with pytest.raises(ParseError):
        parse_date_time_reply(text, CTX)


def test_session_reads_the_clock_on_connect() -> None:
    s = FMT.session(CTX)
    assert s.connected() == b"ab00000222\r\n"
    assert s.feed("ab000902260306051855443727cf\r\n") == (None, b"")
    assert s.reader_clock_ms == epoch_ms(2026, 3, 6, 18, 55, 44, 550)
    assert s.feed("ab00000121") == (None, b"")
    assert s.reader_clock_ms == epoch_ms(2026, 3, 6, 18, 55, 44, 550)
    assert s.feed(EXAMPLES[0][0]) == (FMT.parse(EXAMPLES[0][0], CTX), b"")
    assert s.tick(5.0) == b""
    with pytest.raises(ParseError):
        s.feed("ab00000122")


# --- frames that are valid but not reads --------------------------------------------------
# Vendor "IPICO Reader Serial Protocol" (2007-11-20): `ab` frames carry status and replies,
# `ad` frames page data; in a TTO record, page 0 is the tag id and a page above 0 a page of
# tag memory (rusty-timer `ipico-control-protocol.md` on its TTO captures).
TTO_BODY = "00058000123b3200012603081222022f"  # the TTO capture above, before its TTO bytes


@pytest.mark.parametrize("frame", ["ab000902260306051855443727cf", "ad0003" + "0102" + "ff"])
def test_status_and_page_frames_are_not_reads_and_not_quarantined(frame: str) -> None:
    assert FMT.parse(frame, CTX) is None


def test_tto_record_with_a_page_above_zero_is_never_a_read() -> None:
    page0 = record(TTO_BODY + "060080")
    assert page0 == "aa00058000123b3200012603081222022f060080cd"  # the capture itself
    assert FMT.parse(page0, CTX) is not None
    for page in ("01", "02", "ff"):
        assert FMT.parse(record(TTO_BODY + "06" + page + "80"), CTX) is None


def test_a_control_frame_of_half_a_byte_is_quarantined() -> None:
    # Found by the fuzz test: length 0xff ("as many as follow") with an odd hex digit.
    with pytest.raises(ParseError, match="whole bytes"):
        parse_control("ab00ff226030605185544372702")
