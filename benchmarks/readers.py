"""Reader throughput: lines per second through each parser, and through a real
pseudo-terminal read by pyserial at 115,200 and 921,600 baud.

    python -m benchmarks.readers [--lines 200000] [--pty-lines 100000]

Baselines, measured in the same run: for the parsers, the bare `str.split` of the same
lines on the format's separator (IPICO: its fixed-width slices). Each format is timed
three ways: `parse` of clean reads, `parse` of a log with 5 % replies and 5 % bad lines
(every line classified as a read, a reply or quarantined, and the three checked to add
up), and a session's `feed`. For the serial link, the line rate the baud allows
(10 bits per byte at 8N1). A pseudo-terminal does not enforce its baud rate, so the
serial figure can exceed that ceiling: it shows how much headroom the source has.
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
from zoneinfo import ZoneInfo

from readers.counts import LineCounts
from readers.formats import ReaderFormat, get_format, open_session
from readers.read import FormatContext, ParseError, Read
from readers.sources import PortSettings, SerialSource

TZ = ZoneInfo("Europe/London")
DAY_MS = 1_775_980_800_000  # 2026-04-12 09:00 London
SEPARATORS = {"retrotime-csv": ",", "ultra": ",", "raceresult": ";", "wiclax": ";", "ipico": None}


def sample_reads(fmt_name: str, count: int) -> list[Read]:
    rng = random.Random(1)
    step = 10 if fmt_name == "ipico" else 1
    reads = []
    for i in range(count):
        t = DAY_MS + i * 37 // step * step
        rssi = float(rng.randint(-80, -40)) if fmt_name != "ipico" else None
        if fmt_name == "raceresult":
            rssi = float(rng.randint(0, 31))
        seq = i + 1 if fmt_name in ("ultra", "raceresult") else None
        reader = "FIN"
        chip = f"{rng.randrange(16**12):012x}" if fmt_name == "ipico" else f"{rng.randrange(10**6)}"
        reads.append(Read(reader, chip, 1 + i % 4, t, rssi, seq))
    return reads


REPLY = {"retrotime-csv": "", "ultra": "V=25.0000", "raceresult": "PASSINGS;9",
         "wiclax": "*", "ipico": "ab00000121"}  # fmt: skip


def bare_rate(lines: list[str], sep: str | None) -> float:
    t = time.perf_counter()
    for line in lines:
        line.split(sep) if sep else (line[:2], line[2:4], line[4:16], line[20:34])
    return len(lines) / (time.perf_counter() - t)


def mixed_log(lines: list[str], name: str) -> list[str]:
    """The same lines with every 20th a reply and every 20th (offset 10) cut in half."""
    out = list(lines)
    for k in range(0, len(out), 20):
        out[k] = REPLY[name]
        if k + 10 < len(out):
            out[k + 10] = out[k + 10][: len(out[k + 10]) // 2]
    return out


def classify(fmt: ReaderFormat, lines: list[str], ctx: FormatContext) -> LineCounts:
    reads = replies = bad = 0
    for line in lines:
        try:
            if fmt.parse(line, ctx) is None:
                replies += 1
            else:
                reads += 1
        except ParseError:
            bad += 1
    return LineCounts(reads, replies, bad)


def parser_rates(count: int) -> None:
    print(
        f"{'format':<14} {'parse lines/s':>14} {'mixed log/s':>12} {'feed lines/s':>13} "
        f"{'str.split lines/s':>18} {'ratio':>6}"
    )
    for name in sorted(SEPARATORS):
        fmt = get_format(name)
        ctx = FormatContext("FIN", TZ, None)
        lines = [fmt.emit(r, ctx) for r in sample_reads(name, count)]
        bare = bare_rate(lines, SEPARATORS[name])
        t = time.perf_counter()
        for line in lines:
            fmt.parse(line, ctx)
        ours = count / (time.perf_counter() - t)
        mixed = mixed_log(lines, name)
        t = time.perf_counter()
        counts = classify(fmt, mixed, ctx)
        mixed_rate = count / (time.perf_counter() - t)
        assert counts.lines == len(mixed) and counts.quarantined >= count // 20 - 1, counts
        session = open_session(fmt, ctx)
        t = time.perf_counter()
        for line in lines:
            session.feed(line)
        fed = count / (time.perf_counter() - t)
        print(
            f"{name:<14} {ours:>14,.0f} {mixed_rate:>12,.0f} {fed:>13,.0f} {bare:>18,.0f} "
            f"{ours / bare:>6.2f}"
        )


def pty_rate(baud: int, count: int) -> None:
    fmt = get_format("retrotime-csv")
    ctx = FormatContext("FIN", TZ, None)
    payload = "".join(fmt.emit(r, ctx) + "\n" for r in sample_reads("retrotime-csv", count))
    data = payload.encode()
    ceiling = baud / 10 / (len(data) / count)
    master, slave = os.openpty()
    got = threading.Event()
    seen = 0

    def on_read(_read: Read, _raw: str) -> None:
        nonlocal seen
        seen += 1
        if seen == count:
            got.set()

    source = SerialSource(
        os.ttyname(slave),
        open_session(fmt, ctx),
        on_read,
        lambda reason, raw: None,
        settings=PortSettings(baudrate=baud),
        idle_reopen_s=None,
    )
    source.start()
    time.sleep(0.5)  # let the source open the port before the clock starts
    t = time.perf_counter()
    view = memoryview(data)
    while view:
        written = os.write(master, view[:4096])
        view = view[written:]
    got.wait(120)
    elapsed = time.perf_counter() - t
    source.stop()
    os.close(master)
    os.close(slave)
    print(
        f"pty at {baud:>7,} baud: {seen / elapsed:>10,.0f} lines/s ({seen:,} of {count:,}); "
        f"the baud allows {ceiling:,.0f} lines/s of {len(data) / count:.0f} bytes"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--pty-lines", type=int, default=100_000)
    args = parser.parse_args()
    parser_rates(args.lines)
    for baud in (115_200, 921_600):
        pty_rate(baud, args.pty_lines)


if __name__ == "__main__":
    main()
