"""Small event folders written for tests: one race with a start mat, a gate and a finish."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from timing.errors import FolderError
from timing.folder import load_folder

EVENT_TOML = """\
[event]
name = "Test Retro Half"
date = "2026-04-12"
timezone = "Europe/London"

[timing]
dedupe_window_s = 3.0

[[readers]]
id = "START"
format = "retrotime-csv"
port = "/dev/null"

[[readers]]
id = "MID"
format = "retrotime-csv"
port = "/dev/null"
clock_offset_s = 1.5

[[readers]]
id = "FIN"
format = "retrotime-csv"
port = "/dev/null"

[[races]]
id = "half"
name = "Half Marathon"
distance_m = 21097.5
chips = ["front", "back"]
ranking = "chip"
cutoff = "4:00:00"

[[races.waves]]
id = "A"
start = "09:00:00"

[[races.waves]]
id = "B"
start = "09:10:00"

[[races.points]]
id = "start"
distance_m = 0
reader = "START"
antennas = [1, 2]

[[races.points]]
id = "10k"
distance_m = 10000
reader = "MID"
upstream = [1]
downstream = [2]
oncoming = [3]

[[races.points]]
id = "finish"
distance_m = 21097.5
reader = "FIN"
antennas = [1, 2]
"""

HEADER = [
    "bib",
    "first_name",
    "last_name",
    "sex",
    "birth_date",
    "race",
    "wave",
    "chip_front",
    "chip_back",
    "club",
    "nation",
]


def write_folder(
    path: Path,
    people: list[dict[str, str]] | None = None,
    toml: str = EVENT_TOML,
    header: list[str] = HEADER,
) -> Path:
    """An event folder: event.toml and participants.csv (the columns of `header`)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "event.toml").write_text(toml, encoding="utf-8")
    rows = people if people is not None else default_people()
    with (path / "participants.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def problems(path: Path, formats: set[str] | None = None) -> list[str]:
    """The problems of a folder that must not load, as `retrotime check` prints them."""
    with pytest.raises(FolderError) as caught:
        load_folder(path, formats)
    return [str(p) for p in caught.value.problems]


def line_of(text: str, part: str) -> int:
    """The number of the first line of `text` holding `part`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if part in line)


def person(bib: int, sex: str = "F", birth: str = "1985-06-01", wave: str = "A") -> dict[str, str]:
    return {
        "bib": str(bib),
        "first_name": f"Runner{bib}",
        "last_name": "Retro",
        "sex": sex,
        "birth_date": birth,
        "race": "half",
        "wave": wave,
        "chip_front": f"F{bib:04d}",
        "chip_back": f"B{bib:04d}",
        "club": "",
        "nation": "GBR",
    }


def default_people() -> list[dict[str, str]]:
    return [
        person(101),
        person(102, "M"),
        person(103, "F", "1960-01-01"),
        person(104, "M", wave="B"),
    ]
