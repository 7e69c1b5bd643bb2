"""Courses for the simulator's tests, built as the service builds them (`web.course`): the
sample track meet from examples/track, and the record times the paces are drawn above,
from timing's world bests."""

from __future__ import annotations

import tempfile
from pathlib import Path

from readers.formats import format_names
from readers.simulator import Course
from tests.timing.track_sim import write_track_meet
from timing.folder import load_folder
from timing.records import load_world_bests
from web.course import course_from_folder, simulator_records

RECORDS = simulator_records(load_world_bests())


def track_course(
    seed: int = 1,
    runners: int = 40,
    reader_format: str = "retrotime-csv",
    clock_offset_s: float = 0.0,
) -> Course:
    """The track meet with `runners` runners (and their spotters) drawn from `seed`."""
    with tempfile.TemporaryDirectory(prefix="track-") as tmp:
        path = write_track_meet(
            Path(tmp), seed, runners, reader_format, clock_offset_s=clock_offset_s
        )
        return course_from_folder(load_folder(path, set(format_names())))
