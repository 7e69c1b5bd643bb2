"""`simulate()`: a whole race as each reader would have logged it, plus the truth.

Reads are kept packed (see `reads.py`) and turned into `Read` values or log lines
only when asked for, so a 30,000-runner race fits in memory and writes quickly.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from readers.formats import ReaderFormat, get_format
from readers.read import FormatContext, Read
from readers.simulator.course import Behaviour, Course
from readers.simulator.field import plan_runners
from readers.simulator.garbage import GARBAGE_RATE, place_garbage
from readers.simulator.laps import lap_truth
from readers.simulator.reads import (
    ANT_MASK,
    ANT_SHIFT,
    CHIP_MASK,
    CHIP_SHIFT,
    RSSI_MASK,
    T_SHIFT,
    ReadModel,
    Sink,
    downstream_ms,
    runner_reads,
    stray_event,
)
from readers.simulator.runners import Plan

# What the simulator must know of a format beyond `ReaderFormat` (docs/readers.md).
RESOLUTION_MS = {"ipico": 10}  # hundredths of a second
WHOLE_DB_FORMATS = {"ultra", "raceresult"}  # integer dBm
PASSING_FORMATS = {"raceresult"}  # the decoder sends one passing per crossing
SEQUENCED_FORMATS = {"ultra", "raceresult"}  # the reader numbers its reads


class Simulation:
    """Every reader's reads (time-ordered, in the reader's own clock) and the truth.

    `truth[bib]` holds true epoch-ms times (true clock): `points` (absent where a
    point was cut), `gates` (upstream/downstream line times), start, finish, chip
    and gun time, the chips, the injected behaviours, the `role` ("runner" or
    "spotter", with `guides`: the bib beside whom the spotter runs).

    Track races add `laps` (every counted lap-line crossing after the start; the
    finish is the last), `laps_completed`, `distance_m`, `crossings` (every crossing
    of the line: {"t", "kind": start | lap | after_time | short_lap, "read"}),
    `short_laps`, `missed_lap_reads` (lap numbers), and in timed races `end_ms` and
    `after_time_ms` (the crossing after the end of time, which does not count).
    """

    def __init__(
        self,
        course: Course,
        seed: int,
        base_ms: int,
        chips: list[str],
        stray_chips: list[str],
        packed: dict[str, list[int]],
        garbage: dict[str, list[tuple[int, str]]],
        truth: dict[str, dict[str, object]],
    ) -> None:
        self.course = course
        self.seed = seed
        self.truth = truth
        self.stray_chips = stray_chips
        self.garbage = garbage  # reader -> [(index of the read it precedes, text)]
        self._base = base_ms
        self._chips = chips
        self._packed = packed
        self._tz = ZoneInfo(course.tz_name)
        self._readers = {r.id: r for r in course.readers}
        self.reads: Mapping[str, list[Read]] = _LazyReads(self)

    # -- reads -------------------------------------------------------------------------

    @property
    def reader_ids(self) -> list[str]:
        return list(self._packed)

    @property
    def garbage_count(self) -> int:
        return sum(len(g) for g in self.garbage.values())

    def read_count(self, reader_id: str | None = None) -> int:
        if reader_id is None:
            return sum(len(p) for p in self._packed.values())
        return len(self._packed[reader_id])

    def format(self, reader_id: str) -> ReaderFormat:
        return get_format(self._readers[reader_id].format)

    def context(self, reader_id: str) -> FormatContext:
        return FormatContext(reader=reader_id, tz=self._tz, day=self.course.day)

    def clock_offset_ms(self, reader_id: str) -> int:
        return round(self._readers[reader_id].clock_offset_s * 1000)

    def iter_reads(self, reader_id: str) -> Iterator[Read]:
        make = self._read_maker(reader_id)
        for i, p in enumerate(self._packed[reader_id]):
            yield make(i, p)

    def garbage_lines(self, reader_id: str) -> list[str]:
        return [text for _, text in self.garbage.get(reader_id, ())]

    # -- lines -------------------------------------------------------------------------

    def lines(self, reader_id: str) -> Iterator[str]:
        """The reader's log, in its format, with the garbage lines where they fell."""
        for _, line in self.timed_lines(reader_id):
            yield line

    def timed_lines(self, reader_id: str) -> Iterator[tuple[int, str]]:
        """(true epoch ms when the line is sent, line) in order, garbage included."""
        line_of = self._line_maker(reader_id)
        due0 = self._base + self.clock_offset_ms(reader_id)
        garbage = self.garbage.get(reader_id, [])
        g, ng = 0, len(garbage)
        due = due0
        for i, p in enumerate(self._packed[reader_id]):
            due = (p >> T_SHIFT) + due0
            while g < ng and garbage[g][0] == i:
                yield due, garbage[g][1]
                g += 1
            yield due, line_of(i, p)
        for _, text in garbage[g:]:
            yield due, text

    def write_logs(self, out_dir: str | Path) -> dict[str, Path]:
        """One `<reader_id>.log` per reader, lines ended as the device ends them."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {}
        for rid in self._packed:
            term = self.format(rid).terminator.decode("ascii")
            path = out / f"{rid}.log"
            with path.open("w", encoding="utf-8", newline="") as f:
                chunk: list[str] = []
                for line in self.lines(rid):
                    chunk.append(line)
                    if len(chunk) >= 20_000:
                        f.write(term.join(chunk) + term)
                        chunk.clear()
                if chunk:
                    f.write(term.join(chunk) + term)
            paths[rid] = path
        return paths

    def write_truth(self, path: str | Path) -> Path:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "seed": self.seed,
            "tz": self.course.tz_name,
            "day": self.course.day.isoformat(),
            "readers": {
                rid: {
                    "format": self._readers[rid].format,
                    "clock_offset_s": self._readers[rid].clock_offset_s,
                    "reads": len(self._packed[rid]),
                    "garbage_lines": len(self.garbage.get(rid, ())),
                }
                for rid in self._packed
            },
            "stray_chips": self.stray_chips,
            "runners": self.truth,
        }
        out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        return out

    # -- decoding packed reads -----------------------------------------------------------

    def _read_maker(self, reader_id: str) -> Callable[[int, int], Read]:
        fmt = self.format(reader_id)
        has_rssi, seq = fmt.has_rssi, fmt.name in SEQUENCED_FORMATS
        base, chips = self._base, self._chips

        def make(i: int, p: int) -> Read:
            return Read(
                reader_id,
                chips[p >> CHIP_SHIFT & CHIP_MASK],
                p >> ANT_SHIFT & ANT_MASK,
                (p >> T_SHIFT) + base,
                -(p & RSSI_MASK) / 2.0 if has_rssi else None,
                i + 1 if seq else None,
            )

        return make

    def _line_maker(self, reader_id: str) -> Callable[[int, int], str]:
        fmt = self.format(reader_id)
        if fmt.name == "retrotime-csv":
            return self._retrotime_csv_line(reader_id)
        ctx = self.context(reader_id)
        make = self._read_maker(reader_id)
        emit = fmt.emit
        return lambda i, p: emit(make(i, p), ctx)

    def _retrotime_csv_line(self, reader_id: str) -> Callable[[int, int], str]:
        # Same text as RetrotimeCsv.emit (a test holds them together), without building
        # a Read and a datetime per line: the local time is cached per second.
        base, chips, tz = self._base, self._chips, self._tz
        rssi_text = [f"{-code / 2.0:g}" for code in range(RSSI_MASK + 1)]
        seconds: dict[int, tuple[str, str]] = {}

        def line(i: int, p: int) -> str:
            s, ms = divmod((p >> T_SHIFT) + base, 1000)
            parts = seconds.get(s)
            if parts is None:
                iso = datetime.fromtimestamp(s, UTC).astimezone(tz).isoformat()
                parts = seconds[s] = (iso[:19], iso[19:])
            return (
                f"{reader_id},{chips[p >> CHIP_SHIFT & CHIP_MASK]},{p >> ANT_SHIFT & ANT_MASK},"
                f"{parts[0]}.{ms:03d}{parts[1]},{rssi_text[p & RSSI_MASK]}"
            )

        return line


class _LazyReads(Mapping[str, list[Read]]):
    """reader id -> its reads as `Read` values, built on first access."""

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim
        self._cache: dict[str, list[Read]] = {}

    def __getitem__(self, reader_id: str) -> list[Read]:
        if reader_id not in self._cache:
            self._cache[reader_id] = list(self._sim.iter_reads(reader_id))
        return self._cache[reader_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sim.reader_ids)

    def __len__(self) -> int:
        return len(self._sim.reader_ids)


def simulate(
    course: Course,
    seed: int,
    inject: Mapping[str, Sequence[Behaviour]] | None = None,
    *,
    model: ReadModel | None = None,
    garbage_rate: float = GARBAGE_RATE,
) -> Simulation:
    """Run the race on `course`: the same seed gives the same reads and truth."""
    rng = random.Random(seed)
    model = model or ReadModel()
    readers = {r.id: r for r in course.readers}
    for race in course.races:
        for pt in race.points:
            if pt.reader not in readers:
                raise ValueError(f"race {race.id} point {pt.id}: unknown reader {pt.reader!r}")
    formats = {rid: get_format(r.format) for rid, r in readers.items()}
    plans = plan_runners(course, rng, inject or {})

    chips: list[str] = []
    chip_index: dict[str, int] = {}
    for runner in course.runners:
        for chip in (runner.chip_front, runner.chip_back):
            if chip and chip not in chip_index:
                chip_index[chip] = len(chips)
                chips.append(chip)
    strays: list[str] = []
    while len(strays) < course.stray_chips:
        code = f"09{rng.randrange(10**10):010d}"
        if code not in chip_index:
            chip_index[code] = len(chips)
            chips.append(code)
            strays.append(code)
    if len(chips) > CHIP_MASK:
        raise ValueError(f"too many chips to simulate ({len(chips)})")

    guns = [w.gun_ms for race in course.races for w in race.waves]
    if not guns:
        raise ValueError("the course has no waves")
    worst_offset = max((abs(r.clock_offset_s) for r in course.readers), default=0.0)
    base = (min(guns) - 6 * 3_600_000 - int(worst_offset * 1000)) // 1000 * 1000
    sinks = {}
    for rid, r in readers.items():
        name = formats[rid].name
        sinks[rid] = Sink(
            off_ms=round(r.clock_offset_s * 1000),
            res_ms=RESOLUTION_MS.get(name, 1),
            rssi_step=2 if name in WHOLE_DB_FORMATS else 1,
            passing=name in PASSING_FORMATS,
            poll_ms=rng.uniform(30.0, 70.0),
        )

    carried: dict[str, list[tuple[int, float]]] = {}
    for plan in plans:
        if plan.carrier is not None and plan.back_gone_from is not None:
            hi = chip_index[plan.runner.chip_back or ""] << CHIP_SHIFT
            start = plan.points[plan.back_gone_from].distance_m
            carried.setdefault(plan.carrier, []).append((hi, start))
    for plan in plans:
        runner_reads(plan, sinks, rng, model, chip_index, carried.get(plan.runner.bib, ()), base)

    finishes = [t for plan in plans for t in plan.times[-1:] if t is not None] or guns
    lines = sorted(
        {
            (pt.reader, tuple(ants))
            for race in course.races
            for pt in race.points
            for ants in (pt.antennas, pt.upstream, pt.downstream, pt.oncoming)
            if ants
        }
    )
    t_from, t_to = min(guns) - 900_000 - base, max(finishes) + 900_000 - base
    for code in strays if lines else ():
        for _ in range(rng.randint(1, 4)):
            reader, ants = lines[rng.randrange(len(lines))]
            t = rng.uniform(t_from, t_to)
            stray_event(sinks[reader], rng, t, ants, chip_index[code] << CHIP_SHIFT)

    packed = {}
    for rid, sink in sinks.items():
        sink.buf.sort()
        packed[rid] = sink.buf
    sim = Simulation(
        course, seed, base, chips, strays, packed, {}, {p.runner.bib: _truth(p) for p in plans}
    )
    for rid, buf in packed.items():
        line_of = sim._line_maker(rid)
        sim.garbage[rid] = place_garbage(
            rng,
            len(buf),
            garbage_rate,
            lambda i, buf=buf, line_of=line_of: line_of(i, buf[i]),
            sim.format(rid),
            sim.context(rid),
        )
    return sim


def _truth(plan: Plan) -> dict[str, object]:
    runner = plan.runner
    points = {p.id: round(t) for p, t in zip(plan.points, plan.times, strict=True) if t is not None}
    gates = {}
    for k, p in enumerate(plan.points):
        t = plan.times[k]
        if t is not None and p.upstream and p.downstream:
            gates[p.id] = {"upstream": round(t), "downstream": round(t + downstream_ms(plan, k))}
    start = round(plan.start_ms)
    finish = plan.times[-1] if plan.times else None
    out: dict[str, object] = {
        "bib": runner.bib,
        "race": runner.race,
        "wave": runner.wave,
        "sex": runner.sex,
        "age": runner.age,
        "chips": {"front": runner.chip_front, "back": runner.chip_back},
        "pace_s_per_km": round(plan.pace_s_per_km, 1),
        "gun_ms": plan.gun_ms,
        "start_ms": start,
        "points": points,
        "gates": gates,
        "forwards_at": [p.id for p, f in zip(plan.points, plan.forward, strict=True) if f],
        "behaviours": [b.as_dict() for b in plan.behaviours],
        "role": runner.role,
    }
    if runner.guides is not None:
        out["guides"] = runner.guides
    if plan.track is not None:
        out.update(lap_truth(plan))
    if finish is not None:
        out["finish_ms"] = round(finish)
        out["chip_time_ms"] = round(finish) - start
        out["gun_time_ms"] = round(finish) - plan.gun_ms
        out["chip_time"] = format_tenths(round(finish) - start)
    if plan.shortcut_m:
        out["shortcut_m"] = round(plan.shortcut_m, 1)
    if plan.back_gone_from is not None:
        out["back_chip_gone_at"] = plan.points[plan.back_gone_from].id
        out["back_chip_carrier"] = plan.carrier
    return out


def format_tenths(ms: int) -> str:
    """H:MM:SS.s, truncated to the tenth."""
    tenths = ms // 100
    h, rest = divmod(tenths, 36_000)
    m, rest = divmod(rest, 600)
    return f"{h}:{m:02d}:{rest // 10:02d}.{rest % 10}"
