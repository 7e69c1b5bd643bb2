"""A backwards race simulator: reads as each reader would log them, plus the truth.

    course = demo_course(seed=1)
    sim = simulate(course, seed=1, inject={"17": [Behaviour.forward_facing(2)]})
    sim.write_logs("out/")          # <reader_id>.log in each reader's format
    sim.write_truth("out/truth.json")
    stream_live(sim, "FIN", master_fd, speed=20.0, stop_event=stop)

    meet = track_course(seed=1)     # a 5,000 m lap race and a one-hour timed race
    sim = simulate(meet, seed=1, inject={"3": [Behaviour.short_lap(5)]})

`readers/` imports nothing else of ours: the CLI turns an event folder into a
`Course`.
"""

from readers.simulator.course import (
    CHIP_SEPARATED,
    FORWARD_FACING,
    MISSED_LAP_READ,
    MISSED_SPLIT,
    SHORT_LAP,
    SPARSE,
    STEADY_PACE,
    WRONG_WAY,
    Behaviour,
    Course,
    Kind,
    SimPoint,
    SimRace,
    SimReader,
    SimRunner,
    SimWave,
)
from readers.simulator.demo import demo_course, demo_participants, random_injections
from readers.simulator.live import StreamStats, stream_live
from readers.simulator.reads import ReadModel
from readers.simulator.simulation import Simulation, simulate
from readers.simulator.track import track_course, track_participants

__all__ = [
    "CHIP_SEPARATED",
    "FORWARD_FACING",
    "MISSED_LAP_READ",
    "MISSED_SPLIT",
    "SHORT_LAP",
    "SPARSE",
    "STEADY_PACE",
    "WRONG_WAY",
    "Behaviour",
    "Course",
    "Kind",
    "ReadModel",
    "SimPoint",
    "SimRace",
    "SimReader",
    "SimRunner",
    "SimWave",
    "Simulation",
    "StreamStats",
    "demo_course",
    "demo_participants",
    "random_injections",
    "simulate",
    "stream_live",
    "track_course",
    "track_participants",
]
