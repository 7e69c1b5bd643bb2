"""The `llrp` text line of one LLRP tag report: bytes in, reads out, no port opened."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readers.formats import format_names, get_format
from readers.formats.llrp import TagReport, parse_report, report_line
from readers.read import FormatContext, ParseError, Read

FMT = get_format("llrp")
CTX = FormatContext("FIN", ZoneInfo("Europe/London"))
# The module docstring's examples (readers/formats/llrp.py).
DOC_LINE = "e2000017010b016210000001,1,-52.25,1700000000123456"
DOC_NO_RSSI = "3000e2801160600002084f7d6b1a,3,,1700000000987654"


def test_registered_with_what_the_simulator_and_replay_need() -> None:
    assert "llrp" in format_names()
    assert (FMT.has_rssi, FMT.terminator) == (True, b"\n")


def test_documented_lines() -> None:
    assert FMT.parse(DOC_LINE, CTX) == Read(
        "FIN", "e2000017010b016210000001", 1,
        int(datetime(2023, 11, 14, 22, 13, 20, 123_000, tzinfo=UTC).timestamp() * 1000), -52.25,
    )  # fmt: skip
    read = FMT.parse(DOC_NO_RSSI + "\r\n", CTX)
    assert read is not None
    # every byte of the EPC is kept, leading zeros included; no RSSI is not -0
    assert (read.chip, read.antenna, read.rssi) == ("3000e2801160600002084f7d6b1a", 3, None)
    assert read.time_ms == 1_700_000_000_987  # microseconds dropped, never rounded up


def test_the_line_keeps_the_microseconds_the_read_drops() -> None:
    report = parse_report(DOC_LINE)
    assert report == TagReport(bytes.fromhex("e2000017010b016210000001"), 1, -52.25,
                               1_700_000_000_123_456)  # fmt: skip
    assert report_line(report) == DOC_LINE


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("e2000017010b016210000001,1,-52,u3600000000",
         "first-seen time is the reader's uptime, not UTC: set the reader's clock (NTP)"),
        ("e2000017010b016210000001,1,-52,3600000000",
         "first-seen time 3600000000 µs is not a UTC time between 2000 and 2100: "
         "is the reader's clock set?"),
        ("e2000017010b016210000001,1,-52", "expected epc,antenna,rssi,first_seen_us (4 fields), "
         "got 3"),
        ("E2000017010B016210000001,1,-52,1700000000123456",
         "EPC 'E2000017010B016210000001' is not lower-case hex bytes"),
        ("e2000017010b01621000000,1,-52,1700000000123456",
         "EPC 'e2000017010b01621000000' is not lower-case hex bytes"),
        ("e2000017010b016210000001,0,-52,1700000000123456",
         "antenna '0' is not a port number 1-65535"),
        ("e2000017010b016210000001,,-52,1700000000123456",
         "antenna '' is not a port number 1-65535"),
        ("e2000017010b016210000001,1,strong,1700000000123456", "peak RSSI 'strong' is not dBm"),
        ("e2000017010b016210000001,1,-52,", "first-seen time '' is not microseconds"),
    ],
)  # fmt: skip
def test_quarantined_with_the_reason(line: str, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        FMT.parse(line, CTX)
    assert info.value.reason == reason


def test_cut_and_joined_lines_are_quarantined() -> None:
    for cut in range(2, len(DOC_LINE) - 1):
        with pytest.raises(ParseError):
            FMT.parse(DOC_LINE[:cut], CTX)
    # A line whose terminator was lost runs into the next one; cut inside the EPC it
    # would only be a longer EPC, so from the first comma on.
    for cut in range(DOC_LINE.index(",") + 1, len(DOC_LINE) - 1):
        with pytest.raises(ParseError):
            FMT.parse(DOC_LINE[:cut] + DOC_LINE, CTX)


def test_emit_refuses_a_chip_that_is_not_an_epc() -> None:
    with pytest.raises(ValueError, match="not lower-case hex"):
        FMT.emit(Read("FIN", "E200", 1, 1_700_000_000_000), CTX)
    with pytest.raises(ValueError, match="not an EPC in hex"):
        FMT.emit(Read("FIN", "bib-12", 1, 1_700_000_000_000), CTX)


epcs = st.binary(min_size=2, max_size=62).map(bytes.hex)
rssis = st.none() | st.integers(-12800, 12700).map(lambda c: c / 100)
times_ms = st.integers(946_684_800_000, 4_102_444_799_999)


@given(chip=epcs, antenna=st.integers(1, 65535), time_ms=times_ms, rssi=rssis)
def test_parse_emit_round_trip(chip: str, antenna: int, time_ms: int, rssi: float | None) -> None:
    read = Read("FIN", chip, antenna, time_ms, rssi)
    line = FMT.emit(read, CTX)
    assert FMT.parse(line, CTX) == read
    assert FMT.emit(FMT.parse(line, CTX), CTX) == line  # type: ignore[arg-type]


@given(
    epc=st.binary(min_size=1, max_size=62),
    antenna=st.integers(1, 65535),
    rssi=rssis,
    us=st.integers(0, 10**17),
    uptime=st.booleans(),
)
def test_report_line_round_trip(
    epc: bytes, antenna: int, rssi: float | None, us: int, uptime: bool
) -> None:
    report = TagReport(epc, antenna, rssi, us, uptime)
    assert parse_report(report_line(report)) == report
