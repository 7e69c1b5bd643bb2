"""A small, realistic sample event built in code, and random injections for it.

A backwards half marathon (HM, 5 points) and marathon (M, 8 points) share the start,
the first 15 km and the finish; each has two waves. K10 is a gate (upstream and
downstream lines) with an oncoming panel; the finish has a four-antenna mat and a
panel. Some reader clocks are off, as they are on race day.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from readers.read import local_to_ms
from readers.simulator.course import (
    Behaviour,
    Course,
    SimPoint,
    SimRace,
    SimReader,
    SimRunner,
    SimWave,
)
from readers.simulator.runners import SLOWEST_S_PER_KM, sorted_points

if TYPE_CHECKING:
    from readers.simulator.course import RecordTime

DEMO_DAY = date(2026, 4, 12)
DEMO_TZ = "Europe/London"
DEMO_OFFSETS_S = {"K5": 1.25, "K15": -2.4, "K30": 0.8, "FIN": -0.35}


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


_FIRST = {
    "M": _words(
        "Oliver Jack Harry George Noah Leo Luca Mateo Jonas Lukas Pierre Hugo Marco Pablo "
        "Javier Sean Liam Connor Piet Daan Mikkel Erik Tomasz Jakub Akira Kenji Ravi Arjun "
        "Kwame Diego"
    ),
    "F": _words(
        "Olivia Amelia Isla Ava Emma Mia Sofia Giulia Chiara Lucia Marta Lea Hannah Clara "
        "Chloe Camille Aoife Siobhan Sanne Fleur Freja Ingrid Zofia Anna Yuki Hana Priya "
        "Ananya Ama Valentina"
    ),
}
_LAST = _words(
    "Smith|Jones|Taylor|Brown|Williams|Wilson|Evans|Thomas|Roberts|Walker|Murphy|Kelly|"
    "Byrne|Müller|Schmidt|Schneider|Fischer|Weber|Rossi|Russo|Ferrari|Bianchi|García|"
    "Martínez|López|Sánchez|Martin|Bernard|Dubois|Moreau|de Jong|Jansen|Nielsen|Hansen|"
    "Larsen|Nowak|Kowalski|Tanaka|Suzuki|Patel|Sharma|Mensah|Silva|O'Brien",
    "|",
)
_CLUBS = [
    "",
    "",
    "Retro Runners",
    "Backwards Harriers",
    "Reverse Gear AC",
    "Moonwalkers RC",
    "Tailwind Striders",
    "Rückwärtslauf Essen",
    "Correre all'Indietro",
    "Achteruit Atletiek",
    "Thames Backpedallers",
    "Rewind Road Runners",
]
_NATIONS = ("GBR",) * 10 + _words("IRL GER GER ITA ITA NED FRA ESP DEN POL JPN IND GHA USA")


def person_row(rng: random.Random, day: date, low: int, mode: int, high: int) -> dict[str, str]:
    """A made-up person born about `mode` (between `low` and `high`) years before `day`:
    names, sex, birth date, age, club and nation, as participants.csv columns."""
    sex = "M" if rng.random() < 0.58 else "F"
    age = min(high, max(low, round(rng.triangular(low, high, mode))))
    try:
        anniversary = day.replace(year=day.year - age)
    except ValueError:  # 29 February
        anniversary = day.replace(year=day.year - age, day=28)
    birth = anniversary - timedelta(days=rng.randint(1, 364))
    return {
        "first_name": rng.choice(_FIRST[sex]),
        "last_name": rng.choice(_LAST),
        "sex": sex,
        "birth_date": birth.isoformat(),
        "age": str(age),
        "club": rng.choice(_CLUBS),
        "nation": rng.choice(_NATIONS),
    }


def demo_participants(
    seed: int = 1, runners: int = 200, marathon_share: float = 0.4, day: date = DEMO_DAY
) -> list[dict[str, str]]:
    """Participant rows (all strings) for participants.csv; `demo_course` uses the same."""
    rng = random.Random(f"participants:{seed}")
    n_marathon = round(runners * marathon_share)
    rows = []
    for i in range(runners):
        bib = i + 1
        rows.append(
            {
                "bib": str(bib),
                **person_row(rng, day, 18, 36, 78),
                "race": "M" if i < n_marathon else "HM",
                "wave": "A" if rng.random() < 0.5 else "B",
                "chip_front": f"0580037{bib:05d}",
                "chip_back": f"0580038{bib:05d}",
            }
        )
    return rows


def demo_course(
    seed: int = 1,
    runners: int = 200,
    marathon_share: float = 0.4,
    formats: Mapping[str, str] | None = None,
    clock_offsets_s: Mapping[str, float] | None = None,
    day: date = DEMO_DAY,
    tz_name: str = DEMO_TZ,
    *,
    records: Mapping[str, RecordTime],
) -> Course:
    """The sample course; `formats` maps reader ids to formats (default retrotime-csv),
    `records` are the backwards bests the paces are drawn above (record data is not
    the simulator's: the caller reads it)."""
    formats = formats or {}
    offsets = DEMO_OFFSETS_S if clock_offsets_s is None else clock_offsets_s
    tz = ZoneInfo(tz_name)
    ids = ["START", "K5", "K10", "K15", "K21", "K30", "K40", "FIN"]
    readers = [
        SimReader(rid, formats.get(rid, "retrotime-csv"), offsets.get(rid, 0.0)) for rid in ids
    ]

    def gun(hh: int, mm: int) -> int:
        return local_to_ms(datetime(day.year, day.month, day.day, hh, mm), tz)

    def mat(pid: str, distance: float) -> SimPoint:
        return SimPoint(pid, distance, pid, antennas=(1, 2))

    start = SimPoint("START", 0.0, "START", antennas=(1, 2, 3, 4))
    k10 = SimPoint("K10", 10_000.0, "K10", upstream=(1, 2), downstream=(3, 4), oncoming=(5,))
    shared = [start, mat("K5", 5_000.0), k10, mat("K15", 15_000.0)]

    def finish(distance: float) -> SimPoint:
        return SimPoint("FIN", distance, "FIN", antennas=(1, 2, 3, 4), oncoming=(5,))

    marathon = SimRace(
        "M",
        42_195.0,
        ("front", "back"),
        (SimWave("A", gun(8, 30)), SimWave("B", gun(8, 35))),
        (
            *shared,
            mat("K21", 21_097.5),
            mat("K30", 30_000.0),
            mat("K40", 40_000.0),
            finish(42_195.0),
        ),
    )
    half = SimRace(
        "HM",
        21_097.5,
        ("front", "back"),
        (SimWave("A", gun(9, 15)), SimWave("B", gun(9, 20))),
        (*shared, finish(21_097.5)),
    )
    people = [
        SimRunner(
            row["bib"],
            row["sex"],
            int(row["age"]),
            row["race"],
            row["wave"],
            row["chip_front"],
            row["chip_back"],
        )
        for row in demo_participants(seed, runners, marathon_share, day)
    ]
    return Course(tz_name, day, readers, [marathon, half], people, records)


def random_injections(
    course: Course, seed: int, fraction: float = 0.05
) -> dict[str, list[Behaviour]]:
    """One behaviour each for about `fraction` of the runners, valid for their race.

    Spotters get none. In track races: sparse reads, a missed lap read, a short lap,
    a lap facing forwards (in timed races among the laps everyone runs).
    """
    rng = random.Random(f"inject:{seed}")
    races = {race.id: sorted_points(race) for race in course.races}
    by_race: dict[str, list[str]] = {}
    for runner in course.runners:
        by_race.setdefault(runner.race, []).append(runner.bib)
    chips = {race.id: race.chips for race in course.races}
    laps = {race.id: _sure_laps(race) for race in course.races if race.is_track}
    out: dict[str, list[Behaviour]] = {}
    for runner in course.runners:
        if runner.role == "spotter":
            continue
        if rng.random() >= fraction:
            continue
        if runner.race in laps:
            out[runner.bib] = [_lap_injection(rng, laps[runner.race])]
            continue
        pts = races[runner.race]
        gates = [p.id for p in pts if p.is_gate]
        options = ["sparse"]
        if len(pts) > 1:
            options.append("forward")
        if len(pts) > 2:
            options.append("missed")
        if gates:
            options.append("wrong")
        if "back" in chips[runner.race] and runner.chip_back and len(pts) > 1:
            options.append("separated")
        pick = rng.choice(options)
        if pick == "forward":
            b = Behaviour.forward_facing(rng.randrange(len(pts) - 1))
        elif pick == "missed":
            b = Behaviour.missed_split(pts[rng.randrange(1, len(pts) - 1)].id)
        elif pick == "wrong":
            b = Behaviour.wrong_way(rng.choice(gates))
        elif pick == "separated":
            others = [bib for bib in by_race[runner.race] if bib != runner.bib]
            carrier = rng.choice(others) if others and rng.random() < 0.5 else None
            b = Behaviour.chip_separated(pts[rng.randrange(1, len(pts))].id, carrier)
        else:
            b = Behaviour.sparse()
        out[runner.bib] = [b]
    return out


def _sure_laps(race: SimRace) -> int:
    """Laps every runner of a track race completes (timed: even at the slowest pace)."""
    if race.laps is not None:
        return race.laps
    lap_s = SLOWEST_S_PER_KM * (race.lap_m or 400.0) / 1000.0
    return max(1, int((race.duration_ms or 0) / 1000.0 / lap_s))


def _lap_injection(rng: random.Random, laps: int) -> Behaviour:
    pick = rng.choice(("sparse", "missed", "short", "forward"))
    if pick == "missed":
        return Behaviour.missed_lap_read(rng.randint(1, laps))
    if pick == "short":
        return Behaviour.short_lap(rng.randint(1, laps))
    if pick == "forward":
        return Behaviour.forward_facing(rng.randrange(laps))
    return Behaviour.sparse()
