"""`ipico`: IPICO Lite / Elite "aa" tag records, serial 9600 8N1 or TCP 10000.

    aa0005800012860800012603062027472353          tag record (36 chars)
    aa00058000123b3200012603081222022f060080cd    with TTO fields (42 chars)
    ab000902260306051855443727cf                  control frame: not a read
    ad...                                         page data frame: not a read

| chars  | field       | notes                                                      |
|--------|-------------|------------------------------------------------------------|
| 0-1    | `aa`        | header                                                     |
| 2-3    | reader id   | hex -> `Read.antenna` (see below)                          |
| 4-15   | tag id      | 12 hex digits, kept verbatim in lower case                 |
| 16-19  | I, Q        | hex counters (ignored; emitted as `0001`)                  |
| 20-25  | yymmdd      | decimal, reader-local date in ctx.tz, year 20yy            |
| 26-31  | hhmmss      | decimal, reader-local time                                 |
| 32-33  | hundredths  | **hex**: `27` = 0.39 s, `5f` = 0.95 s                      |
| 34-39  | TTO         | index, page, status: only when TTO is on; page > 0 is data |
| last 2 | checksum    | low byte of the sum of the ASCII codes after `aa`, hex     |

A trailing `FS`/`LS` (first/last seen, written by some files) is accepted and left out
of the checksum. IPICO has no RSSI.

Frames that are valid but not reads parse to None (counted as status lines, never
quarantined): `ab` control frames (status, replies), `ac`, `ad` page-data frames, and
TTO records whose page byte is above 0, which carry a page of tag memory rather than
the tag id (page 0 is the id; vendor "IPICO Reader Serial Protocol", 2007-11-20, and
rusty-timer's notes on its TTO captures).

Antenna: the record has no antenna; each reading unit has its own reader id. RetroTime
reads the id as hex, `01`-`ff` are antennas 1-255, and `00` (the factory id, seen in
the rusty-timer captures) is antenna 256: antenna = id mod 256, so emit inverts it.

Resolution: hundredths. `emit` truncates milliseconds to the hundredth below (the
reader's 10 ms counter counts whole ticks), so only times in 10 ms steps round-trip.
Event and first/last-seen modes resend a tag with the same timestamp: the repeats
parse to equal `Read`s, so deduplicate on equality.

Sources: vendor "IPICO Reader Serial Protocol" (2007) and iwismer/rusty-timer
`docs/ipico-protocol/ipico-control-protocol.md` (captures, `ab` frames, BCD date/time
with Sunday = 0), `crates/ipico-core/tests/fixtures/raw_reads.txt`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from readers.formats import Session, register
from readers.read import FormatContext, ParseError, Read, local_to_ms, ms_to_local

_HEX = frozenset("0123456789abcdefABCDEF")
SET_DATE_TIME = 0x01
GET_DATE_TIME = 0x02


class Ipico:
    name = "ipico"
    has_rssi = False
    terminator = b"\r\n"

    def parse(self, line: str, ctx: FormatContext) -> Read | None:
        text = line.strip()
        if not text or text.startswith(("ab", "ac", "ad")):
            return None  # control and page-data frames: see `parse_control`
        if not text.startswith("aa"):
            if " " in text:
                return None  # the plain-text startup banner (answer to command 0x37)
            raise ParseError(f"{text[:12]!r} is not an `aa` tag record")
        if text.endswith(("FS", "LS")):
            text = text[:-2]
        if len(text) not in (36, 42):
            raise ParseError(f"tag record is {len(text)} characters, not 36 (42 with TTO)")
        _check(text)
        reader_id = int(_hex(text[2:4], "reader id"), 16)
        chip = _hex(text[4:16], "tag id")
        _hex(text[16:20] + text[34:-2], "I/Q or TTO field")
        if len(text) == 42 and text[36:38] != "00":
            return None  # a TTO page of tag data, not a tag id
        wall = _wall_time(text[20:26], text[26:32])
        hundredths = _hundredths(text[32:34])
        time_ms = local_to_ms(wall, ctx.tz) + hundredths * 10
        # Real readers send lower case; a fixture in rusty-timer does not: same tag.
        return Read(ctx.reader, chip.lower(), reader_id or 256, time_ms, None, None)

    def emit(self, read: Read, ctx: FormatContext) -> str:
        """A 36-char record (no TTO); milliseconds are truncated to hundredths."""
        if not 1 <= read.antenna <= 256:
            raise ValueError(f"antenna {read.antenna} is not 1-256 (reader id 01-ff, 00)")
        if len(read.chip) != 12 or not _is_hex(read.chip):
            raise ValueError(f"chip {read.chip!r} is not 12 hex digits")
        wall = ms_to_local(read.time_ms, ctx.tz)
        if not 2000 <= wall.year <= 2099:
            raise ValueError(f"year {wall.year} does not fit yymmdd")
        body = (
            f"{read.antenna % 256:02x}{read.chip.lower()}0001"
            f"{wall:%y%m%d%H%M%S}{wall.microsecond // 10_000:02x}"
        )
        return f"aa{body}{checksum(body)}"

    def session(self, ctx: FormatContext) -> IpicoSession:
        return IpicoSession(self, ctx)


def checksum(body: str) -> str:
    """Low byte of the sum of the ASCII codes, as 2 lower-case hex digits."""
    return f"{sum(map(ord, body)) & 0xFF:02x}"


def _is_hex(text: str) -> bool:
    return all(c in _HEX for c in text)


def _hex(text: str, what: str) -> str:
    if not _is_hex(text):
        raise ParseError(f"{what} {text!r} is not hex")
    return text


def _check(frame: str) -> None:
    want = checksum(frame[2:-2])
    if frame[-2:].lower() != want:
        raise ParseError(f"bad checksum {frame[-2:]!r} (the characters sum to {want!r})")


def _wall_time(yymmdd: str, hhmmss: str) -> datetime:
    if not (yymmdd + hhmmss).isascii() or not (yymmdd + hhmmss).isdigit():
        raise ParseError(f"date/time {yymmdd} {hhmmss} is not decimal digits")
    d = [int(yymmdd[i : i + 2]) for i in (0, 2, 4)]
    t = [int(hhmmss[i : i + 2]) for i in (0, 2, 4)]
    try:
        return datetime(2000 + d[0], d[1], d[2], *t)
    except ValueError as e:
        raise ParseError(f"bad date/time {yymmdd} {hhmmss}: {e}") from None


def _hundredths(text: str) -> int:
    value = int(_hex(text, "hundredths"), 16)
    if value >= 100:
        raise ParseError(f"hundredths 0x{text} = {value} is not below 100")
    return value


# --- control frames: ab RR LL II DD... CC ----------------------------------------------


@dataclass(frozen=True, slots=True)
class ControlFrame:
    reader_id: int
    instruction: int  # the command echoed in a reply, 0xf0-0xf5 for an error
    payload: bytes


def control_frame(instruction: int, payload: bytes = b"", reader_id: int = 0) -> bytes:
    """An `ab` frame with its checksum and CRLF; reader id 00 is broadcast."""
    body = f"{reader_id:02x}{len(payload):02x}{instruction:02x}{payload.hex()}"
    return f"ab{body}{checksum(body)}\r\n".encode("ascii")


def parse_control(line: str) -> ControlFrame:
    """Decode an `ab` frame, checking its length and checksum."""
    text = line.strip()
    if not text.startswith("ab") or len(text) < 10 or not _is_hex(text):
        raise ParseError(f"{text!r} is not an `ab` control frame")
    _check(text)
    length = int(text[4:6], 16)
    data = text[8:-2]
    if length != 0xFF and len(data) != 2 * length:
        raise ParseError(f"control frame says {length} data bytes but has {len(data) / 2:g}")
    if len(data) % 2:  # 0xff ("as many as follow") still needs whole bytes
        raise ParseError(f"control frame data {data[:24]!r} is not whole bytes")
    return ControlFrame(int(text[2:4], 16), int(text[6:8], 16), bytes.fromhex(data))


def get_date_time_command(reader_id: int = 0) -> bytes:
    """`ab00000222`: ask the reader clock; the reply is read by `parse_date_time_reply`."""
    return control_frame(GET_DATE_TIME, b"", reader_id)


def set_date_time_command(time_ms: int, ctx: FormatContext, reader_id: int = 0) -> bytes:
    """Set the reader clock to the local wall time of `time_ms`, in whole seconds.

    Payload: BCD yy mm dd, day of week (Sunday 0, Monday 1), BCD hh mm ss. The reader
    keeps no fraction, so send it when `time_ms` is on a second boundary.
    """
    wall = ms_to_local(time_ms, ctx.tz)
    digits = f"{wall:%y%m%d}{wall.isoweekday() % 7:02d}{wall:%H%M%S}"
    return control_frame(SET_DATE_TIME, bytes.fromhex(digits), reader_id)


def parse_date_time_reply(line: str, ctx: FormatContext) -> int:
    """The reader clock, epoch ms, in a reply to get date/time.

    Payload: BCD yy mm dd, day of week, BCD hh mm ss, then hundredths in plain hex and
    a config byte (rusty-timer captures); the day of week is not checked.
    """
    frame = parse_control(line)
    p = frame.payload
    if frame.instruction != GET_DATE_TIME or len(p) < 8:
        raise ParseError(f"{line.strip()!r} is not a date/time reply")
    bcd = p.hex()
    wall = _wall_time(bcd[0:6], bcd[8:14])
    if p[7] >= 100:
        raise ParseError(f"hundredths 0x{p[7]:02x} is not below 100")
    return local_to_ms(wall, ctx.tz) + p[7] * 10


class IpicoSession(Session):
    """The reader streams without being asked: the session only reads its clock.

    On connect it asks the date/time; the reply sets `reader_clock_ms`, which a source
    compares with its own clock at arrival to measure the reader's offset.
    """

    def __init__(self, fmt: Ipico, ctx: FormatContext) -> None:
        super().__init__(fmt, ctx)
        self.reader_clock_ms: int | None = None

    def connected(self) -> bytes:
        return get_date_time_command()

    def feed(self, line: str) -> tuple[Read | None, bytes]:
        text = line.strip()
        if text.startswith("ab"):
            frame = parse_control(text)  # a bad one is quarantined like a bad record
            if frame.instruction == GET_DATE_TIME and len(frame.payload) >= 8:
                self.reader_clock_ms = parse_date_time_reply(text, self.ctx)
            return None, b""
        return self.fmt.parse(line, self.ctx), b""


register(Ipico())
