"""A small two-chip half marathon for the validation unit tests, and a way to write
the reads of one runner crossing it: backwards or facing forwards, along the course or
the wrong way, with either chip left out at any line.

Points: start mat (START), 5k mat (K5), 10k gate with an oncoming panel (MID: upstream
1, downstream 2, panel 3), 15k mat (K15), finish gate with a panel (FIN, same
antennas). Reader clocks are right.
"""

from __future__ import annotations

from pathlib import Path

from tests.timing.builders import person, write_folder
from timing.engine import Engine
from timing.folder import EventFolder, load_folder

HALF_M = 21097.5
POINTS = {"start": 0.0, "5k": 5000.0, "10k": 10000.0, "15k": 15000.0, "finish": HALF_M}
READER = {"start": "START", "5k": "K5", "10k": "MID", "15k": "K15", "finish": "FIN"}
GATES = ("10k", "finish")
MIN = 60_000


def event_toml(chips: str = '["front", "back"]', extra: str = "") -> str:
    readers = "".join(
        f'[[readers]]\nid = "{r}"\nformat = "retrotime-csv"\nport = "/dev/null"\n\n'
        for r in READER.values()
    )
    points = ""
    for point, distance in POINTS.items():
        lines = (
            "upstream = [1]\ndownstream = [2]\noncoming = [3]\n"
            if point in GATES
            else "antennas = [1, 2]\n"
        )
        points += (
            f'[[races.points]]\nid = "{point}"\ndistance_m = {distance}\n'
            f'reader = "{READER[point]}"\n{lines}\n'
        )
    return (
        '[event]\nname = "Validation Half"\ndate = "2026-04-12"\ntimezone = "Europe/London"\n\n'
        f'{readers}[[races]]\nid = "half"\nname = "Half Marathon"\ndistance_m = {HALF_M}\n'
        f'chips = {chips}\nranking = "chip"\ncutoff = "4:00:00"\n\n'
        '[[races.waves]]\nid = "A"\nstart = "09:00:00"\n\n'
        '[[races.waves]]\nid = "B"\nstart = "09:10:00"\n\n'
        f"{points}{extra}"
    )


RECORDS_HEADER = "scope,distance_m,sex,category,time,holder,nation,date,venue,source\n"


def make_folder(
    path: Path,
    extra: str = "",
    one_chip: bool = False,
    records: str | None = None,
    records_header: str = RECORDS_HEADER,
) -> EventFolder:
    people = [person(101), person(102, "M"), person(103, "F", "1960-01-01"), person(104, "X")]
    if one_chip:
        people = [{**p, "chip_back": ""} for p in people]
    toml = event_toml('["front"]' if one_chip else '["front", "back"]', extra)
    write_folder(path, people, toml)
    if records is not None:
        (path / "records.csv").write_text(records_header + records, encoding="utf-8")
    return load_folder(path)


def chips_of(bib: int) -> dict[str, str]:
    return {"front": f"F{bib:04d}", "back": f"B{bib:04d}"}


class Reads:
    """Reads as readers send them, numbered like the journal numbers them."""

    def __init__(self, folder: EventFolder) -> None:
        self.folder = folder
        self.rows: list[tuple] = []
        self.gun = folder.event.races[0].waves[0].gun_ms

    def burst(
        self,
        reader: str,
        chip: str,
        antenna: int,
        peak_ms: int,
        n: int = 9,
        step: int = 100,
        top: float = -50.0,
        rssi: bool = True,
    ) -> None:
        """`n` reads `step` ms apart, strongest (`top` dBm) at `peak_ms`."""
        for k in range(n):
            off = k - n // 2
            strength = top - 3 * abs(off) if rssi else None
            row = (len(self.rows) + 1, reader, chip, antenna, peak_ms + off * step, strength)
            self.rows.append(row)

    def sparse_burst(self, reader: str, chip: str, antenna: int, peak_ms: int) -> None:
        """Six reads of a cadence of 100 ms with most beats missed."""
        for off in (-600, -500, -200, 0, 100, 600):
            strength = -50.0 - abs(off) / 100
            self.rows.append((len(self.rows) + 1, reader, chip, antenna, peak_ms + off, strength))

    def cross(
        self,
        bib: int,
        point: str,
        at_ms: int,
        facing: str = "back",
        wrong_way: bool = False,
        missing: tuple[tuple[str, str], ...] = (),
        panel: bool = True,
        rssi: bool = True,
        sparse: bool = False,
        chips: tuple[str, ...] = ("front", "back"),
    ) -> None:
        """Both chips of `bib` over every line of `point`, the body crossing at `at_ms`.

        `facing` is the side that leads ("back" for a backwards runner); it peaks 40 ms
        earlier at each line and dominates the oncoming panel. `missing` leaves out
        (side, role) pairs: role is "line" for a mat, "upstream", "downstream", "panel".
        """
        reader = READER[point]
        own = chips_of(bib)
        roles = {"upstream": 1, "downstream": 2} if point in GATES else {"line": 1}
        times = {"upstream": at_ms, "downstream": at_ms + 1500, "line": at_ms}
        if wrong_way:
            times = {"upstream": at_ms + 1500, "downstream": at_ms, "line": at_ms}
        for side in chips:
            lead = side == facing
            for role, antenna in roles.items():
                if (side, role) in missing:
                    continue
                peak = times[role] + (0 if lead else 40)
                if sparse:
                    self.sparse_burst(reader, own[side], antenna, peak)
                else:
                    self.burst(reader, own[side], antenna, peak, rssi=rssi)
            if point in GATES and panel and (side, "panel") not in missing:
                if lead and not wrong_way:
                    self.burst(reader, own[side], 3, at_ms - 1000, n=10, top=-52.0, rssi=rssi)
                else:
                    self.burst(reader, own[side], 3, at_ms - 800, n=1, top=-75.0, rssi=rssi)

    def race(
        self,
        bib: int,
        pace_s_per_km: float = 420.0,
        start_after_ms: int = 60_000,
        skip: tuple[str, ...] = (),
        segment_s: dict[str, float] | None = None,
        **kwargs: object,
    ) -> dict[str, int]:
        """A whole race at a steady pace (or the given segment times, seconds, keyed by
        the point that ends them); returns the body's time at each point."""
        at = self.gun + start_after_ms
        when = {"start": at}
        previous = 0.0
        for point, distance in list(POINTS.items())[1:]:
            seconds = (segment_s or {}).get(point, pace_s_per_km * (distance - previous) / 1000)
            at += round(seconds * 1000)
            when[point] = at
            previous = distance
        for point, t in when.items():
            if point not in skip:
                self.cross(bib, point, t, **kwargs)  # type: ignore[arg-type]
        return when


def results(folder: EventFolder, rows: list[tuple], engine: Engine | None = None) -> dict:
    engine = engine or Engine(folder)
    engine.add_reads(rows)
    return {r.bib: r for rr in engine.results().races for r in rr.results}


def codes(result) -> list[tuple[str, str]]:
    return [(f.code, str(f.point)) for f in result.flags]
