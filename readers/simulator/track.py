"""A small track meet built in code: a 5,000 m lap race and a one-hour timed race.

One reader (`LAP`) at the lap line of a 400 m track: a mat (antennas 1 and 2) and an
oncoming panel (antenna 3). The 5,000 m (`5K`) starts at the 200 m mark, off the
line, on the gun: the line is crossed 13 times. The one-hour race (`1H`) starts on
the line (a start point at 0 m on the lap line) and counts the laps crossed within
the hour. Some runners have a spotter beside them (role "spotter", `guides` their
bib), who runs forwards and wears chips too.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from readers.read import local_to_ms
from readers.simulator.course import Course, SimPoint, SimRace, SimReader, SimRunner, SimWave
from readers.simulator.demo import _CLUBS, _FIRST, _LAST, _NATIONS

TRACK_DAY = date(2026, 6, 20)
TRACK_TZ = "Europe/London"
LAP_M = 400.0
LAP_READER = "LAP"
RACE_5K, RACE_HOUR = "5K", "1H"
GUNS = {RACE_5K: (10, 0), RACE_HOUR: (11, 15)}  # local time of each race's one wave
HOUR_MS = 3_600_000


def _person(rng: random.Random, day: date, low: int, mode: int, high: int) -> dict[str, str]:
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


def track_participants(
    seed: int = 1,
    runners: int = 40,
    hour_share: float = 0.5,
    spotter_share: float = 0.1,
    day: date = TRACK_DAY,
) -> list[dict[str, str]]:
    """participants.csv rows (all strings) of the track meet; `track_course` uses the same.

    Runners are bibs 1..`runners` (the first `1 - hour_share` of them in the 5,000 m);
    spotters follow, about `spotter_share` of each race's runners and at least one
    per race, each in the race and wave of the runner they guide.
    """
    rng = random.Random(f"track participants:{seed}")
    n_5k = runners - round(runners * hour_share)
    rows = []
    for i in range(runners):
        bib = i + 1
        rows.append(
            {
                "bib": str(bib),
                **_person(rng, day, 18, 36, 78),
                "race": RACE_5K if i < n_5k else RACE_HOUR,
                "wave": "A",
                "chip_front": f"0580047{bib:05d}",
                "chip_back": f"0580048{bib:05d}",
                "role": "runner",
                "guides": "",
            }
        )
    guided: list[dict[str, str]] = []
    for race in (RACE_5K, RACE_HOUR):
        field = [row for row in rows if row["race"] == race]
        if field:
            count = min(len(field), max(1, round(len(field) * spotter_share)))
            guided += sorted(rng.sample(field, count), key=lambda row: int(row["bib"]))
    for j, runner in enumerate(guided):
        bib = runners + j + 1
        rows.append(
            {
                "bib": str(bib),
                **_person(rng, day, 20, 35, 60),
                "race": runner["race"],
                "wave": runner["wave"],
                "chip_front": f"0580047{bib:05d}",
                "chip_back": f"0580048{bib:05d}",
                "role": "spotter",
                "guides": runner["bib"],
            }
        )
    return rows


def track_course(
    seed: int = 1,
    runners: int = 40,
    hour_share: float = 0.5,
    spotter_share: float = 0.1,
    reader_format: str = "retrotime-csv",
    clock_offset_s: float = 0.0,
    day: date = TRACK_DAY,
    tz_name: str = TRACK_TZ,
) -> Course:
    """The track meet: reader LAP, races 5K (13 laps, gun start) and 1H (one hour)."""
    tz = ZoneInfo(tz_name)

    def gun(race: str) -> int:
        hh, mm = GUNS[race]
        return local_to_ms(datetime(day.year, day.month, day.day, hh, mm), tz)

    def line(pid: str, distance: float) -> SimPoint:
        return SimPoint(pid, distance, LAP_READER, antennas=(1, 2), oncoming=(3,))

    five = SimRace(
        RACE_5K,
        5_000.0,
        ("front", "back"),
        (SimWave("A", gun(RACE_5K)),),
        (line("LAP", 5_000.0),),
        laps=13,
        lap_m=LAP_M,
    )
    hour = SimRace(
        RACE_HOUR,
        LAP_M,
        ("front", "back"),
        (SimWave("A", gun(RACE_HOUR)),),
        (line("START", 0.0), line("LAP", LAP_M)),
        lap_m=LAP_M,
        duration_ms=HOUR_MS,
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
            row["role"],
            row["guides"] or None,
        )
        for row in track_participants(seed, runners, hour_share, spotter_share, day)
    ]
    reader = SimReader(LAP_READER, reader_format, clock_offset_s)
    return Course(tz_name, day, [reader], [five, hour], people)
