"""`wiclax`: the Wiclax generic acquisition protocol (lines end CR; LF tolerated).

    01539;22-09-2011 02:41:30.620;0A;559;;0        (wiclax4j docs/protocol.md)
    123;27-12-2020 17:30:08.392;301;;;0            (wiclax4j smoke/IntegrationSmokeTest.md)

The device is the TCP server and the scoring program (Wiclax, or our source in its
place) connects, says `HELLO` (no reply) and `STARTREAD` (reply `READOK`). Reads are
never acknowledged: what a link loses comes back only through `REWIND <from> <to>`,
answered with the same lines with the rewind flag 1. The device may send the heartbeat
`*` at any time, even between a command and its reply, and `RACESTART HH:mm:ss.SSS`.

| # | field         | RetroTime                                                           |
|---|---------------|---------------------------------------------------------------------|
| 0 | chip / bib    | chip, verbatim (at most 128 characters)                             |
| 1 | date and time | dd-MM-yyyy HH:mm:ss.SSS, day first, local wall clock in ctx.tz      |
| 2 | loop/antenna/ | a name in the reader's `devices` (event.toml) -> its antenna; else  |
|   | device id     | decimal digits -> that antenna (`301` = 301, `01` = 1, 1 to 2^31-1); |
|   |               | empty = 1; any other text is a ParseError naming the `devices` key  |
| 3 | lap           | optional, ignored                                                   |
| 4 | battery %     | optional, ignored                                                   |
| 5 | rewind flag   | 0 live, 1 from REWIND (empty tolerated); the read is the same       |

The device field is free text in the protocol: wiclax4j keeps a String `deviceId` and
its own tests send `chipId;03-12-2007 10:15:30.200;deviceId;1;3;1`; its protocol page
writes `0A`. Wiclax itself maps these names to splits in its settings, so RetroTime
maps them in event.toml, `devices = { "deviceId" = 1, "0A" = 10 }` on the reader.
`emit` writes the device name mapped to the antenna, else the number (2+ digits).
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from readers.formats import ReaderFormat, Session, register
from readers.read import (
    ANTENNA_MAX,
    FormatContext,
    ParseError,
    Read,
    checked,
    integer,
    local_to_ms,
    ms_to_local,
)

EOL = "\r"
_STAMP = re.compile(r"(\d{2})-(\d{2})-(\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?", re.ASCII)
_REPLIES = ("*", "CLOCKOK", "READOK")


def _stamp_ms(text: str, ctx: FormatContext) -> int:
    m = _STAMP.fullmatch(text)
    if m is None:
        raise ParseError(f"date-time {text!r} is not dd-MM-yyyy HH:mm:ss.SSS")
    day, month, year, hh, mm, ss = (int(g) for g in m.groups()[:6])
    try:
        local = datetime(year, month, day, hh, mm, ss)
    except ValueError:
        raise ParseError(f"date-time {text!r} is not a calendar date and time") from None
    return local_to_ms(local, ctx.tz) + int((m.group(7) or "0").ljust(3, "0"))


def _format_stamp(time_ms: int, ctx: FormatContext, *, millis: bool = True) -> str:
    local = ms_to_local(time_ms, ctx.tz)
    text = f"{local:%d-%m-%Y %H:%M:%S}"
    return f"{text}.{local.microsecond // 1000:03d}" if millis else text


def clock_get_command() -> bytes:
    return f"CLOCK{EOL}".encode()


def clock_set_command(time_ms: int, ctx: FormatContext) -> bytes:
    """`CLOCK dd-MM-yyyy HH:mm:ss`: whole seconds, so send it on a second boundary."""
    return f"CLOCK {_format_stamp(time_ms, ctx, millis=False)}{EOL}".encode()


def rewind_command(from_ms: int, to_ms: int, ctx: FormatContext) -> bytes:
    """`REWIND <from> <to>` in whole seconds, widened outward so the range is covered."""
    start = _format_stamp(from_ms // 1000 * 1000, ctx, millis=False)
    end = _format_stamp(math.ceil(to_ms / 1000) * 1000, ctx, millis=False)
    return f"REWIND {start} {end}{EOL}".encode()


def parse_clock_reply(line: str, ctx: FormatContext) -> int:
    """The device clock, epoch ms, from `CLOCK dd-MM-yyyy HH:mm:ss`."""
    text = line.strip()
    if not text.startswith("CLOCK "):
        raise ParseError(f"not a CLOCK reply: {text!r}")
    return _stamp_ms(text[len("CLOCK ") :].strip(), ctx)


def _antenna(text: str, ctx: FormatContext) -> int:
    if not text:
        return 1  # a device with a single loop may leave the field empty
    for name, antenna in ctx.devices:
        if name == text:
            return antenna
    if not (text.isascii() and text.isdigit()):
        shown = text if len(text) <= 24 else f"{text[:20]}..."
        raise ParseError(
            f"device {shown!r} is not a loop number: map it to an antenna in event.toml, "
            f'devices = {{ "{shown}" = 1 }} on reader {ctx.reader}'
        )
    value = integer(text, "loop/antenna", 0, ANTENNA_MAX)
    if value < 1:
        raise ParseError(f"loop/antenna {text!r} is 0: antennas count from 1")
    return value


def _device(antenna: int, ctx: FormatContext) -> str:
    for name, mapped in ctx.devices:
        if mapped == antenna:
            return name
    return f"{antenna:02d}"


class Wiclax:
    name = "wiclax"
    has_rssi = False
    terminator = EOL.encode()

    def parse(self, line: str, ctx: FormatContext) -> Read | None:
        text = line.strip("\r\n")
        if ";" not in text:
            bare = text.strip()
            if not bare or bare in _REPLIES or bare.startswith(("CLOCK ", "RACESTART ")):
                return None  # heartbeat, acknowledgement, clock reply, gun start
            raise ParseError(f"neither a chip line nor a known reply: {bare[:40]!r}")
        fields = text.split(";")
        if not 2 <= len(fields) <= 6:
            raise ParseError(
                f"expected chip;date-time[;loop;lap;battery;rewind] (2-6 ;-separated fields), "
                f"got {len(fields)}"
            )
        fields += [""] * (6 - len(fields))
        chip, stamp, loop, _lap, _battery, rewind = fields
        if not chip:
            raise ParseError("empty chip")
        if rewind not in ("", "0", "1"):
            raise ParseError(f"rewind flag {rewind!r} is not 0 or 1")
        return checked(Read(ctx.reader, chip, _antenna(loop, ctx), _stamp_ms(stamp, ctx)))

    def emit(self, read: Read, ctx: FormatContext) -> str:
        if read.antenna < 1:
            raise ValueError(f"antenna {read.antenna} is not 1 or more")
        return f"{read.chip};{_format_stamp(read.time_ms, ctx)};{_device(read.antenna, ctx)};;;0"

    def session(self, ctx: FormatContext) -> WiclaxSession:
        return WiclaxSession(self, ctx)


class WiclaxSession(Session):
    """Play Wiclax's part: greet, start reading, take reads; remember clock and gun start.

    The device sends heartbeats, so tick() has nothing to send. Commands built by the
    helpers above (clock, rewind) are sent by the caller; their replies come through
    feed(), possibly after a `*`.
    """

    def __init__(self, fmt: ReaderFormat, ctx: FormatContext) -> None:
        super().__init__(fmt, ctx)
        self.reader_clock_ms: int | None = None  # from the last CLOCK reply
        self.race_start: str | None = None  # time of day of the last RACESTART, as sent

    def connected(self) -> bytes:
        return f"HELLO{EOL}STARTREAD{EOL}".encode()

    def feed(self, line: str) -> tuple[Read | None, bytes]:
        text = line.strip()
        if ";" not in text and text.startswith("CLOCK "):
            self.reader_clock_ms = parse_clock_reply(text, self.ctx)
        elif ";" not in text and text.startswith("RACESTART "):
            self.race_start = text[len("RACESTART ") :].strip()
        else:
            return self.fmt.parse(line, self.ctx), b""
        return None, b""


register(Wiclax())
