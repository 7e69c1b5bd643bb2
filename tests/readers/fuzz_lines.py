"""Real reader lines and the mutations the fuzz tests and `benchmarks/fuzz_readers.py`
apply to them, with the check every outcome must pass.

Each mutation is a pure function of (line, position, payload), so hypothesis draws its
arguments in the tests (and shrinks a failure to a small case) and `random.Random`
draws them in the long run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import date
from functools import cache
from zoneinfo import ZoneInfo

from readers.formats import get_format, open_session
from readers.read import FormatContext, ParseError, Read

LONDON = ZoneInfo("Europe/London")
CONTEXTS = (
    FormatContext("FIN", LONDON),
    FormatContext("FIN", LONDON, day=date(2026, 4, 12), devices=(("deviceId", 3), ("0A", 10))),
)

# Lines as published, each with its source.
REAL_LINES: dict[str, list[str]] = {
    "ultra": [
        # PikaTimer `src/com/pikatimer/timing/reader/PikaRFIDDirectReader.java`, a captured
        # read quoted in `processRead`, and the banner and replies it handles.
        "0,11055,1170518701,698,1,-71,0,2,1,0000000000000000,0,29319",
        "Connected,1170518600",
        "V=25.0000",
        # grecaun/chronokeep-windows `RFIDUltraInterface.cs`: status and time replies.
        "S=10",
        "16:5:3 2-2-2017 (1170518703)",
    ],
    "ipico": [
        # Vendor "IPICO Reader Serial Protocol" (2007-11-20), checksum example, and
        # iwismer/rusty-timer `crates/ipico-core/tests/fixtures/raw_reads.txt`.
        "aa400000000123450a2a01123018455927a7",
        "aa4000000000AABB0a2a2601010830003ffc",
        # iwismer/rusty-timer `docs/ipico-protocol/ipico-control-protocol.md`: a real IPICO
        # Lite's reads, a TTO read (42 chars) and a control frame.
        "aa0005800012860800012603062027472353",
        "aa00058000123b3200012603081222022f060080cd",
        "ab000902260306051855443727cf",
    ],
    "raceresult": [
        # esitarski/CrossMgr `RaceResultImport.py`, passing-file layout.
        "1;33;0000-00-00;00:00:02.773;6692;12;-68;09ca52",
        # RACE RESULT KB id=487 field list (protocol >= 1.6), pushed and active.
        "#P;17;ABC1234;2026-04-12;11:40:17.843;0;23;21;;0;;;;;;;;D-5001;3;2;D-5001",
        "18;ZCMBG52;2026-04-12;11:40:18.001;0;72;127;;1;1;5;;16731;2.9;21;0;D-5001;3;;D-5001",
        # KB id=19 quick start replies.
        "SETPROTOCOL;2.0",
        "STARTOPERATION;OK;0000-00-00;00:00:00.000",
        "GETTIME;0000-00-00;00:02:12.942",
        "PASSINGS;1",
    ],
    "wiclax": [
        # csutorasa/wiclax4j `docs/protocol.md`, `smoke/IntegrationSmokeTest.md` and
        # `formatter/WiclaxAcquisitionFormatterTest.groovy`.
        "01539;22-09-2011 02:41:30.620;0A;559;;0",
        "123;27-12-2020 17:30:08.392;301;;;0",
        "chipId;03-12-2007 10:15:30.200;deviceId;1;3;1",
        "*",
        "CLOCK 27-12-2020 17:34:16",
        "RACESTART 17:30:09.065",
    ],
    "llrp": [
        # The journal line of an LLRP tag report (README "Impinj LLRP readers", llrp.py).
        "e2000017010b016210000001,1,-52.25,1700000000123456",
        "3000e2801160600002084f7d6b1a,3,,1700000000987654",
    ],
    "retrotime-csv": [
        # README, "Reader formats".
        "FIN,058003700123,2,2026-04-12T11:40:17.843+01:00,-48.5",
        "FIN,058003700123,2,2026-04-12T11:40:17.843+01:00,",
    ],
}

SEPARATOR = {"ultra": ",", "ipico": "", "raceresult": ";", "wiclax": ";", "retrotime-csv": ",",
             "llrp": ","}  # fmt: skip

# Values the probes found breaking parsers: huge and long numbers (the int-string
# limit), non-ASCII digits, float spellings, far dates, NUL and control bytes.
PAYLOADS = [
    "",
    "0",
    "-1",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "9" * 12,
    "9" * 20,
    "-" + "9" * 400,
    "9" * 5000,
    "nan",
    "inf",
    "-inf",
    "1e999",
    "1_0",
    " 7",
    "\u0661\u0662",
    "\x00",
    "\xff",
    "\r",
    "2077",
    "9999-12-31",
    "0000-00-99",
    "23:59:60.999",
    "31-12-9999 23:59:59.999",
    "10000-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+14:00",
    "ab",
    "ad",
    "ff",
    "#P",
    "x;y",
]


def _field(line: str, pos: int, payload: str, sep: str) -> str:
    if not sep:
        width = max(1, min(len(payload), 6))
        at = pos % max(1, len(line))
        return line[:at] + payload[:width] + line[at + width :]
    parts = line.split(sep)
    parts[pos % len(parts)] = payload
    return sep.join(parts)


def _insert(line: str, pos: int, payload: str, sep: str) -> str:
    at = pos % (len(line) + 1)
    return line[:at] + payload + line[at:]


def _delete(line: str, pos: int, payload: str, sep: str) -> str:
    at = pos % (len(line) + 1)
    return line[:at] + line[at + 1 + len(payload) % 8 :]


def _fields(line: str, pos: int, payload: str, sep: str) -> str:
    if not sep:
        return line + line[: pos % 8]
    parts = line.split(sep)
    at = pos % len(parts)
    return sep.join(parts[:at] + parts[at + 1 :] if len(payload) % 2 else [*parts, parts[at]])


def _checksum(line: str, pos: int, payload: str, sep: str) -> str:
    # IPICO frames: a mutation of the body with its checksum made right again, so the
    # fields behind the checksum are reached.
    mutated = _field(line, pos, payload, "")
    if len(mutated) < 4 or not mutated[:2].isalpha():
        return mutated
    body = mutated[2:-2]
    return f"{mutated[:2]}{body}{sum(map(ord, body)) & 0xFF:02x}"


MUTATIONS: list[Callable[[str, int, str, str], str]] = [
    _field,
    _field,
    _insert,
    _delete,
    _fields,
    _checksum,
]


def mutate(name: str, line: str, steps: list[tuple[int, int, str]]) -> str:
    """Apply (mutation index, position, payload) steps to one real line."""
    for op, pos, payload in steps:
        line = MUTATIONS[op % len(MUTATIONS)](line, pos, payload, SEPARATOR[name])
    return line


def random_line(name: str, rng: random.Random) -> str:
    steps = []
    for _ in range(rng.randint(1, 3)):
        payload = rng.choice(PAYLOADS) if rng.random() < 0.7 else _noise(rng)
        steps.append((rng.randrange(len(MUTATIONS)), rng.randrange(64), payload))
    return mutate(name, rng.choice(REAL_LINES[name]), steps)


def _noise(rng: random.Random) -> str:
    alphabet = "0123456789abcdefABCDEF-+.:;, \x00\xe9"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))


# --- the check ------------------------------------------------------------------------
# Bounds written out here, not imported: what the journal's columns hold (antenna an
# INTEGER on PostgreSQL, sequences BIGINT, a finite REAL) and the documented ranges.

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
YEAR_1970_MS, YEAR_2100_MS = 0, 4_102_444_800_000


def storable(read: Read) -> bool:
    reader, chip, antenna, time_ms, rssi, seq = read
    return (
        1 <= len(reader) <= 64
        and not any(ord(c) < 32 or ord(c) == 127 for c in reader)
        and isinstance(chip, str)
        and 1 <= len(chip) <= 128
        and not any(ord(c) < 32 or ord(c) == 127 for c in chip)  # PostgreSQL refuses NUL
        and type(antenna) is int
        and 1 <= antenna <= INT32_MAX
        and type(time_ms) is int
        and YEAR_1970_MS <= time_ms < YEAR_2100_MS
        and (rssi is None or (type(rssi) is float and math.isfinite(rssi) and abs(rssi) <= 999))
        and (seq is None or (type(seq) is int and 0 <= seq <= INT64_MAX))
    )


_format = cache(get_format)


def outcome(name: str, line: str, ctx: FormatContext) -> Read | ParseError | None:
    """What `parse` and a session's `feed` make of a line; anything but a storable read,
    None or ParseError fails the caller's assertion (an exception propagates)."""
    fmt = _format(name)
    try:
        read = fmt.parse(line, ctx)
    except ParseError as exc:
        read = exc
    try:
        fed, _ = open_session(fmt, ctx).feed(line)
    except ParseError:
        fed = None
    for got in (read, fed):
        if isinstance(got, Read):
            assert storable(got), (line, got)
    return read
