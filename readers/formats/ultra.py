"""`ultra`: RFID Timing Systems Ultra 4 / 8 / Jr / Joey, ASCII over TCP port 23 or serial.

    Connected,1170518600                                           banner (not a read)
    0,11055,1170518701,698,1,-71,0,2,1,0000000000000000,0,29319    chip read
    V=25.0000                                                      heartbeat (volts)
    S=10                                                           status: reading
    16:5:3 2-2-2017 (1170518703)                                   reply to `r` (get time)

| #  | field       | notes                                                        |
|----|-------------|--------------------------------------------------------------|
| 0  | record type | `0` is a chip read                                           |
| 1  | chip        | decimal or hex by the reader's setting; kept verbatim        |
| 2  | seconds     | since 1980-01-01 00:00:00 *local wall time* (ctx.tz)         |
| 3  | millis      | 0-999, not zero-padded                                       |
| 4  | port        | 1-4 on each internal reader                                  |
| 5  | RSSI        | signed integer dBm                                           |
| 6  | rewind      | 0 live, 1 sent in answer to a rewind                         |
| 7  | reader      | 1 or 2: reader 2 of an Ultra 8 is antennas 5-8 (port + 4)    |
| 8  | Ultra id    | 1-255 (emitted as 1)                                         |
| 9  | reader time | 16 zeros in captures                                         |
| 10 | start time  | `0` in captures                                              |
| 11 | log id      | index in the reader's log -> `Read.reader_seq`               |

Sources: PikaTimer `src/com/pikatimer/timing/reader/PikaRFIDDirectReader.java` (capture
above, `R`, `r`, `t`, auto-rewind by log id) and grecaun/chronokeep-windows
`ChronoKeep/Timing/Interfaces/RFIDUltraInterface.cs` (time reply, `?`, `S=`).
Lines end LF; commands are sent bare, without a terminator, as PikaTimer does.
A read in the repeated hour when DST ends is ambiguous (the reader sends local wall
time): it is taken as the first of the two, like any zone-less local time here.

Bounds: seconds 0 to 2^32 - 1 (the reader's counter), RSSI -999 to 999, log id 0 to
2^63 - 1, and the time within 31 days of the event date: a reader whose clock jumped
(years like 2077 are seen after a reset) has its reads quarantined with that reason.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from readers.formats import Session, register
from readers.read import (
    RSSI_MAX,
    RSSI_MIN,
    SEQ_MAX,
    FormatContext,
    ParseError,
    Read,
    checked,
    integer,
    local_to_ms,
    ms_to_local,
    plausible,
)

_EPOCH_1980 = datetime(1980, 1, 1)  # naive: the reader counts local wall-clock seconds

START = b"R"
STATUS = b"?"
GET_TIME = b"r"

# `H:M:S D-M-YYYY (<n>)`, not zero-padded (Chronokeep's `Time()` regex). No source says
# what the bracketed number is, so it is accepted and ignored.
_TIME_REPLY = re.compile(
    r"^(\d{1,2}):(\d{1,2}):(\d{1,2}) (\d{1,2})-(\d{1,2})-(\d{4})(?: \(\d*\))?", re.ASCII
)
SECONDS_MAX = 2**32 - 1
# Lines that are not reads: banner, heartbeat, status, settings replies (`U`/`u`, which
# carry raw bytes), the extended status (starts 0x03).
_NOT_READS = ("Connected", "V=", "S=", "U", "u", "\x03")


class Ultra:
    name = "ultra"
    has_rssi = True
    terminator = b"\n"

    def parse(self, line: str, ctx: FormatContext) -> Read | None:
        parsed = parse_read(line, ctx)
        return None if parsed is None else parsed[0]

    def emit(self, read: Read, ctx: FormatContext) -> str:
        """The read as an Ultra sends it: live (rewind 0), Ultra id 1.

        Antennas 5-8 become ports 1-4 of reader 2. An unknown RSSI or log id is sent
        as 0 (the field is never empty on a real reader).
        """
        if not 1 <= read.antenna <= 8:
            raise ValueError(f"antenna {read.antenna} is not 1-8")
        box, port = divmod(read.antenna - 1, 4)
        seconds, millis = _to_1980(read.time_ms, ctx)
        rssi = 0 if read.rssi is None else round(read.rssi)
        seq = 0 if read.reader_seq is None else read.reader_seq
        return (
            f"0,{read.chip},{seconds},{millis},{port + 1},{rssi},0,{box + 1},1,"
            f"0000000000000000,0,{seq}"
        )

    def session(self, ctx: FormatContext) -> UltraSession:
        return UltraSession(self, ctx)


def parse_read(line: str, ctx: FormatContext) -> tuple[Read, bool] | None:
    """The read on a line and whether it came from a rewind; None for a non-read line."""
    text = line.strip("\r\n ")
    if not text or text.startswith(_NOT_READS) or _TIME_REPLY.match(text):
        return None
    parts = text.split(",")
    if len(parts) != 12:
        raise ParseError(f"expected 12 comma-separated fields, got {len(parts)}")
    kind, chip, secs, millis, port, rssi, rewind, box, _ultra, _rtime, _start, log_id = parts
    if kind != "0":
        raise ParseError(f"record type {kind!r} is not a chip read (0)")
    chip = chip.strip()
    if not chip:
        raise ParseError("empty chip")
    seconds = integer(secs, "seconds", -SEQ_MAX, SEQ_MAX)
    ms = integer(millis, "milliseconds", -SEQ_MAX, SEQ_MAX)
    if not (0 <= seconds <= SECONDS_MAX and 0 <= ms <= 999):
        raise ParseError(
            f"time {secs}.{millis} is not seconds >= 0 (at most {SECONDS_MAX}) "
            "and milliseconds 0-999"
        )
    ant = integer(port, "antenna", 1, 4)
    if box not in ("1", "2"):
        raise ParseError(f"reader {box!r} is not 1 or 2")
    if rewind not in ("0", "1"):
        raise ParseError(f"rewind flag {rewind!r} is not 0 or 1")
    strength = integer(rssi, "RSSI", int(RSSI_MIN), int(RSSI_MAX))
    seq = integer(log_id, "log id", -SEQ_MAX, SEQ_MAX)
    if seq < 0:
        raise ParseError(f"log id {seq} is negative")
    wall = _EPOCH_1980 + timedelta(seconds=seconds, milliseconds=ms)
    time_ms = plausible(local_to_ms(wall, ctx.tz), ctx)
    antenna = ant + 4 * (int(box) - 1)
    read = checked(Read(ctx.reader, chip, antenna, time_ms, float(strength), seq))
    return read, rewind == "1"


def _to_1980(time_ms: int, ctx: FormatContext) -> tuple[int, int]:
    delta = ms_to_local(time_ms, ctx.tz) - _EPOCH_1980
    seconds = delta.days * 86_400 + delta.seconds
    if seconds < 0:
        raise ValueError("an Ultra cannot send a time before 1980-01-01")
    return seconds, delta.microseconds // 1000


# --- commands (bytes to send) and replies -------------------------------------------------


def get_time_command() -> bytes:
    """Ask the reader's clock; the reply is parsed by `parse_time_reply`."""
    return GET_TIME


def set_time_command(time_ms: int, ctx: FormatContext) -> bytes:
    """`t HH:MM:SS DD-MM-YYYY`: set the reader's clock to local wall time of `time_ms`.

    The reader takes whole seconds, so the milliseconds are dropped: call this when
    `time_ms` is on a second boundary and send at once.
    """
    wall = ms_to_local(time_ms, ctx.tz)
    return f"t {wall:%H:%M:%S %d-%m-%Y}".encode("ascii")


def rewind_by_log_id(first: int, last: int) -> bytes:
    """Resend the reads with log ids `first` to `last`, flagged rewind 1.

    Encoded as PikaTimer does: `6` NUL NUL `<first>` CR `<last>` CR (its comment says
    RFIDServer sends this rather than the manual's ASCII `600`).
    """
    return b"6\x00\x00%d\r%d\r" % (first, last)


def rewind_by_time(from_ms: int, to_ms: int, ctx: FormatContext) -> bytes:
    """Resend the reads between two times: `8` NUL NUL `<from>` CR `<to>` CR (PikaTimer)."""
    return b"8\x00\x00%d\r%d\r" % (_to_1980(from_ms, ctx)[0], _to_1980(to_ms, ctx)[0])


def parse_time_reply(line: str, ctx: FormatContext) -> int:
    """The reader clock (epoch ms, whole seconds) in a reply to `r`: `H:M:S D-M-YYYY (n)`."""
    m = _TIME_REPLY.match(line.strip())
    if m is None:
        raise ParseError(f"{line.strip()!r} is not a time reply (H:M:S D-M-YYYY)")
    hh, mi, ss, dd, mo, yyyy = (int(g) for g in m.groups())
    try:
        wall = datetime(yyyy, mo, dd, hh, mi, ss)
    except ValueError as e:
        raise ParseError(f"time reply {line.strip()!r}: {e}") from None
    return local_to_ms(wall, ctx.tz)


class UltraSession(Session):
    """Start reading on connect, keep it reading, and pull back reads a link dropped.

    Every live read carries the reader's log id; a jump means reads never arrived, so
    the session asks for them again by log id. Like PikaTimer it asks from the last id
    seen to the current one: whether the reader's bounds are inclusive is documented
    nowhere. Only ids still `missing`, or past the last one held, are taken from a
    rewind; a read already held is dropped, so each read is journalled once.
    `last_log_id` and `missing` survive reconnects and, through `checkpoint()`,
    restarts: on every connect the session asks again for the gaps still open and for
    everything logged after the last read held; gaps are asked again with every
    status poll too.
    """

    STATUS_EVERY_S = 30.0
    MAX_GAPS = 256  # open ranges kept; a reader that loses more is beyond recovery here
    REWIND_AHEAD = 1_000_000  # on connect: every read logged after the last one held

    def __init__(self, fmt: Ultra, ctx: FormatContext) -> None:
        super().__init__(fmt, ctx)
        self.last_log_id: int | None = None
        self.missing: list[tuple[int, int]] = []  # inclusive ranges of log ids not held
        self.reader_clock_ms: int | None = None  # from the last time reply
        self.reading: bool | None = None  # from the last status reply
        self._next_status_s: float | None = None

    def checkpoint(self) -> dict | None:
        if self.last_log_id is None:
            return None
        return {"log_id": self.last_log_id, "missing": [list(r) for r in self.missing]}

    def restore(self, checkpoint: dict) -> None:
        self.last_log_id = checkpoint.get("log_id")
        self.missing = [(int(a), int(b)) for a, b in checkpoint.get("missing", [])]

    def connected(self) -> bytes:
        # Readers take 5-12 s to start (PikaTimer waits that long): the first status
        # query waits a full interval, or a reader still starting (`S=0`) is restarted.
        # What the reader logged while we were away (a dropped link, an agent restart)
        # is asked at once: nothing else would reveal it if no live read followed.
        self._next_status_s = None
        since = (
            b""
            if self.last_log_id is None
            else rewind_by_log_id(self.last_log_id, self.last_log_id + self.REWIND_AHEAD)
        )
        return START + self._ask_missing() + since

    def _ask_missing(self) -> bytes:
        return b"".join(rewind_by_log_id(a - 1, b + 1) for a, b in self.missing)

    def _take(self, seq: int) -> bool:
        """Whether `seq` was missing (now it is not)."""
        for i, (a, b) in enumerate(self.missing):
            if a <= seq <= b:
                self.missing[i : i + 1] = [r for r in ((a, seq - 1), (seq + 1, b)) if r[0] <= r[1]]
                return True
        return False

    def feed(self, line: str) -> tuple[Read | None, bytes]:
        text = line.strip()
        if text.startswith("S="):
            self.reading = text[2:3] == "1"
            return None, b"" if self.reading else START  # someone stopped it: restart
        if _TIME_REPLY.match(text):
            self.reader_clock_ms = parse_time_reply(text, self.ctx)
            return None, b""
        parsed = parse_read(text, self.ctx)
        if parsed is None:
            return None, b""
        read, rewound = parsed
        seq, last = read.reader_seq, self.last_log_id
        if seq is None or self._take(seq):
            return read, b""  # a gap filled, by a rewind or a late live read
        if last is None or seq > last:
            ask = b""
            if last is not None and seq > last + 1:
                self.missing = [*self.missing, (last + 1, seq - 1)][-self.MAX_GAPS :]
                if not rewound:  # a rewind's answer comes in order: the rest follows
                    ask = rewind_by_log_id(last, seq)
            self.last_log_id = seq
            return read, ask
        if rewound or seq == last:
            return None, b""  # held already
        self.missing = []  # a lower live id: the reader started a new log; follow it
        self.last_log_id = seq
        return read, b""

    def tick(self, now_s: float) -> bytes:
        """Ask status `?` every `STATUS_EVERY_S`, the first one interval after connect;
        gaps still open are asked again with it."""
        if self._next_status_s is None:
            self._next_status_s = now_s + self.STATUS_EVERY_S
        if now_s < self._next_status_s:
            return b""
        self._next_status_s = now_s + self.STATUS_EVERY_S
        return STATUS + self._ask_missing()


register(Ultra())
