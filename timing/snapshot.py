"""What `Engine.results()` hands out: a snapshot of every race's ranked results.

A snapshot is a value: its Results never change (`timing/results.py`), so a reader
may hold it while the engine goes on. Each race's `changed` says which runners differ
from the snapshot before, so a publisher sends those and compares nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from timing.config import Race
from timing.results import Result
from timing.validation import SkippedCheck


@dataclass(slots=True)
class UnknownChip:
    chip: str
    reads: int = 0
    first_ms: int = 0
    last_ms: int = 0
    readers: set[str] = field(default_factory=set)

    def copy(self) -> UnknownChip:
        """As a snapshot holds it: the engine goes on counting in its own."""
        return UnknownChip(self.chip, self.reads, self.first_ms, self.last_ms, set(self.readers))


@dataclass(frozen=True, slots=True)
class RaceResults:
    race: Race
    results: list[Result]
    skipped_checks: tuple[SkippedCheck, ...] = ()
    min_lap_ms: int | None = None  # a lap race: the shortest lap that counts (full lap)
    # The results' lifecycle: (live / provisional / official, since, protest window end).
    state: tuple[str, int | None, int | None] = ("live", None, None)
    # The bibs whose Result is not the object the previous `results()` call gave (every
    # bib on the first call). An unchanged runner keeps its object, so these are also
    # exactly the bibs whose Result is not equal to the previous one.
    changed: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class EventResults:
    races: list[RaceResults]
    unknown_chips: list[UnknownChip]
    reads: int
    crossings: int
