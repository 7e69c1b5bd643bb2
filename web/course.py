"""The event folder as the simulator's plain course description.

`readers/` knows nothing of event.toml or of record data, and `timing/` nothing of the
simulator: only the composition root may import both, so the translation lives here.
"""

from __future__ import annotations

from collections.abc import Iterable

from readers import simulator as sim
from timing.folder import EventFolder
from timing.records import Record, load_world_bests


def simulator_records(records: Iterable[Record]) -> dict[str, sim.RecordTime]:
    """The fastest ratified world best at each of the simulator's pace anchors."""
    found = list(records)
    best = {}
    for sex, distance_m in sim.PACE_ANCHORS_M.items():
        times = [
            r.time_ms
            for r in found
            if r.scope == "world"
            and r.status == "ratified"
            and r.sex == sex
            and not r.category
            and round(r.distance_m) == round(distance_m)
        ]
        if not times:
            raise ValueError(f"no ratified world best for {sex} at {distance_m:g} m")
        best[sex] = sim.RecordTime(distance_m, min(times) / 1000)
    return best


def course_from_folder(folder: EventFolder, stray_chips: int = 8) -> sim.Course:
    event = folder.event
    readers = [sim.SimReader(r.id, r.format, r.clock_offset_s) for r in event.readers.values()]
    races = [
        sim.SimRace(
            race.id,
            race.distance_m,
            race.chips,
            [sim.SimWave(w.id, w.gun_ms) for w in race.waves],
            [
                sim.SimPoint(
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
        sim.SimRunner(
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
    records = simulator_records(load_world_bests())
    return sim.Course(event.timezone.key, event.date, readers, races, runners, records, stray_chips)
