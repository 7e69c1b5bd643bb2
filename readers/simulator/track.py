"""Participants for the sample track meet (examples/track): a 5,000 m lap race (`5K`)
and a one-hour timed race (`1H`), any number of runners. Some runners have a spotter
beside them (role "spotter", `guides` their bib), who runs forwards and wears chips too.

The meet itself is the example folder; the caller turns it into a `Course`.
"""

from __future__ import annotations

import random
from datetime import date

from readers.simulator.demo import person_row

TRACK_DAY = date(2026, 6, 20)  # examples/track's date
RACE_5K, RACE_HOUR = "5K", "1H"


def track_participants(
    seed: int = 1,
    runners: int = 40,
    hour_share: float = 0.5,
    spotter_share: float = 0.1,
    day: date = TRACK_DAY,
) -> list[dict[str, str]]:
    """participants.csv rows (all strings) of the track meet.

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
                **person_row(rng, day, 18, 36, 78),
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
                **person_row(rng, day, 20, 35, 60),
                "race": runner["race"],
                "wave": runner["wave"],
                "chip_front": f"0580047{bib:05d}",
                "chip_back": f"0580048{bib:05d}",
                "role": "spotter",
                "guides": runner["bib"],
            }
        )
    return rows
