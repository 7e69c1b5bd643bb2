"""A backwards race simulator: reads as each reader would log them, plus the truth.

    course = demo_course(seed=1, records=records)   # records: {sex: RecordTime}
    sim = simulate(course, seed=1, inject={"17": [Behaviour.forward_facing(2)]})
    sim.write_logs("out/")          # <reader_id>.log in each reader's format
    sim.write_truth("out/truth.json")
    stream_live(sim, "FIN", master_fd, speed=20.0, stop_event=stop)

`readers/` imports nothing else of ours: `web/course.py` turns an event folder (such as
examples/track, with `track_participants`) into a `Course`, with the record times from
timing's world bests.
"""

from readers.simulator.course import (
    CHIP_SEPARATED,
    FORWARD_FACING,
    MISSED_LAP_READ,
    MISSED_SPLIT,
    PACE_ANCHORS_M,
    SHORT_LAP,
    SPARSE,
    STEADY_PACE,
    WRONG_WAY,
    Behaviour,
    Course,
    Kind,
    RecordTime,
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
from readers.simulator.track import track_participants

__all__ = [
    "CHIP_SEPARATED",
    "FORWARD_FACING",
    "MISSED_LAP_READ",
    "MISSED_SPLIT",
    "PACE_ANCHORS_M",
    "SHORT_LAP",
    "SPARSE",
    "STEADY_PACE",
    "WRONG_WAY",
    "Behaviour",
    "Course",
    "Kind",
    "ReadModel",
    "RecordTime",
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
    "track_participants",
]
