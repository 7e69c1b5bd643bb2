"""Simulated devices: what a reader does with its lines and with the commands it gets.

A plain reader (`Streaming`) sends each line when it is read. A RACE RESULT decoder
keeps its passings and sends them only when asked (`PASSINGS`, `<from>:<count>`), or
pushes them after `SETPUSHPASSINGS;1;0`. An Ultra sends each read live and keeps its
log, resending reads by log id (`6`) or by time (`8`) on a rewind. So a restarted
agent catches up from the device, as it does with the real ones (the commands are
those `readers/formats/raceresult.py` and `ultra.py` send).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from readers.formats import ReaderFormat
from readers.read import FormatContext, ParseError, Read, ms_to_local

ClockMs = Callable[[], int]  # the device's clock now, epoch ms


class Streaming:
    """A reader that speaks no commands: each line goes out when it is read."""

    keeps_reads = False

    def __init__(self, fmt: ReaderFormat, ctx: FormatContext, clock_ms: ClockMs) -> None:
        self.fmt, self.ctx, self.clock_ms = fmt, ctx, clock_ms
        self.term = fmt.terminator

    def due(self, line: str) -> bytes:
        return line.encode("utf-8") + self.term

    def command(self, data: bytes) -> bytes:
        return b""

    def _read(self, line: str) -> Read | None:
        try:
            return self.fmt.parse(line, self.ctx)
        except ParseError:
            return None  # a garbage line: line noise, sent as it is


_RANGE = re.compile(rb"^(\d+):(\d+)$")


class RaceResultDecoder(Streaming):
    """Passings kept in numbered files; pulled by index, pushed only when asked."""

    keeps_reads = True

    def __init__(self, fmt: ReaderFormat, ctx: FormatContext, clock_ms: ClockMs) -> None:
        super().__init__(fmt, ctx, clock_ms)
        self.files: list[list[str]] = [[]]  # file 1 is open: the decoder is operating
        self.operating = True
        self.push = False
        self._buf = b""

    @property
    def passings(self) -> list[str]:
        return self.files[-1]

    def due(self, line: str) -> bytes:
        read = self._read(line)
        if read is None:
            return super().due(line)  # noise on the line
        if not self.operating:
            return b""  # test mode stores nothing
        passing = self.fmt.emit(read._replace(reader_seq=len(self.passings) + 1), self.ctx)
        self.passings.append(passing)
        return self._line("#P;" + passing) if self.push else b""

    def command(self, data: bytes) -> bytes:
        self._buf += data
        *lines, self._buf = re.split(rb"\r\n|\r|\n", self._buf)
        return b"".join(self._answer(line.strip()) for line in lines if line.strip())

    def _line(self, text: str) -> bytes:
        return (text + "\r\n").encode("ascii", "replace")

    def _now(self) -> str:
        local = ms_to_local(self.clock_ms(), self.ctx.tz)
        return f"{local:%Y-%m-%d};{local:%H:%M:%S}.{local.microsecond // 1000:03d}"

    def _answer(self, cmd: bytes) -> bytes:
        head = cmd.split(b";")[0]
        if head == b"SETPROTOCOL":
            return self._line("SETPROTOCOL;2.0")
        if head == b"GETPROTOCOL":
            return self._line("GETPROTOCOL;2.0;1.0;2.0")
        if head == b"GETSTATUS":
            return self._line(f"GETSTATUS;{self._now()};1;00011001;{int(self.operating)};3;0")
        if head == b"GETTIME":
            return self._line(f"GETTIME;{self._now()}")
        if head == b"STARTOPERATION":
            self.files.append([])  # every start opens a new passing file
            self.operating = True
            return self._line(f"STARTOPERATION;OK;{self._now()}")
        if head == b"STOPOPERATION":
            self.operating = False
            return self._line("STOPOPERATION;OK")
        if head == b"SETPUSHPASSINGS":
            self.push = cmd.split(b";")[1:2] == [b"1"]
            return self._line("SETPUSHPASSINGS;OK")
        if head == b"PASSINGS":
            return self._line(f"PASSINGS;{len(self.passings)};{len(self.files)}")
        m = _RANGE.match(cmd)
        if m is None:
            return b""
        first, count = int(m.group(1)), int(m.group(2))
        chosen = self.passings[max(first, 1) - 1 : max(first, 1) - 1 + count]
        return b"".join(self._line(p) for p in chosen) + b"\r\n"


_ULTRA_REWIND = re.compile(rb"^([68])\x00\x00(\d+)\r(\d+)\r")
_ULTRA_SET_TIME = 21  # `t HH:MM:SS DD-MM-YYYY`


class UltraReader(Streaming):
    """Reads sent live and kept in the log, by log id; rewinds resend them flagged 1."""

    keeps_reads = True

    def __init__(self, fmt: ReaderFormat, ctx: FormatContext, clock_ms: ClockMs) -> None:
        super().__init__(fmt, ctx, clock_ms)
        self.log: dict[int, tuple[int, str]] = {}  # log id -> (seconds since 1980, line)
        self.reading = True
        self._buf = b""

    def due(self, line: str) -> bytes:
        read = self._read(line)
        if read is None or read.reader_seq is None:
            return super().due(line)
        if not self.reading:
            return b""
        self.log[read.reader_seq] = (int(line.split(",")[2]), line)
        return super().due(line)

    def command(self, data: bytes) -> bytes:
        self._buf += data
        out = bytearray()
        while self._buf:
            first = self._buf[:1]
            if first in b"RS?r9":
                self._buf = self._buf[1:]
                out += self._simple(first)
            elif first in b"68":
                m = _ULTRA_REWIND.match(self._buf)
                if m is None:
                    if len(self._buf) > 64 or self._buf[1:3].strip(b"\x00") != b"":
                        self._buf = self._buf[1:]  # not a rewind after all: skip the byte
                        continue
                    break  # the rest of the command has not arrived yet
                self._buf = self._buf[m.end() :]
                out += self._rewind(m.group(1) == b"6", int(m.group(2)), int(m.group(3)))
            elif first == b"t":
                if len(self._buf) < _ULTRA_SET_TIME:
                    break
                self._buf = self._buf[_ULTRA_SET_TIME:]  # the simulated clock is not set
            else:
                self._buf = self._buf[1:]
        return bytes(out)

    def _simple(self, cmd: bytes) -> bytes:
        if cmd == b"R":
            self.reading = True
        elif cmd == b"S":
            self.reading = False
        elif cmd == b"?":
            return b"S=%d0\n" % self.reading
        elif cmd == b"r":
            local = ms_to_local(self.clock_ms(), self.ctx.tz)
            hms = f"{local.hour}:{local.minute}:{local.second}"
            return f"{hms} {local.day}-{local.month}-{local.year}\n".encode()
        return b""

    def _rewind(self, by_id: bool, low: int, high: int) -> bytes:
        out = bytearray()
        for log_id in sorted(self.log):
            seconds, line = self.log[log_id]
            if low <= (log_id if by_id else seconds) <= high:
                fields = line.split(",")
                fields[6] = "1"  # the rewind flag
                out += ",".join(fields).encode() + self.term
        return bytes(out)


_DEVICES: dict[str, type[Streaming]] = {"raceresult": RaceResultDecoder, "ultra": UltraReader}


def device_for(fmt: ReaderFormat, ctx: FormatContext, clock_ms: ClockMs) -> Streaming:
    return _DEVICES.get(fmt.name, Streaming)(fmt, ctx, clock_ms)
