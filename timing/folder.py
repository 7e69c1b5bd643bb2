"""An event folder: event.toml, participants.csv and an optional records.csv."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from timing.config import Event
from timing.config_load import load_event
from timing.errors import FolderError, Problem
from timing.participants import Participant, load_participants
from timing.records import Record, load_records


@dataclass(frozen=True, slots=True)
class EventFolder:
    path: Path
    event: Event
    participants: tuple[Participant, ...]
    records: tuple[Record, ...]

    @property
    def default_database_url(self) -> str:
        return f"sqlite:///{self.path / 'retrotime.db'}"


def load_folder(path: Path, formats: set[str] | None = None) -> EventFolder:
    """Load and check a whole folder; raise `FolderError` listing every problem."""
    event, problems = load_event(path / "event.toml", formats)
    if event is None:
        raise FolderError(problems)
    people, more = load_participants(path / "participants.csv", event)
    problems += more
    records: list[Record] = []
    if (path / "records.csv").exists() or (path / "records.csv").is_symlink():
        records, more = load_records(path / "records.csv")
        problems += more
    problems += _line_conflicts(event)
    if problems:
        raise FolderError(problems)
    return EventFolder(path, event, tuple(people), tuple(records))


def _line_conflicts(event: Event) -> list[Problem]:
    """An antenna belongs to one line: reads are grouped into crossings per line."""
    owner: dict[tuple[str, int], tuple[int, ...]] = {}
    problems = []
    for race in event.races:
        for point in race.points:
            groups = [*point.lines().values()]
            if point.oncoming:
                groups.append(point.oncoming)
            for group in groups:
                for antenna in group:
                    seen = owner.setdefault((point.reader, antenna), group)
                    if seen != group:
                        problems.append(
                            Problem(
                                "event.toml",
                                None,
                                f"races.points {point.id!r}",
                                f"antenna {antenna} of reader {point.reader!r} is on two different "
                                f"lines {list(seen)} and {list(group)}",
                            )
                        )
    return problems
