"""The sample track meet (examples/track) for the lap-race tests, a few runners of its
own, and a way to write its reads.

One reader (LAP) at the lap line of a 400 m track: a mat (antennas 1 and 2) and an
oncoming panel (3). Two races share the line:

- `5K`: 13 crossings of the line, started at the 200 m mark with no start point (gun
  time); bibs 1-4, spotter 9 guiding bib 1.
- `1H`: a one-hour timed race started on the line (a START point on the same
  antennas); bibs 11-13, spotter 19 guiding bib 11.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

import tomlkit

from tests.timing.builders import HEADER as ROAD_HEADER
from tests.timing.builders import write_folder
from timing.folder import EventFolder, load_folder
from timing.point_refs import PointRef

TRACK_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "track"
LAP_M = 400.0
SECOND = 1000
MIN = 60 * SECOND


def event_toml(
    five_k: Mapping[str, object] | None = None,
    hour: Mapping[str, object] | None = None,
    fmt: str = "retrotime-csv",
    clock_offset_s: float = 0.0,
) -> str:
    """examples/track/event.toml without its comments (so a test may edit a line of it):
    reader LAP in `fmt` at `clock_offset_s`, neither race with a min_lap_s of its own
    (both take the default from the records), then `five_k` and `hour` set on the races."""
    event = tomllib.loads((TRACK_EXAMPLE / "event.toml").read_text(encoding="utf-8"))
    (reader,) = event["readers"]
    reader["format"] = fmt
    if clock_offset_s:
        reader["clock_offset_s"] = clock_offset_s
    for race, extra in zip(event["races"], (five_k, hour), strict=True):
        race.pop("min_lap_s", None)
        race.update(extra or {})
    return tomlkit.dumps(event)


# The road builders' columns, with a spotter's role and guides for club and nation.
HEADER = [*(h for h in ROAD_HEADER if h not in ("club", "nation")), "role", "guides"]


def person(bib: int, race: str, sex: str = "M", role: str = "", guides: str = "") -> dict:
    return {
        "bib": str(bib),
        "first_name": f"Runner{bib}",
        "last_name": "Track",
        "sex": sex,
        "birth_date": "1990-01-01",
        "race": race,
        "wave": "A",
        "chip_front": f"F{bib:04d}",
        "chip_back": f"B{bib:04d}",
        "role": role,
        "guides": guides,
    }


def default_people() -> list[dict]:
    return [
        *(person(b, "5K") for b in (1, 2, 3, 4)),
        person(9, "5K", role="spotter", guides="1"),
        *(person(b, "1H") for b in (11, 12, 13)),
        person(19, "1H", role="spotter", guides="11"),
    ]


def write_track(path: Path, people: list[dict] | None = None, toml: str | None = None) -> Path:
    people = default_people() if people is None else people
    return write_folder(path, people, toml or event_toml(), HEADER)


def track_folder(path: Path, **kwargs) -> EventFolder:
    return load_folder(write_track(path, **kwargs))


def gun(folder: EventFolder, race: str) -> int:
    found = folder.event.race(race)
    assert found is not None
    return found.waves[0].gun_ms


def key(folder: EventFolder, time_ms: int) -> str:
    """The flag point of the crossing of the lap line at `time_ms`."""
    return str(PointRef.crossing("LAP", time_ms, folder.event.timezone))


class Track:
    """Reads as the LAP reader sends them, numbered like the journal numbers them."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def burst(self, chip: str, antenna: int, peak_ms: int, n: int = 5, top: float = -50.0):
        for k in range(n):
            off = k - n // 2
            row = (
                len(self.rows) + 1,
                "LAP",
                chip,
                antenna,
                peak_ms + 100 * off,
                top - 3 * abs(off),
            )
            self.rows.append(row)

    def cross(self, bib: int, at_ms: int, facing: str = "back", panel: bool = True) -> None:
        """Both chips over the mat, the leading one (`facing`) 40 ms first and strong
        at the panel a second before."""
        lead, trail = ("B", "F") if facing == "back" else ("F", "B")
        self.burst(f"{lead}{bib:04d}", 1, at_ms)
        self.burst(f"{trail}{bib:04d}", 1, at_ms + 40)
        if panel:
            self.burst(f"{lead}{bib:04d}", 3, at_ms - 1000, n=10, top=-52.0)
            self.burst(f"{trail}{bib:04d}", 3, at_ms - 800, n=1, top=-75.0)

    def laps(self, bib: int, first_ms: int, lap_ms: int, count: int, skip=()) -> list[int]:
        """`count` crossings, the first at `first_ms`, then one every `lap_ms`; the
        crossings numbered in `skip` (1-based) are not read. Returns all their times."""
        times = [first_ms + i * lap_ms for i in range(count)]
        for number, t in enumerate(times, start=1):
            if number not in skip:
                self.cross(bib, t)
        return times
