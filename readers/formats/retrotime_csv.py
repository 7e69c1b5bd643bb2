"""`retrotime-csv`: RetroTime's own line format, one read per line, no header.

    reader_id,chip,antenna,timestamp,rssi
    FIN,058003700123,2,2026-04-12T11:40:17.843+01:00,-48.5

| # | field     | notes                                                        |
|---|-----------|--------------------------------------------------------------|
| 0 | reader_id | the reader's id in event.toml                                |
| 1 | chip      | kept verbatim (leading zeros are part of the identity)       |
| 2 | antenna   | 1-based integer, at most 2^31 - 1                            |
| 3 | timestamp | ISO 8601, milliseconds, UTC offset; emitted in the event zone |
|   |           | (1970 to 2100)                                               |
| 4 | rssi      | dBm -999 to 999, or empty when unknown                       |
"""

from __future__ import annotations

from datetime import datetime

from readers.formats import register
from readers.read import (
    ANTENNA_MAX,
    RSSI_MAX,
    RSSI_MIN,
    UTC,
    FormatContext,
    ParseError,
    Read,
    checked,
    integer,
)


class RetrotimeCsv:
    name = "retrotime-csv"
    has_rssi = True
    terminator = b"\n"

    def parse(self, line: str, ctx: FormatContext) -> Read | None:
        parts = line.strip().split(",")
        if len(parts) != 5:
            raise ParseError(f"expected 5 comma-separated fields, got {len(parts)}")
        reader, chip, antenna, stamp, rssi = parts
        if not reader or not chip:
            raise ParseError("empty reader id or chip")
        # isdigit() and isascii() first: int() would also take " 7", "1_0", "٢".
        if not (antenna.isdigit() and antenna.isascii() and len(antenna) <= 10):
            integer(antenna, "antenna", 1, ANTENNA_MAX)  # raises, saying why
        ant = int(antenna)
        if not 1 <= ant <= ANTENNA_MAX:
            raise ParseError(f"antenna {ant} is not 1-{ANTENNA_MAX}")
        time_ms = parse_iso_ms(stamp)
        strength = None
        if rssi:
            try:
                strength = float(rssi)
            except ValueError:
                raise ParseError(f"rssi {rssi[:24]!r} is not a number") from None
            if not RSSI_MIN <= strength <= RSSI_MAX:  # NaN and infinities fail it too
                raise ParseError(f"rssi {strength:g} is not {RSSI_MIN:g} to {RSSI_MAX:g}")
        return checked(Read(reader, chip, ant, time_ms, strength))

    def emit(self, read: Read, ctx: FormatContext) -> str:
        rssi = "" if read.rssi is None else f"{read.rssi:g}"
        return f"{read.reader},{read.chip},{read.antenna},{format_iso_ms(read.time_ms, ctx)},{rssi}"


def parse_iso_ms(stamp: str) -> int:
    """Epoch milliseconds of an ISO 8601 timestamp that carries its UTC offset."""
    try:
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise ParseError(f"timestamp {stamp[:40]!r} has no UTC offset")
        seconds = int(when.timestamp() // 1)
    except (ValueError, OverflowError):
        raise ParseError(f"timestamp {stamp[:40]!r} is not ISO 8601 within range") from None
    return seconds * 1000 + when.microsecond // 1000


def format_iso_ms(time_ms: int, ctx: FormatContext) -> str:
    when = datetime.fromtimestamp(time_ms // 1000, UTC).astimezone(ctx.tz)
    return when.replace(microsecond=(time_ms % 1000) * 1000).isoformat(timespec="milliseconds")


register(RetrotimeCsv())
