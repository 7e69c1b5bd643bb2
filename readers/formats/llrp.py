"""`llrp`: one LLRP tag report as a text line, so raw reads are kept and replayable.

An LLRP reader (Impinj Speedway, R700, ...) speaks a binary protocol (`readers/llrp_*.py`
drive it); what the agent journals, and what `retrotime replay --log X=file` reads, is
this line, one per tag report, LF-terminated:

    e2000017010b016210000001,1,-52.25,1700000000123456
    3000e2801160600002084f7d6b1a,3,,1700000000987654      (no peak RSSI in the report)

| # | field      | from the LLRP TagReportData                                         |
|---|------------|---------------------------------------------------------------------|
| 0 | EPC        | EPC-96 or EPCData bytes as lower-case hex, every byte (zeros kept)  |
| 1 | antenna    | AntennaID, 1-65535: the port number event.toml names                |
| 2 | peak RSSI  | dBm; Impinj's centi-dBm ImpinjPeakRSSI where sent, else PeakRSSI;   |
|   |            | empty when the report has neither                                   |
| 3 | first seen | FirstSeenTimestampUTC, microseconds since 1970-01-01 UTC; a reader  |
|   |            | that sends only its uptime is written `u<microseconds>`             |

A read's time is the first-seen time in whole milliseconds (microseconds dropped, not
rounded, so a read never moves later than the tag was seen); the line keeps the
microseconds. A time before 2000 or after 2100 is not a UTC clock (a reader whose clock
was never set, or one counting uptime): such a line is quarantined with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from readers.formats import register
from readers.read import FormatContext, ParseError, Read, checked

PLAUSIBLE_US = (946_684_800_000_000, 4_102_444_800_000_000)  # 2000-01-01 .. 2100-01-01 UTC
_HEX = re.compile(r"(?:[0-9a-f]{2})+")
_INT = re.compile(r"-?[0-9]{1,6}", re.ASCII)  # at most 6 digits: no int-string limit
_RSSI = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,2})?", re.ASCII)  # -999.99 to 999.99 dBm


@dataclass(frozen=True, slots=True)
class TagReport:
    """The fields of one LLRP TagReportData that timing uses."""

    epc: bytes
    antenna: int
    rssi: float | None
    first_seen_us: int
    uptime: bool = False  # first_seen_us counts from the reader's boot, not from 1970


def report_line(report: TagReport) -> str:
    rssi = "" if report.rssi is None else rssi_text(report.rssi)
    when = f"u{report.first_seen_us}" if report.uptime else str(report.first_seen_us)
    return f"{report.epc.hex()},{report.antenna},{rssi},{when}"


def parse_report(line: str) -> TagReport:
    """The report a line holds; `ParseError` for anything else (cut, joined, noise)."""
    fields = line.strip().split(",")
    if len(fields) != 4:
        raise ParseError(f"expected epc,antenna,rssi,first_seen_us (4 fields), got {len(fields)}")
    epc, antenna, rssi, when = fields
    if _HEX.fullmatch(epc) is None:
        raise ParseError(f"EPC {epc[:40]!r} is not lower-case hex bytes")
    if _INT.fullmatch(antenna) is None or not 1 <= int(antenna) <= 65535:
        raise ParseError(f"antenna {antenna!r} is not a port number 1-65535")
    if rssi and _RSSI.fullmatch(rssi) is None:
        raise ParseError(f"peak RSSI {rssi!r} is not dBm")
    uptime = when.startswith("u")
    digits = when[1:] if uptime else when
    if not (digits.isdigit() and digits.isascii() and len(digits) <= 19):
        raise ParseError(f"first-seen time {when!r} is not microseconds")
    return TagReport(bytes.fromhex(epc), int(antenna), float(rssi) if rssi else None,
                     int(digits), uptime)  # fmt: skip


def rssi_text(rssi: float) -> str:
    text = f"{rssi:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class Llrp:
    name = "llrp"
    has_rssi = True
    terminator = b"\n"

    def parse(self, line: str, ctx: FormatContext) -> Read | None:
        report = parse_report(line)
        if report.uptime:
            raise ParseError(
                "first-seen time is the reader's uptime, not UTC: set the reader's clock (NTP)"
            )
        low, high = PLAUSIBLE_US
        if not low <= report.first_seen_us < high:
            raise ParseError(
                f"first-seen time {report.first_seen_us} µs is not a UTC time between 2000 "
                "and 2100: is the reader's clock set?"
            )
        return checked(Read(ctx.reader, report.epc.hex(), report.antenna,
                            report.first_seen_us // 1000, report.rssi))  # fmt: skip

    def emit(self, read: Read, ctx: FormatContext) -> str:
        try:
            epc = bytes.fromhex(read.chip)
        except ValueError:
            raise ValueError(f"chip {read.chip!r} is not an EPC in hex") from None
        if epc.hex() != read.chip:
            raise ValueError(f"chip {read.chip!r} is not lower-case hex bytes")
        return report_line(TagReport(epc, read.antenna, read.rssi, read.time_ms * 1000))


register(Llrp())
