"""The sample track meet (examples/track) as an event folder, with the simulator's
participants (spotters included) for any number of runners.

Reader LAP at the lap line of a 400 m track (a mat on antennas 1 and 2, an oncoming
panel on 3). 5K: 13 crossings from the 200 m mark, gun start. 1H: one hour, started
on the line. The event is the example's, edited as TOML where a test asks for another
reader format, clock offset or shortest lap.
"""

from __future__ import annotations

import csv
from pathlib import Path

import tomlkit

from readers.simulator import track_participants
from timing.folder import EventFolder, load_folder

TRACK_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "track"


def track_meet_toml(
    fmt: str = "retrotime-csv", min_lap_s: float | None = None, clock_offset_s: float = 0.0
) -> str:
    """examples/track/event.toml with reader LAP in `fmt` at `clock_offset_s`, and
    `min_lap_s` on both races (None: neither sets one, so both take the default)."""
    doc = tomlkit.parse((TRACK_EXAMPLE / "event.toml").read_text(encoding="utf-8"))
    (reader,) = doc["readers"]
    reader["format"] = fmt
    if clock_offset_s:
        reader["clock_offset_s"] = clock_offset_s
    for race in doc["races"]:
        race.pop("min_lap_s", None)
        if min_lap_s is not None:
            race["min_lap_s"] = min_lap_s
    return tomlkit.dumps(doc)


def write_track_meet(
    path: Path,
    seed: int,
    runners: int = 40,
    fmt: str = "retrotime-csv",
    min_lap_s: float | None = None,
    clock_offset_s: float = 0.0,
) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    toml = track_meet_toml(fmt, min_lap_s, clock_offset_s)
    (path / "event.toml").write_text(toml, encoding="utf-8")
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
