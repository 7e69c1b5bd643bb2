"""What the engine answers about its event: a chip's owner, a wave's gun, a runner's race.

Code outside the engine asks these instead of reading the engine's dicts, so the
director's changes (an assigned chip, a moved gun) are always in the answer.
`Engine` inherits `EngineQuestions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from timing.config import Race
from timing.crossings import Crossing, LineKey
from timing.participants import Participant

if TYPE_CHECKING:
    from timing.engine import Engine


class EngineQuestions:
    def gun_ms(self: Engine, person: Participant) -> int:
        race = self.races[person.race]
        wave = race.wave(person.wave)
        assert wave is not None  # checked when the folder was loaded
        return self.gun_override.get((race.id, wave.id), wave.gun_ms)

    def wave_gun(self: Engine, race_id: str, wave_id: str) -> int:
        """The wave's gun: the director's, else the configured one."""
        race = self.races[race_id]
        wave = race.wave(wave_id)
        assert wave is not None, (race_id, wave_id)
        return self.gun_override.get((race_id, wave_id), wave.gun_ms)

    def gun_of(self: Engine, bib: str) -> int | None:
        """The gun of the runner's wave (None for a bib with no result)."""
        person = self.people.get(bib)
        return self.gun_ms(person) if person is not None else None

    def owner_of(self: Engine, chip: str) -> str | None:
        """The bib the chip times (a spotter's bib too), or None for an unknown chip."""
        return self.owner.get(chip)

    def person(self: Engine, bib: str) -> Participant | None:
        """The runner of a bib, with the chips the director assigned (no spotters)."""
        return self.people.get(bib)

    def race(self: Engine, race_id: str) -> Race:
        """A race of the event (KeyError for an id it has not)."""
        return self.races[race_id]

    def race_of(self: Engine, bib: str) -> Race:
        """The race a runner is entered in (KeyError for a bib with no result)."""
        return self.races[self.people[bib].race]

    def is_race_closed(self: Engine, race_id: str) -> bool:
        """Closed by the director (a cutoff closes a race's runners, not the race)."""
        return race_id in self.closed

    def crossings_at(self: Engine, chip: str, line: LineKey) -> list[Crossing]:
        """The chip's crossings of one line, voided ones included."""
        return self.crossings.get((chip, line), [])

    def chip_crossings(self: Engine, chip: str) -> list[Crossing]:
        """The chip's crossings the director did not void."""
        found: list[Crossing] = []
        voided = self.voided
        for line in sorted(self.chip_lines.get(chip, ())):
            for crossing in self.crossings.get((chip, line), ()):
                if not voided or voided.isdisjoint(crossing.read_ids):
                    found.append(crossing)
        return found
