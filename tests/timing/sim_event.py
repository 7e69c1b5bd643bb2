"""An event folder laid out for backwards validation, for simulated races.

The README's recommended set-up: a start mat, then at every split point and at the
finish a gate (an upstream and a downstream line 3 m apart) with an oncoming panel.
A half marathon (HM) and a marathon (M) share the first 15 km, as in the simulator's
demo course, and the runners are the demo's participants.
"""

from __future__ import annotations

import csv
from pathlib import Path

from readers.simulator import Simulation, demo_participants
from timing.engine import Engine
from timing.folder import EventFolder, load_folder

READERS = ["START", "K5", "K10", "K15", "K21", "K30", "K40", "FIN"]
OFFSETS_S = {"K5": 1.25, "K15": -2.4, "K30": 0.8, "FIN": -0.35}  # clocks are off on race day
SHARED = [("K5", 5000), ("K10", 10000), ("K15", 15000)]
SPLITS = {"M": [*SHARED, ("K21", 21097.5), ("K30", 30000), ("K40", 40000)], "HM": SHARED}
DISTANCE = {"M": 42195, "HM": 21097.5}
WAVES = {"M": [("A", "08:30:00"), ("B", "08:35:00")], "HM": [("A", "09:15:00"), ("B", "09:20:00")]}


def _gate(point: str, distance: float) -> str:
    return (
        f'[[races.points]]\nid = "{point}"\ndistance_m = {distance}\nreader = "{point}"\n'
        "upstream = [1, 2]\ndownstream = [3, 4]\noncoming = [5]\n"
    )


def event_toml(extra: str = "") -> str:
    parts = [
        '[event]\nname = "Validation Retro Run"\ndate = "2026-04-12"\ntimezone = "Europe/London"\n'
    ]
    for reader in READERS:
        parts.append(
            f'[[readers]]\nid = "{reader}"\nformat = "retrotime-csv"\nport = "/dev/null"\n'
            f"clock_offset_s = {OFFSETS_S.get(reader, 0.0)}\n"
        )
    for race, splits in SPLITS.items():
        parts.append(
            f'[[races]]\nid = "{race}"\nname = "{race}"\ndistance_m = {DISTANCE[race]}\n'
            'chips = ["front", "back"]\ncutoff = "8:00:00"\n'
        )
        parts += [f'[[races.waves]]\nid = "{w}"\nstart = "{t}"\n' for w, t in WAVES[race]]
        parts.append(
            '[[races.points]]\nid = "START"\ndistance_m = 0\nreader = "START"\n'
            "antennas = [1, 2, 3, 4]\n"
        )
        parts += [_gate(point, distance) for point, distance in splits]
        parts.append(_gate("FIN", DISTANCE[race]))
    return "\n".join(parts) + extra


def write_event(path: Path, seed: int, runners: int, extra_toml: str = "") -> EventFolder:
    path.mkdir(parents=True, exist_ok=True)
    (path / "event.toml").write_text(event_toml(extra_toml), encoding="utf-8")
    rows = demo_participants(seed, runners)
    with (path / "participants.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return load_folder(path)


def feed(engine: Engine, sim: Simulation) -> None:
    """Every simulated read, numbered as the journal would number them."""
    rows = []
    for reader in sim.reader_ids:
        for read in sim.iter_reads(reader):
            rows.append(
                (len(rows) + 1, read.reader, read.chip, read.antenna, read.time_ms, read.rssi)
            )
    engine.add_reads(rows)
