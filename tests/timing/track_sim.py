"""The sample track meet (examples/track) as an event folder, with the simulator's
participants (spotters included) for any number of runners.

Reader LAP at the lap line of a 400 m track (a mat on antennas 1 and 2, an oncoming
panel on 3). 5K: 13 crossings from the 200 m mark, gun start. 1H: one hour, started
on the line. The event is the example's (`track_event.event_toml`), with the reader
format, clock offset and shortest lap a test asks for.
"""

from __future__ import annotations

import csv
from pathlib import Path

from readers.simulator import track_participants
from tests.timing.track_event import event_toml
from timing.folder import EventFolder, load_folder


def write_track_meet(
    path: Path,
    seed: int,
    runners: int = 40,
    fmt: str = "retrotime-csv",
    min_lap_s: float | None = None,
    clock_offset_s: float = 0.0,
) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    min_lap = None if min_lap_s is None else {"min_lap_s": min_lap_s}
    toml = event_toml(min_lap, min_lap, fmt, clock_offset_s)
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
