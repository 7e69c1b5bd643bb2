"""`raceresult`: RACE RESULT System decoder ASCII protocol (TCP 3601, CRLF), pull by index.

    1;33;0000-00-00;00:00:02.773;6692;12;-68;09ca52          (CrossMgr RaceResultImport.py)
    #P;17;ABC1234;2026-04-12;11:40:17.843;0;23;21;;0;;;;;;;;D-5001;3;2;D-5001
                                    (pushed; built from the KB id=487 field list)

The decoder deduplicates: one *passing* per transponder per crossing. Protocol >= 1.6
always sends 20 fields (KB id=487); the session negotiates 2.0 first. Every older layout
(7 to 16 fields, `...;MaxRSSI[;InternalData];IsActive[;Channel;LoopID;...]`, as in
CrossMgr's RaceResultImport.py) starts with the same 7 fields and is read by them.

| #  | field          | RetroTime                                                        |
|----|----------------|------------------------------------------------------------------|
| 0  | PassingNo      | reader_seq, 1 to 2^63 - 1; starts at 1 in each passing file      |
| 1  | Transponder    | chip, verbatim (EventID is not folded in), at most 128 characters |
| 2  | Date           | yyyy-mm-dd local; `0000-00-0N` = clock never set, see below      |
| 3  | Time           | hh:mm:ss.kkk local wall clock in ctx.tz                          |
| 4  | EventID        | ignored                                                          |
| 5  | Hits           | ignored                                                          |
| 6  | MaxRSSI        | rssi as the decoder says it (passive 0-31); a value that is not  |
|    |                | a plain number within -999..999 -> None, the passing is kept     |
| 10 | LoopID         | antenna when MaxRSSIAntenna is empty (active loops, 1-8)         |
| 17 | FileNumber     | ignored here: the session follows the file through PASSINGS      |
| 18 | MaxRSSIAntenna | antenna (1-8); if empty LoopID; if both empty 1                  |
| 7-9, 11-16, 19   | | ignored (InternalData, IsActive, Channel, ..., BoxName, BoxId)  |

Older layouts: LoopID is field 10 of the 16-field layout (with InternalData) and field 9
of the 15-field one; with 7-14 fields the antenna is 1. Antennas are 1 to 2^31 - 1.

A line that is neither a passing, nor a reply to a documented command, nor a `#` push
is a ParseError, so a passing log accounts for every line.

Date-less passings: without GPS or SETTIME the Date is `0000-00-00` (`0000-00-01` after
24 h) and Time counts from STARTOPERATION. Such a time is a counter, not a wall clock:
with `ctx.day` set it is placed at local midnight of ctx.day plus N days plus the counter
(linear, so no DST jump); without ctx.day the line is a ParseError. GETTIME replies are
read the same way, so the clock offset measured from them turns the counter into real
time. `emit` always writes a real date (a decoder whose clock was set).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from readers.formats import ReaderFormat, Session, register
from readers.read import (
    ANTENNA_MAX,
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
)

EOL = "\r\n"
PROTOCOL = "2.0"
POLL_S = 0.9  # tick() is "about once a second": tolerate early ticks
FETCH_TIMEOUT_S = 5.0  # no end-of-list empty line by then: the request was lost
MAX_FETCH = 500  # passings per `<from>:<count>` request, so a long backlog streams

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?")
_RSSI = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,6})?", re.ASCII)
# Replies to the decoder's documented commands (KB id=19 and id=487) and "ONLY n".
REPLIES = frozenset(
    {
        "GETPROTOCOL", "SETPROTOCOL", "PASSINGS", "GETTIME", "SETTIME", "SETSTARTTIME",
        "SETGPSTIME", "GETSTATUS", "STARTOPERATION", "STOPOPERATION", "SETPUSHPASSINGS",
        "GETCONFIG", "SETCONFIG", "GETACTIVESTATUS", "ONLY",
    }
)  # fmt: skip
LAYOUT_FIELDS = frozenset(range(7, 17)) | {20}
# LoopID by field count in the older layouts (with and without InternalData).
_LEGACY_LOOP = {16: 10, 15: 9}


def command(*parts: str) -> bytes:
    return (";".join(parts) + EOL).encode("ascii")


def decoder_time_ms(date_s: str, time_s: str, ctx: FormatContext) -> int:
    """Epoch ms of a decoder Date and Time (passing, GETTIME or STARTOPERATION reply)."""
    d = _DATE.fullmatch(date_s) if date_s.isascii() else None
    t = _TIME.fullmatch(time_s) if time_s.isascii() else None
    if d is None:
        raise ParseError(f"date {date_s!r} is not yyyy-mm-dd")
    if t is None:
        raise ParseError(f"time {time_s!r} is not hh:mm:ss.kkk")
    year, month, day = (int(g) for g in d.groups())
    hh, mm, ss = (int(g) for g in t.groups()[:3])
    ms = int((t.group(4) or "0").ljust(3, "0"))
    try:
        clock = time(hh, mm, ss)
    except ValueError:
        raise ParseError(f"time {time_s!r} is out of range") from None
    if year == 0 and month == 0:
        if ctx.day is None:
            raise ParseError(
                f"date {date_s}: the decoder clock was never set (no GPS or SETTIME), "
                "so the time counts from start of operation; set the event day"
            )
        midnight = local_to_ms(datetime.combine(ctx.day, time()), ctx.tz)
        counter = timedelta(days=day, hours=hh, minutes=mm, seconds=ss, milliseconds=ms)
        return midnight + counter // timedelta(milliseconds=1)
    try:
        when = datetime.combine(date(year, month, day), clock)
    except ValueError:
        raise ParseError(f"date {date_s!r} is not a calendar date") from None
    return local_to_ms(when, ctx.tz) + ms


def format_decoder_time(time_ms: int, ctx: FormatContext) -> tuple[str, str]:
    local = ms_to_local(time_ms, ctx.tz)
    return f"{local:%Y-%m-%d}", f"{local:%H:%M:%S}.{local.microsecond // 1000:03d}"


def settime_command(time_ms: int, ctx: FormatContext) -> bytes:
    """SETTIME;yyyy-mm-dd;hh:mm:ss.kkk (clients send it between STOP- and STARTOPERATION)."""
    return command("SETTIME", *format_decoder_time(time_ms, ctx))


def gettime_command() -> bytes:
    return command("GETTIME")


def parse_gettime(line: str, ctx: FormatContext) -> int:
    """The decoder clock, epoch ms, from `GETTIME;<date>;<time>`."""
    parts = line.strip().split(";")
    if len(parts) != 3 or parts[0] != "GETTIME":
        raise ParseError(f"not a GETTIME reply: {line.strip()!r}")
    return decoder_time_ms(parts[1], parts[2], ctx)


def _int_field(value: str, name: str, lo: int = 0, hi: int = SEQ_MAX) -> int | None:
    return integer(value, name, lo, hi) if value else None


def _rssi(text: str) -> float | None:
    # Active-loop encodings vary; a passing is worth more than its RSSI.
    if _RSSI.fullmatch(text) is None:
        return None
    value = float(text)
    return value if RSSI_MIN <= value <= RSSI_MAX else None


def before_1_6(version: str) -> bool:
    """A SETPROTOCOL answer before 1.6: the decoder sends the older layouts only.

    A decoder whose firmware lacks 2.0 answers with the newest it has (KB id=19); an
    answer that is no version at all says nothing, and every layout is read.
    """
    parts = version.split(".")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) < 4 for p in parts):
        return False
    return (int(parts[0]), int(parts[1])) < (1, 6)


def is_reply(head: str) -> bool:
    """A documented reply or push, by the first field of its line."""
    return head in REPLIES or head.startswith("ONLY") or (head[:1] == "#" and head[1:].isalpha())


def parse_passing(text: str, ctx: FormatContext, *, legacy: bool = False) -> Read | None:
    """A passing line, or None for a reply; `legacy` = the decoder speaks protocol < 1.6."""
    if not text:
        return None  # ends a `<from>:<count>` reply
    fields = text.split(";")
    if fields[0] == "#P":
        fields = fields[1:]
    elif not fields[0][:1].isdigit():
        if is_reply(fields[0]):
            return None
        if fields[0][:1].isalpha():
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise ParseError(f"neither a passing nor a known decoder reply: {shown!r}")
        raise ParseError(f"passing number {fields[0][:24]!r} is not a number")
    n = len(fields)
    if n not in LAYOUT_FIELDS or (legacy and n == 20):
        spoken = "7-16 (the decoder speaks protocol < 1.6)" if legacy else "20 or the older 7-16"
        raise ParseError(f"expected {spoken} ;-separated passing fields, got {n}")
    seq = _int_field(fields[0], "passing number", 0)
    if seq is None or seq < 1:
        raise ParseError(f"passing number {fields[0]!r} is not 1 or more")
    chip = fields[1]
    if not chip:
        raise ParseError("empty transponder code")
    time_ms = decoder_time_ms(fields[2], fields[3], ctx)
    antenna: int | None = None
    if n == 20:
        antenna = _int_field(fields[18], "MaxRSSIAntenna", 0, ANTENNA_MAX)
        if antenna is None:
            antenna = _int_field(fields[10], "LoopID", 0, ANTENNA_MAX)
    elif n in _LEGACY_LOOP:
        antenna = _int_field(fields[_LEGACY_LOOP[n]], "LoopID", 0, ANTENNA_MAX)
    if antenna is None:
        antenna = 1
    if antenna < 1:
        raise ParseError(f"antenna {antenna} is not 1 or more")
    return checked(Read(ctx.reader, chip, antenna, time_ms, _rssi(fields[6]), seq))


class RaceResult:
    name = "raceresult"
    has_rssi = True
    terminator = EOL.encode()

    def parse(self, line: str, ctx: FormatContext) -> Read | None:
        return parse_passing(line.strip(), ctx)

    def emit(self, read: Read, ctx: FormatContext) -> str:
        """A 20-field passing as the decoder answers `<from>:<count>` (push adds `#P;`)."""
        if read.reader_seq is None:
            raise ValueError("a RACE RESULT passing needs its passing number (reader_seq)")
        day, clock = format_decoder_time(read.time_ms, ctx)
        rssi = "" if read.rssi is None else f"{read.rssi:g}"
        box = read.reader
        return (
            f"{read.reader_seq};{read.chip};{day};{clock};0;1;{rssi};;0;;;;;;;;"
            f"{box};1;{read.antenna};{box}"
        )

    def session(
        self,
        ctx: FormatContext,
        *,
        last_passing: int = 0,
        file: int | None = None,
        push: bool = False,
        auto_start: bool = True,
    ) -> RaceResultSession:
        return RaceResultSession(
            self, ctx, last_passing=last_passing, file=file, push=push, auto_start=auto_start
        )


class RaceResultSession(Session):
    """Pull passings by index and resume where the last connection stopped.

    `position` (file, last passing number) is what a caller persists and passes back
    as `file=` / `last_passing=`. Operation is only started when GETSTATUS says the
    decoder is in test mode (`auto_start`), never on every reconnect: each start opens
    a new passing file. Pushed `#P;` passings are taken only in sequence; one that
    skips ahead is dropped and fetched in order by the next poll.
    """

    def __init__(
        self,
        fmt: ReaderFormat,
        ctx: FormatContext,
        *,
        last_passing: int = 0,
        file: int | None = None,
        push: bool = False,
        auto_start: bool = True,
    ) -> None:
        super().__init__(fmt, ctx)
        self.last_passing = last_passing
        self.file = file
        self.push = push
        self.auto_start = auto_start
        self.operating: bool | None = None  # per the last GETSTATUS / STARTOPERATION
        self.protocol: str | None = None  # the version the decoder answered SETPROTOCOL with
        self.legacy = False  # that version is before 1.6: older layouts only
        self.reader_clock_ms: int | None = None  # from the last GETTIME reply
        self._count = 0  # passings in the current file, per the last PASSINGS reply
        self._fetching = False  # a `<from>:<count>` request awaits its empty line
        self._fetch_since: float | None = None  # tick time it was first seen pending
        self._now: float | None = None
        self._last_poll: float | None = None

    @property
    def position(self) -> tuple[int | None, int]:
        return self.file, self.last_passing

    def checkpoint(self) -> dict | None:
        return {"file": self.file, "passing": self.last_passing}

    def restore(self, checkpoint: dict) -> None:
        self.file, self.last_passing = checkpoint.get("file"), int(checkpoint.get("passing", 0))

    def connected(self) -> bytes:
        self._fetching = False  # a request outstanding on the old link is lost
        cmds = [command("SETPROTOCOL", PROTOCOL)]
        if self.push:
            cmds.append(command("SETPUSHPASSINGS", "1", "0"))
        return b"".join([*cmds, command("GETSTATUS"), command("PASSINGS")])

    def start_operation(self) -> bytes:
        return command("STARTOPERATION")

    def stop_operation(self) -> bytes:
        return command("STOPOPERATION")

    def feed(self, line: str) -> tuple[Read | None, bytes]:
        text = line.strip()
        parts = text.split(";")
        head = parts[0]
        if head == "PASSINGS":
            return None, self._on_passings(parts)
        if head == "SETPROTOCOL":
            self.protocol = parts[1] if len(parts) > 1 else ""
            self.legacy = before_1_6(self.protocol)
            return None, b""
        if head == "GETSTATUS" and len(parts) > 5:
            self.operating = parts[5] == "1"
            start = not self.operating and self.auto_start
            return None, self.start_operation() if start else b""
        if head == "STARTOPERATION" and parts[1:2] == ["OK"]:
            self.operating = True
            self.file, self.last_passing, self._count = None, 0, 0  # a new file began
            return None, command("PASSINGS")
        if head == "GETTIME":
            self.reader_clock_ms = parse_gettime(text, self.ctx)
            return None, b""
        if not text:
            self._fetching = False  # end of the passings list: go on if more are due
            return None, self._fetch()
        if head.startswith("ONLY"):
            self._fetching = False  # "ONLY n" (metarace rrs.py): fewer than asked; recount
            return None, b""
        read = parse_passing(text, self.ctx, legacy=self.legacy)
        seq = None if read is None else read.reader_seq
        if seq is None or seq != self.last_passing + 1:
            return None, b""  # a reply, a duplicate, or a push ahead of the fetch
        self.last_passing = seq
        return read, b""

    def tick(self, now_s: float) -> bytes:
        self._now = now_s
        if self._fetching:
            if self._fetch_since is None:
                self._fetch_since = now_s
            elif now_s - self._fetch_since > FETCH_TIMEOUT_S:
                self._fetching = False
        if self._last_poll is not None and now_s - self._last_poll < POLL_S:
            return b""
        self._last_poll = now_s
        return command("PASSINGS")

    def _on_passings(self, parts: list[str]) -> bytes:
        if len(parts) < 2:
            raise ParseError("PASSINGS reply without a count")
        count = _int_field(parts[1], "PASSINGS count")
        if count is None:
            raise ParseError("PASSINGS reply without a count")
        file = _int_field(parts[2], "file number") if len(parts) > 2 else None
        if file is not None:
            if self.file is not None and file != self.file:
                self.last_passing = 0  # operation restarted: a new file
            self.file = file
        if count < self.last_passing:
            self.last_passing = 0  # the count fell: a new file
        self._count = count
        return self._fetch()

    def _fetch(self) -> bytes:
        missing = self._count - self.last_passing
        if self._fetching or missing <= 0:
            return b""
        self._fetching, self._fetch_since = True, self._now
        return f"{self.last_passing + 1}:{min(missing, MAX_FETCH)}{EOL}".encode()


register(RaceResult())
