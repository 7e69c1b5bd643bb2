"""Race kinds: a course (each point passed once, in order) and a track (one lap line
crossed again and again). The engine scores every runner through the same interface,
`RaceKind`: bind the crossings, make the result, run the checks, rank the race. What
differs between the two lives behind it, nowhere else in the engine.

A kind scores one runner from `RunnerInputs`, everything the engine holds of that
runner at that moment, so a score is a pure function of its inputs (live and replay
agree).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from timing.chips import Alone, alone_passings, apart
from timing.config import COURSE, Race, Validation
from timing.crossings import Crossing, LineKey
from timing.flags import MISSED_LAP, SHORT_LAP, Decision, Flag
from timing.lap_checks import validate_laps
from timing.laps import LapRule, bind_laps, lap_result, min_lap_ms, rank_laps
from timing.participants import Participant
from timing.passings import Fastest, Passing, bind, bind_all
from timing.point_refs import PointRef
from timing.records import RecordBook
from timing.results import Contradiction, Result, rank, runner_result
from timing.validation import Runner, allowed_ms, two_chips, validate


@dataclass(frozen=True, slots=True)
class RunnerInputs:
    """What the engine holds of one runner when it scores them."""

    person: Participant
    gun_ms: int
    by_chip: dict[str, list[Crossing]]  # chip -> its crossings
    crossings: list[Crossing]  # of all the runner's chips
    manual: list[tuple[int, int]]  # the director's passings: (point index, time)
    prefer: dict[int, str] | None  # point index -> "manual" or "chip" where both are
    decisions: Mapping[tuple[str, PointRef], Decision]  # (flag code, where) -> decision
    override: str | None  # the director's status
    partial_m: float | None  # a timed race's final part lap
    closed: bool  # the race is closed: a runner not in is DNF, not on course
    read_times: Callable[[Crossing], list[int]]

    def checked(
        self, race: Race, result: Result, passings: list[Passing], alone: Alone | None = None
    ) -> Runner:
        """What the checks read of this runner, once its result is made."""
        return Runner(
            self.person,
            race,
            self.gun_ms,
            result.zero_ms,
            passings,
            list(result.splits),
            self.by_chip,
            alone,
            self.read_times,
        )


@dataclass(frozen=True, slots=True)
class Scored:
    """A runner's result before decisions, projection and records, with its flags."""

    result: Result
    flags: list[Flag]
    unexplained: tuple[Crossing, ...] = ()
    contradictions: tuple[Contradiction, ...] = ()


class RaceKind(Protocol):
    race: Race
    min_lap_ms: int | None  # a track: the shortest lap that counts (a full lap)

    def score(self, runner: RunnerInputs, settings: Validation, book: RecordBook) -> Scored:
        """One runner's result and flags."""
        ...

    def rank(self, results: list[Result]) -> list[Result]:
        """The race's results in order, placed."""
        ...


class Course:
    """Points passed once each, in course order (`timing/passings.py`)."""

    min_lap_ms = None

    def __init__(self, race: Race, lines: dict[LineKey, list[int]], span_ms: int) -> None:
        self.race, self.lines, self.span_ms = race, lines, span_ms

    def score(self, runner: RunnerInputs, settings: Validation, book: RecordBook) -> Scored:
        race, person, gun = self.race, runner.person, runner.gun_ms
        crossings = runner.crossings

        def bind_alone(some: list[Crossing]) -> list[Passing]:
            return bind(race, gun, some, self.lines, [], self.span_ms)

        alone = None
        if two_chips(race, person):
            front, back = runner.by_chip[person.chip_front], runner.by_chip[person.chip_back or ""]
            alone = alone_passings(front, back, bind_alone)
            if apart(race, alone, settings) is not None:
                crossings = front  # the bib chip times the runner
        fastest = _fastest(person.sex, settings, book)
        binding = bind_all(
            race, gun, crossings, self.lines, runner.manual, self.span_ms, fastest, runner.prefer
        )
        result = runner_result(person, race, gun, binding.passings, runner.override, runner.closed)
        checked = runner.checked(race, result, binding.passings, alone)
        contradictions = tuple(
            Contradiction(race.points[i].id, m, c, counts)
            for i, m, c, counts in binding.contradictions
        )
        flags = validate(checked, settings, book)
        return Scored(result, flags, tuple(binding.unexplained), contradictions)

    def rank(self, results: list[Result]) -> list[Result]:
        return rank(results, self.race.ranking)


def _fastest(sex: str, settings: Validation, book: RecordBook) -> Fastest:
    """The fastest a runner of this sex may cover a length: record pace, Riegel-scaled,
    less the tolerance, as the pace check computes it."""

    def fastest(length_m: float) -> float:
        record = book.pace_reference(sex, length_m) if length_m > 0 else None
        return allowed_ms(record, length_m, settings)[1] if record is not None else 0.0

    return fastest


class Track:
    """Laps of one line (`timing/laps.py`): a distance race, or a timed one."""

    def __init__(
        self,
        race: Race,
        lines: dict[LineKey, list[int]],
        span_ms: int,
        min_lap_ms: int,
        tz: ZoneInfo,
    ) -> None:
        self.race, self.lines, self.span_ms = race, lines, span_ms
        self.min_lap_ms, self.tz = min_lap_ms, tz

    def score(self, runner: RunnerInputs, settings: Validation, book: RecordBook) -> Scored:
        race, person, gun = self.race, runner.person, runner.gun_ms

        def confirmed(code: str) -> frozenset[PointRef]:
            return frozenset(
                point
                for (c, point), d in runner.decisions.items()
                if c == code and d.status == "confirmed"
            )

        rule = LapRule(
            self.min_lap_ms,
            settings.riegel_exponent,
            gun + race.duration_ms if race.duration_ms is not None else None,
            confirmed(SHORT_LAP),
            confirmed(MISSED_LAP),
        )
        binding = bind_laps(
            race, gun, runner.crossings, self.lines, runner.manual, self.span_ms, rule, self.tz
        )
        result = lap_result(
            person, race, gun, binding, runner.override, runner.partial_m, runner.closed
        )
        checked = runner.checked(race, result, list(result.passings))
        flags = validate_laps(checked, binding, list(result.laps), settings, book)
        return Scored(result, flags)

    def rank(self, results: list[Result]) -> list[Result]:
        return rank_laps(results, self.race)


def kind_of(
    race: Race,
    lines: dict[LineKey, list[int]],
    span_ms: int,
    book: RecordBook,
    settings: Validation,
    tz: ZoneInfo,
) -> RaceKind:
    """The race's kind. A track's shortest lap is fixed for the engine's life: confirmed
    records of the event are never world records."""
    if race.kind == COURSE:
        return Course(race, lines, span_ms)
    return Track(race, lines, span_ms, min_lap_ms(race, book, settings), tz)
