"""The simulator's track meet (`readers.simulator.track_course`) as an event folder.

Reader LAP at the lap line of a 400 m track (a mat on antennas 1 and 2, an oncoming
panel on 3). 5K: 13 crossings from the 200 m mark, gun start. 1H: one hour, started
on the line. The participants are the simulator's, spotters included.
"""

from __future__ import annotations

import csv
from pathlib import Path

from readers.simulator import track_participants
from timing.folder import EventFolder, load_folder

EVENT = """\
[event]
name = "Track Retro Meet"
date = "2026-06-20"
timezone = "Europe/London"

[[readers]]
id = "LAP"
format = "{fmt}"
port = "/dev/null"

[[races]]
id = "5K"
name = "5000 m"
distance_m = 5000
laps = 13
lap_m = 400
chips = ["front", "back"]
{min_lap}
[[races.waves]]
id = "A"
start = "10:00:00"

[[races.points]]
id = "LAP"
distance_m = 5000
reader = "LAP"
antennas = [1, 2]
oncoming = [3]

[[races]]
id = "1H"
name = "One Hour"
duration = "1:00:00"
lap_m = 400
chips = ["front", "back"]
{min_lap}
[[races.waves]]
id = "A"
start = "11:15:00"

[[races.points]]
id = "START"
distance_m = 0
reader = "LAP"
antennas = [1, 2]
oncoming = [3]

[[races.points]]
id = "LAP"
distance_m = 400
reader = "LAP"
antennas = [1, 2]
oncoming = [3]
"""


def write_track_meet(
    path: Path,
    seed: int,
    runners: int = 40,
    fmt: str = "retrotime-csv",
    min_lap_s: float | None = None,
) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    min_lap = f"min_lap_s = {min_lap_s}\n" if min_lap_s is not None else ""
    (path / "event.toml").write_text(EVENT.format(fmt=fmt, min_lap=min_lap), encoding="utf-8")
    rows = track_participants(seed, runners)
    with (path / "participants.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def track_meet(
    path: Path, seed: int, runners: int = 40, min_lap_s: float | None = None
) -> EventFolder:
    return load_folder(write_track_meet(path, seed, runners, min_lap_s=min_lap_s))
