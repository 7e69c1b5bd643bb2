"""The director's inputs to the engine: guns, statuses, manual passings, chips, flag
and record decisions, closed races, voided crossings, and the event clock.

`Engine` holds these beside the reads (it inherits `DirectorInputs`). Each setter marks
the runners it touches for recomputation. `reset_director` forgets every decision, so
an undo replays the journal's remaining actions onto a clean slate; `fork` gives a copy
that shares the reads, for previewing an action without applying it.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import TYPE_CHECKING

from timing.claims import RecordConfirmation
from timing.config import Race
from timing.flags import SHORT_LAP, Decision, DecisionError, FlagKey, check_code, flag_status
from timing.point_refs import PointRef, point_ref
from timing.records import SCOPES

if TYPE_CHECKING:
    from timing.engine import Engine

# Reads count towards the event clock only within this long after the first gun: a
# reader whose clock is months out must not close every race.
CLOCK_SPAN_MS = 24 * 3600 * 1000


class DirectorInputs:
    """The decision state of an engine; `_init_director` sets it up empty."""

    def _init_director(self: Engine) -> None:
        self.gun_override: dict[tuple[str, str], int] = {}
        self.status_override: dict[str, str] = {}
        self.manual: dict[str, list[tuple[int, int]]] = {}
        # (bib, point index) -> "manual" or "chip": which passing counts where the two
        # contradict; without a word, the one that fits the runner's times.
        self.prefer: dict[str, dict[int, str]] = {}
        self.decisions: dict[str, dict[FlagKey, Decision]] = {}  # bib -> flag -> decision
        self.confirmations: dict[str, RecordConfirmation] = {}  # bib -> record confirmation
        self.partials: dict[str, float] = {}  # bib -> a timed race's final part lap, m
        self.closed: dict[str, int] = {}  # race id -> when the director closed it
        # race id -> (live / provisional / official, since ms, protest window end ms)
        self.lifecycle: dict[str, tuple[str, int, int | None]] = {}
        self.voided: set[int] = set()  # read ids whose crossing the director voided
        self.extra_chips: dict[str, list[str]] = {}  # bib -> chips added beside its own
        self.skipped_actions: list[object] = []  # journalled actions that no longer apply
        self.final = False  # every race closed: a finished race's complete logs

    def reset_director(self: Engine) -> None:
        """Forget every decision: the participants' own chips, the configured guns."""
        self._init_director()
        self.people = {p.bib: p for p in self.folder.participants if not p.is_spotter}
        self.owner = {chip: p.bib for p in self.folder.participants for chip in p.chips}
        self._rebuild_unknown()
        self._dirty_bibs.update(self.people)

    def fork(self: Engine) -> Engine:
        """A copy that shares the reads: an action applied to it changes nothing here."""
        twin = copy.copy(self)
        for name in (
            "gun_override",
            "status_override",
            "confirmations",
            "partials",
            "closed",
            "lifecycle",
            "voided",
            "people",
            "owner",
            "crossings",
            "_dirty_keys",
            "_dirty_bibs",
            "_dirty_races",
            "_results",
            "_given",
            "_touched",
        ):
            setattr(twin, name, copy.copy(getattr(self, name)))
        twin.manual = {bib: list(v) for bib, v in self.manual.items()}
        twin.decisions = {bib: dict(v) for bib, v in self.decisions.items()}
        twin.prefer = {bib: dict(v) for bib, v in self.prefer.items()}
        twin.extra_chips = {bib: list(v) for bib, v in self.extra_chips.items()}
        twin.unknown = {chip: copy.deepcopy(u) for chip, u in self.unknown.items()}
        twin._ranked = {}  # results are values: the twin shares them until it ranks anew
        twin._dirty_races = set(self.races)
        return twin

    # ---- the event clock and closed races ----------------------------------------

    def set_clock(self: Engine, now_ms: int) -> None:
        """The event clock moves on (it never goes back): races whose cutoff it passes
        close, and their runners still on course become DNF."""
        if now_ms <= self.clock_ms:
            return
        before, self.clock_ms = self.clock_ms, now_ms
        self._cutoffs_passed(before, now_ms)

    def _cutoffs_passed(self: Engine, before: int, now: int) -> None:
        for race in self.event.races:
            if race.cutoff_ms is None:
                continue
            for wave in race.waves:
                gun = self.gun_override.get((race.id, wave.id), wave.gun_ms)
                if before < gun + race.cutoff_ms <= now:
                    self._dirty_bibs.update(
                        p.bib
                        for p in self.people.values()
                        if p.race == race.id and p.wave == wave.id
                    )

    def observe_clock(self: Engine, t: int) -> None:
        """A time the event has seen (a read, the service's clock on race day): it moves
        the event clock if it falls within a day of the first gun."""
        if t > self.clock_ms and t - self.first_gun_ms <= CLOCK_SPAN_MS:
            self.set_clock(t)

    def is_closed(self: Engine, race: Race, gun_ms: int) -> bool:
        """Closed by the director, by `final`, or by its cutoff on the event clock."""
        if self.final or race.id in self.closed:
            return True
        return race.cutoff_ms is not None and self.clock_ms >= gun_ms + race.cutoff_ms

    def close_race(self: Engine, race_id: str, at_ms: int, closed: bool = True) -> None:
        """The director closes a race (its runners on course become DNF) or reopens it."""
        if race_id not in self.races:
            raise DecisionError(f"unknown race {race_id!r}")
        if closed:
            self.closed[race_id] = at_ms
        else:
            self.closed.pop(race_id, None)
        self._dirty_bibs.update(p.bib for p in self.people.values() if p.race == race_id)

    def set_lifecycle(
        self: Engine, race_id: str, state: str, at_ms: int, window_end_ms: int | None = None
    ) -> None:
        """A race's results go live -> provisional (until the protest window ends) ->
        official; "live" again is a reopen."""
        if race_id not in self.races:
            raise DecisionError(f"unknown race {race_id!r}")
        if state == "live":
            self.lifecycle.pop(race_id, None)
        else:
            self.lifecycle[race_id] = (state, at_ms, window_end_ms)

    def state_of(self: Engine, race_id: str) -> tuple[str, int | None, int | None]:
        state = self.lifecycle.get(race_id)
        return state if state is not None else ("live", None, None)

    def set_final(self: Engine) -> None:
        self.final = True
        self._dirty_bibs.update(self.people)

    # ---- runners -----------------------------------------------------------------

    def set_gun(self: Engine, race_id: str, wave_id: str, gun_ms: int) -> None:
        self.gun_override[(race_id, wave_id)] = gun_ms
        self._dirty_bibs.update(
            p.bib for p in self.people.values() if p.race == race_id and p.wave == wave_id
        )

    def set_status(self: Engine, bib: str, status: str | None) -> None:
        """A director's DNS, DNF or DQ; None returns the runner to the computed status."""
        if status is None:
            self.status_override.pop(bib, None)
        else:
            self.status_override[bib] = status
        self._dirty_bibs.add(bib)

    def add_manual_passing(
        self: Engine, bib: str, point_id: str, time_ms: int, prefer: str | None = None
    ) -> None:
        """A passing from a backup stopwatch or a tap. `prefer` ("manual" or "chip") says
        which counts where a chip passing at the same point contradicts it."""
        race = self.races[self.people[bib].race]
        index = next(i for i, p in enumerate(race.points) if p.id == point_id)
        self.manual.setdefault(bib, []).append((index, time_ms))
        if prefer is not None:
            self.prefer.setdefault(bib, {})[index] = prefer
        self._dirty_bibs.add(bib)

    def void_crossing(self: Engine, chip: str, read_id: int) -> None:
        """The crossing holding this read is no passing (its raw reads stay)."""
        self.voided.add(read_id)
        bib = self.owner.get(chip)
        if bib is not None and bib in self.people:
            self._dirty_bibs.add(bib)

    def assign_chip(self: Engine, chip: str, bib: str, side: str = "front") -> None:
        """Give a chip to a bib (a swapped or spare chip); its reads now count. `side`
        front or back replaces the bib's chip there, whose reads go back to the unknown
        chips; "add" keeps the bib's chips and counts this one too."""
        person = self.people[bib]
        if side == "add":
            self.extra_chips.setdefault(bib, []).append(chip)
        else:
            old = person.chip_front if side == "front" else person.chip_back
            column = "chip_front" if side == "front" else "chip_back"
            self.people[bib] = replace(person, **{column: chip})
            if old and old != chip and self.owner.get(old) == bib:
                self.owner.pop(old, None)
                self._note_unknown_again(old)
        self.owner[chip] = bib
        self.unknown.pop(chip, None)
        self._dirty_bibs.add(bib)

    def chips_of(self: Engine, bib: str) -> tuple[str, ...]:
        person = self.people[bib]
        return (*person.chips, *self.extra_chips.get(bib, ()))

    def _note_unknown_again(self: Engine, chip: str) -> None:
        for line in sorted(self.chip_lines.get(chip, ())):
            for t, _rid, _rssi in self.buckets[(chip, line)]:
                self._note_unknown(chip, line[0], t)

    def _rebuild_unknown(self: Engine) -> None:
        self.unknown = {}
        for (chip, line), bucket in self.buckets.items():
            if chip not in self.owner:
                for t, _rid, _rssi in bucket:
                    self._note_unknown(chip, line[0], t)

    # ---- flags, records and laps -------------------------------------------------

    def decide_flag(
        self: Engine,
        bib: str,
        code: str,
        point: str | PointRef | None,
        status: str,
        by: str,
        reason: str = "",
        at_ms: int = 0,
    ) -> None:
        """A director's decision on the flag (bib, code, point): open, dismissed or
        confirmed (also "dismiss", "confirm", "dq", "reopen"). It is kept whether or not
        validation raises the flag now, and joins it whenever it does. `point` is the
        flag's point, or its text form ("10k", "track@10:23:45.6")."""
        if bib not in self.people:
            raise DecisionError(f"unknown bib {bib!r}")
        key = (check_code(code), point_ref(point))
        decision = Decision(flag_status(status), by, at_ms, reason)
        self.decisions.setdefault(bib, {})[key] = decision
        self._dirty_bibs.add(bib)

    def confirm_record(
        self: Engine,
        bib: str,
        by: str,
        reason: str = "",
        at_ms: int = 0,
        scopes: tuple[str, ...] | list[str] | None = None,
    ) -> None:
        """The director confirms a runner's record time. Event, course and age-group
        records it breaks or equals (or, with `scopes`, only those; a scope with no
        record yet is set by it) enter the record book; world and national claims stay
        pending ratification by their record body. Confirmations of one bib add up."""
        if bib not in self.people:
            raise DecisionError(f"unknown bib {bib!r}")
        if scopes is not None:
            bad = [s for s in scopes if s not in SCOPES]
            if bad:
                raise DecisionError(f"unknown record scope(s) {bad} (scopes: {', '.join(SCOPES)})")
        chosen = tuple(scopes) if scopes is not None else None
        earlier = self.confirmations.get(bib)
        if chosen is not None and earlier is not None and earlier.scopes is not None:
            chosen = (*earlier.scopes, *(s for s in chosen if s not in earlier.scopes))
        self.confirmations[bib] = RecordConfirmation(by, at_ms, reason, chosen)
        self._dirty_bibs.add(bib)

    def withdraw_record(self: Engine, bib: str) -> None:
        """Undo `confirm_record`: the runner's record leaves the book."""
        self.confirmations.pop(bib, None)
        self._dirty_bibs.add(bib)

    def confirm_lap(
        self: Engine,
        bib: str,
        point: str | PointRef,
        by: str,
        reason: str,
        at_ms: int = 0,
        counted: bool = True,
    ) -> None:
        """The director's word on a SHORT_LAP crossing (`point` is its flag's point,
        "track@10:23:45.6"): a lap after all (`counted`: the lap before it was a stray
        read, say), or not (the flag is dismissed). The same as `decide_flag` on the
        SHORT_LAP flag; `timing.actions.check` asks for the reason."""
        self._lap_race_of(bib)
        status = "confirmed" if counted else "dismissed"
        self.decide_flag(bib, SHORT_LAP, point, status, by, reason, at_ms)

    def set_partial(self: Engine, bib: str, metres: float | None) -> None:
        """A timed race's final part lap: how far past the last counted crossing the
        runner got when the time ran out, to the metre; None takes it away."""
        race = self._lap_race_of(bib)
        if not race.is_timed or race.lap_m is None:
            raise DecisionError(f"race {race.id!r} is not a timed race")
        if metres is None:
            self.partials.pop(bib, None)
        else:
            whole = round(metres)
            if isinstance(metres, bool) or not 0 <= whole < race.lap_m:
                raise DecisionError(f"a final part lap is 0 to {race.lap_m:g} m, not {metres!r}")
            self.partials[bib] = float(whole)
        self._dirty_bibs.add(bib)

    def _lap_race_of(self: Engine, bib: str) -> Race:
        person = self.people.get(bib)
        if person is None:
            raise DecisionError(f"unknown bib {bib!r}")
        race = self.races[person.race]
        if not race.is_lap_race:
            raise DecisionError(f"race {race.id!r} is not a lap race")
        return race
