"""The event folder as the simulator's plain course description.

`readers/` knows nothing of event.toml; this composition-root module translates.
"""

from __future__ import annotations

from readers.simulator.course import Course, SimPoint, SimRace, SimReader, SimRunner, SimWave
from timing.folder import EventFolder


def course_from_folder(folder: EventFolder, stray_chips: int = 8) -> Course:
    event = folder.event
    readers = [SimReader(r.id, r.format, r.clock_offset_s) for r in event.readers.values()]
    races = [
        SimRace(
            race.id,
            race.distance_m,
            race.chips,
            [SimWave(w.id, w.gun_ms) for w in race.waves],
            [
                SimPoint(
                    p.id, p.distance_m, p.reader, p.antennas, p.upstream, p.downstream, p.oncoming
                )
                for p in race.points
            ],
            laps=race.laps,
            lap_m=race.lap_m,
            duration_ms=race.duration_ms,
        )
        for race in event.races
    ]
    runners = [
        # The pace model knows F and M; X runners draw from the M distribution.
        SimRunner(
            p.bib,
            "F" if p.sex == "F" else "M",
            p.age or 40,
            p.race,
            p.wave,
            p.chip_front,
            p.chip_back,
            role=p.role,
            guides=p.guides or None,
        )
        for p in folder.participants
    ]
    return Course(event.timezone.key, event.date, readers, races, runners, stray_chips)
