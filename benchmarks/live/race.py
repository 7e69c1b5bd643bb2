"""The benchmark's race: a steady flow of crossings at every reader.

Why not the demo's race: its flow is a real race's, not a steady one. `retrotime demo`
simulates examples/riverside (200 runners, 5 readers, seed 7): 53,223 reads over 579
race minutes, from 0 to 3,942 a minute (START's busiest), and 558 at FIN in all
(its format sends one passing per crossing). The simulator's own sample scaled up,
`simulate(demo_course(runners=2100), 1)`, has from 50 to 10,024 reads a race minute
(two waves per race, the K10 gate's extra lines); START has all its 103,000 within 16
race minutes while K40 spreads 26,000 over 270. On any accelerated clock some readers
burst while others idle, so neither a fixed total rate (500 or 1,100 reads/s) nor one
uplink per reader carrying its share can be held for a measurement.

Here runners start one after another over the whole race, so each reader (start,
splits every ~3 km, finish) sees the same steady flow of crossings: two chips, three
reads each. The lines are in the reader's own format (`retrotime-csv`, written by the
format itself), on the demo's race clock speed (x60).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

TZ_NAME = "Europe/London"
TZ = ZoneInfo(TZ_NAME)
DATE = "2026-04-12"
RACE = "half"
DISTANCE = 21097.5
SPEED = 60  # race clock speed-up, the demo's: an hour of racing per wall minute
READS_PER_CHIP = 3  # per crossing; two chips, so 6 lines per crossing
PRE_RACE_MIN = 150  # race minutes already run when the benchmark starts
COURSE_MIN = (75.0, 150.0)  # runners' chip times, race minutes


@dataclass(slots=True)
class Line:
    wall_s: float  # when to write it, seconds after the writer starts
    reader: str
    data: bytes
    event: int  # index of the crossing this line opens, else -1


@dataclass(slots=True)
class Crossing:
    bib: str
    point: str  # the point's id
    reader: str
    chip: str
    time_ms: int  # reader clock of the first line


@dataclass
class Race:
    folder: Path
    readers: list[str]
    points: list[tuple[str, float]]  # (point id, distance), one per reader
    lines: list[Line]
    crossings: list[Crossing]
    runners: int

    def lines_of(self, reader: str) -> int:
        return sum(1 for line in self.lines if line.reader == reader)


def course(readers: int) -> list[tuple[str, str, float]]:
    """(reader id, point id, distance): the start, splits on whole km, the finish."""
    if readers < 2:
        raise ValueError("a race needs at least a start and a finish reader")
    splits = [round(DISTANCE * i / (readers - 1) / 1000) for i in range(1, readers - 1)]
    return [
        ("START", "start", 0.0),
        *((f"K{km}", f"{km}k", km * 1000.0) for km in splits),
        ("FIN", "finish", DISTANCE),
    ]


def event_toml(points: list[tuple[str, str, float]]) -> str:
    parts = [
        f'[event]\nname = "Live Benchmark Retro Half"\ndate = "{DATE}"\n'
        f'timezone = "{TZ_NAME}"\n\n[timing]\ndedupe_window_s = 3.0\n'
    ]
    for reader, _, _ in points:
        parts.append(
            f'[[readers]]\nid = "{reader}"\nformat = "retrotime-csv"\nport = "/dev/null"\n'
        )
    parts.append(
        f'[[races]]\nid = "{RACE}"\nname = "Half Marathon"\ndistance_m = {DISTANCE}\n'
        'chips = ["front", "back"]\nranking = "chip"\n\n'
        '[[races.waves]]\nid = "A"\nstart = "09:00:00"\n'
    )
    for reader, point, distance in points:
        parts.append(
            f'[[races.points]]\nid = "{point}"\ndistance_m = {distance}\nreader = "{reader}"\n'
            "antennas = [1, 2]\n"
        )
    return "\n".join(parts)


def build_race(folder: Path, readers: int, rate: float, seconds: float, seed: int = 1) -> Race:
    """Write the event folder; return the lines to write at `rate` lines/s in all."""
    from readers.formats import get_format
    from readers.read import FormatContext, Read
    from timing.folder import load_folder

    points = course(readers)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "event.toml").write_text(event_toml(points), encoding="utf-8")
    rng = random.Random(seed)
    per_reader = rate / len(points) / (2 * READS_PER_CHIP)  # crossings per wall second
    spacing_ms = SPEED * 1000 / per_reader  # race time between two starters
    window = (PRE_RACE_MIN * 60_000, PRE_RACE_MIN * 60_000 + seconds * SPEED * 1000)
    runners: list[tuple[int, float, float]] = []  # (bib, start offset ms, course minutes)
    bib = 1000
    offset = 0.0
    while offset < window[1]:
        runners.append((bib, offset + rng.uniform(0, spacing_ms / 4), rng.uniform(*COURSE_MIN)))
        bib += 1
        offset += spacing_ms
    with (folder / "participants.csv").open("w", encoding="utf-8") as f:
        f.write("bib,first_name,last_name,sex,age,race,wave,chip_front,chip_back,club,nation\n")
        for b, _, _ in runners:
            f.write(
                f"{b},Runner{b},Retro,{'FMX'[b % 3]},{20 + b % 55},{RACE},A,"
                f"F{b:07d},B{b:07d},Club {b % 40},GBR\n"
            )
    gun = load_folder(folder).event.races[0].waves[0].gun_ms
    fmt = get_format("retrotime-csv")
    lines: list[Line] = []
    crossings: list[Crossing] = []
    for b, start, course_min in runners:
        for reader, point, distance in points:
            at = start + course_min * 60_000 * distance / DISTANCE
            if not window[0] <= at < window[1]:
                continue
            ctx = FormatContext(reader, TZ)
            reads = []
            for chip, lead in ((f"B{b:07d}", 0.0), (f"F{b:07d}", rng.uniform(50, 400))):
                for k in range(READS_PER_CHIP):
                    t = at + lead + k * 120
                    rssi = -72.0 + 9 * (1 - abs(k - 1)) + rng.randint(-3, 3)
                    reads.append((t, Read(reader, chip, 1 + k % 2, gun + int(t), rssi)))
            reads.sort(key=lambda x: x[0])
            first = reads[0][1]
            crossings.append(Crossing(str(b), point, reader, first.chip, first.time_ms))
            for n, (t, read) in enumerate(reads):
                lines.append(
                    Line(
                        (t - window[0]) / (SPEED * 1000),
                        reader,
                        (fmt.emit(read, ctx) + "\n").encode(),
                        len(crossings) - 1 if n == 0 else -1,
                    )
                )
    lines.sort(key=lambda line: line.wall_s)
    return Race(
        folder,
        [r for r, _, _ in points],
        [(p, d) for _, p, d in points],
        lines,
        crossings,
        len(runners),
    )
