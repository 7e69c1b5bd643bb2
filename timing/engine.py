"""The engine: raw reads and director actions in, ranked results out.

One engine serves live timing and replay. Reads go into per-(chip, line) buckets;
`results()` recomputes only what the reads since the last call touched: the
crossings of those buckets, the passings and results of their runners, the places
of their races. Fed one read at a time or all at once, it ends in the same state,
because every derived value is a function of the buckets' sorted contents.

Each runner's result carries the validation flags (with the director's decisions on
them), the records it breaks, equals or comes within `watch_margin` of, and, while on
course, a projected finish. Records the director confirms from the event's own results
join the record book for everyone else (`confirm_record`).

A snapshot handed out never changes (`timing/snapshot.py`); a runner whose result comes
out the same keeps the previous snapshot's object. Code outside the engine asks its
questions (`owner_of`, `gun_of`, ...: `timing/questions.py`), not its dicts.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import replace

from timing.claims import confirmed_records, records_of
from timing.crossings import BucketRead, Crossing, LineKey, cluster
from timing.directing import CLOCK_SPAN_MS, DirectorInputs
from timing.flags import decided_flags
from timing.folder import EventFolder
from timing.kinds import RunnerInputs, Scored, kind_of
from timing.participants import Participant
from timing.passings import antenna_lines, race_lines
from timing.projection import project_ms
from timing.questions import EngineQuestions
from timing.reads import ReadRow
from timing.records import Record, RecordBook, load_world_bests, merge_records
from timing.results import Result
from timing.snapshot import EventResults, RaceResults, UnknownChip
from timing.validation import skipped_checks


class Engine(DirectorInputs, EngineQuestions):
    def __init__(self, folder: EventFolder, passing_span_ms: int = 30_000) -> None:
        self.folder = folder
        self.event = folder.event
        self.window_ms = self.event.dedupe_window_ms
        self.span_ms = max(passing_span_ms, self.window_ms)
        self.offsets = {r.id: r.clock_offset_ms for r in self.event.readers.values()}
        self.people = {p.bib: p for p in folder.participants if not p.is_spotter}
        self.spotters = {p.bib: p for p in folder.participants if p.is_spotter}
        self.races = {r.id: r for r in self.event.races}
        self.lines_by_race = {r.id: race_lines(r) for r in self.event.races}
        self.line_of = antenna_lines(self.event.races)
        self.point_order = {
            r.id: {p.id: i for i, p in enumerate(r.points)} for r in self.event.races
        }
        self.owner: dict[str, str] = {}  # chip -> bib
        for person in folder.participants:
            for chip in person.chips:
                self.owner[chip] = person.bib
        self.buckets: dict[tuple[str, LineKey], list[BucketRead]] = {}
        self.chip_lines: dict[str, set[LineKey]] = {}
        self.crossings: dict[tuple[str, LineKey], list[Crossing]] = {}
        self.unknown: dict[str, UnknownChip] = {}
        self.read_count = 0
        # Director actions (kept as given; the store journals them with who/when/why).
        self._init_director()
        self.first_gun_ms = min((w.gun_ms for r in self.event.races for w in r.waves), default=0)
        self.clock_ms = 0  # the event clock: the latest read, or the time it was set to
        defaults = load_world_bests() if self.event.world_bests else []
        self.base_records = merge_records(defaults, folder.records)
        self.book = RecordBook(self.base_records)
        self.kinds = {
            r.id: kind_of(
                r,
                self.lines_by_race[r.id],
                self.span_ms,
                self.book,
                self.event.validation,
                self.event.timezone,
            )
            for r in self.event.races
        }
        self.min_lap_ms = {  # a track's shortest lap that counts (full lap)
            rid: kind.min_lap_ms for rid, kind in self.kinds.items() if kind.min_lap_ms is not None
        }
        self._event_records: list[Record] = []  # confirmed from this event's results
        self._dirty_keys: set[tuple[str, LineKey]] = set()
        self._dirty_bibs: set[str] = set(self.people)
        self._dirty_races: set[str] = set(self.races)
        self._results: dict[str, Result] = {}
        self._ranked: dict[str, list[Result]] = {}
        self._given: dict[str, Result] = {}  # bib -> the Result the last results() gave
        self._touched: set[str] = set()  # bibs whose Result may differ from _given
        self._crossing_count = 0  # of all chips, voided ones too

    # ---- input -------------------------------------------------------------------

    def add_reads(self, rows: list[ReadRow]) -> None:
        """Journalled reads, in any order and any batch size."""
        buckets, line_of, offsets = self.buckets, self.line_of, self.offsets
        dirty = self._dirty_keys
        latest = self.clock_ms
        for rid, reader, chip, antenna, time_ms, rssi in rows:
            line = line_of.get((reader, antenna))
            if line is None:
                line = (reader, (antenna,))  # an antenna no point uses: kept, never timed
            key = (chip, line)
            t = time_ms + offsets.get(reader, 0)
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = [(t, rid, rssi)]
                self.chip_lines.setdefault(chip, set()).add(line)
            elif bucket[-1][0] < t or (bucket[-1][0] == t and bucket[-1][1] < rid):
                bucket.append((t, rid, rssi))
            else:
                insort(bucket, (t, rid, rssi), key=lambda r: (r[0], r[1]))
            dirty.add(key)
            if t > latest:
                latest = t
            if chip not in self.owner:
                self._note_unknown(chip, reader, t)
        self.read_count += len(rows)
        self._observe_reads(rows, latest)

    def _observe_reads(self, rows: list[ReadRow], latest: int) -> None:
        """The event clock follows the reads (a read far off the event day is ignored)."""
        if latest <= self.clock_ms:
            return
        if latest - self.first_gun_ms <= CLOCK_SPAN_MS:
            self.set_clock(latest)
            return
        offsets = self.offsets
        for _rid, reader, _chip, _antenna, time_ms, _rssi in rows:
            self.observe_clock(time_ms + offsets.get(reader, 0))

    def _note_unknown(self, chip: str, reader: str, t: int) -> None:
        seen = self.unknown.get(chip)
        if seen is None:
            seen = self.unknown[chip] = UnknownChip(chip, first_ms=t, last_ms=t)
        seen.reads += 1
        seen.first_ms = min(seen.first_ms, t)
        seen.last_ms = max(seen.last_ms, t)
        seen.readers.add(reader)

    # ---- output ------------------------------------------------------------------

    def _by_chip(self, person: Participant) -> tuple[dict[str, list[Crossing]], list[Crossing]]:
        """A runner's crossings by chip, and all of them (added chips included)."""
        chips = self.chips_of(person.bib)
        by_chip = {chip: self.chip_crossings(chip) for chip in chips}
        return by_chip, [c for chip in chips for c in by_chip[chip]]

    def results(self) -> EventResults:
        """Bring everything the inputs since the last call touched up to date; say which
        runners' results changed since the last call."""
        self._update()
        changed: dict[str, set[str]] = {}
        given, current = self._given, self._results
        for bib in self._touched:
            result = current[bib]
            if result is not given.get(bib):
                changed.setdefault(result.participant.race, set()).add(bib)
                given[bib] = result
        self._touched.clear()
        return EventResults(
            [
                RaceResults(
                    race,
                    self._ranked.get(race.id, []),
                    skipped_checks(race, self.book),
                    self.kinds[race.id].min_lap_ms,
                    self.state_of(race.id),
                    frozenset(changed.get(race.id, ())),
                )
                for race in self.event.races
            ],
            sorted((u.copy() for u in self.unknown.values()), key=lambda u: u.chip),
            self.read_count,
            self._crossing_count,
        )

    def result_of(self, bib: str) -> Result | None:
        """One runner's result, up to date (what `results()` says changed stays to say)."""
        self._update()
        return self._results.get(bib)

    def _update(self) -> None:
        for key in self._dirty_keys:
            chip, line = key
            found = cluster(chip, line, self.buckets[key], self.window_ms)
            self._crossing_count += len(found) - len(self.crossings.get(key, ()))
            self.crossings[key] = found
            bib = self.owner.get(chip)
            if bib is not None and bib in self.people:  # spotters have no result
                self._dirty_bibs.add(bib)
        self._dirty_keys.clear()
        for bib in self._dirty_bibs:
            person = self.people[bib]
            self._results[bib] = self._runner(person)
            self._dirty_races.add(person.race)
        self._touched |= self._dirty_bibs
        self._dirty_bibs.clear()
        self._settle_records()
        for race_id in self._dirty_races:
            mine = [r for r in self._results.values() if r.participant.race == race_id]
            self._ranked[race_id] = self._keep(self.kinds[race_id].rank(mine))
        self._dirty_races.clear()

    def _keep(self, ranked: list[Result]) -> list[Result]:
        """The results as they stand, each the previous snapshot's object if equal to it."""
        given, current, touched = self._given, self._results, self._touched
        kept = []
        for result in ranked:
            bib = result.participant.bib
            before = given.get(bib)
            if result is not before:  # recomputed or placed anew: the same after all?
                if result == before:
                    result = before
                if result is not current[bib]:
                    current[bib] = result
                    touched.add(bib)
            kept.append(result)
        return kept

    def _runner(self, person: Participant) -> Result:
        by_chip, crossings = self._by_chip(person)
        gun = self.gun_ms(person)
        race = self.races[person.race]
        bib = person.bib
        override = self.status_override.get(bib)
        runner = RunnerInputs(
            person,
            gun,
            by_chip,
            crossings,
            self.manual.get(bib, []),
            self.prefer.get(bib),
            self.decisions.get(bib, {}),
            override,
            self.partials.get(bib),
            self.is_closed(race, gun),
            self._read_times,
        )
        scored = self.kinds[race.id].score(runner, self.event.validation, self.book)
        return self._finish(scored, override)

    def _finish(self, scored: Scored, override: str | None) -> Result:
        """The result with its flags (a confirmed `dq_on` code is a DQ), its projected
        finish while on course, and its records."""
        result, flags = scored.result, scored.flags
        unexplained, contradictions = scored.unexplained, scored.contradictions
        race = self.races[result.participant.race]
        decisions = self.decisions.get(result.bib, {})
        decided = decided_flags(flags, decisions, self.point_order[race.id])
        status = result.status
        confirmed = {f.code for f in decided if f.status == "confirmed"}
        if override is None and confirmed & set(self.event.dq_on):
            status = "DQ"
        projected = None
        if status == "RUN" and not race.is_timed:
            exponent = self.event.validation.riegel_exponent
            projected = project_ms(result.splits, race.distance_m, exponent)
            if projected is not None and race.ranking == "gun":
                projected += result.zero_ms - result.gun_ms
        if (status, decided, unexplained, contradictions, projected) != (
            result.status,
            result.flags,
            result.unexplained,
            result.contradictions,
            result.projected_finish_ms,
        ):
            result = replace(
                result,
                status=status,
                flags=decided,
                unexplained=unexplained,
                contradictions=contradictions,
                projected_finish_ms=projected,
            )
        return self._with_records(result)

    def _read_times(self, crossing: Crossing) -> list[int]:
        bucket = self.buckets.get((crossing.chip, crossing.line), [])
        lo = bisect_left(bucket, crossing.first_ms, key=lambda r: r[0])
        hi = bisect_right(bucket, crossing.last_ms, key=lambda r: r[0])
        ids = set(crossing.read_ids)
        return [t for t, rid, _rssi in bucket[lo:hi] if rid in ids]

    # ---- records -------------------------------------------------------------------

    def _with_records(self, result: Result) -> Result:
        """The result with its records against the book as it stands (itself if the
        same)."""
        race = self.races[result.participant.race]
        confirmation = self.confirmations.get(result.bib)
        records, pace = records_of(result, race, self.book, confirmation, self.event.watch_margin)
        if records == result.records and pace == result.on_record_pace:
            return result
        return replace(result, records=records, on_record_pace=pace)

    def _settle_records(self) -> None:
        """Put confirmed records of this event into the book until it stops changing
        (a confirmed record changes what the others are measured against)."""
        for _ in range(5):
            records = confirmed_records(
                self.event, self.races, self._results, self.confirmations, self.book
            )
            if records == self._event_records:
                return
            self._event_records = records
            self.book = RecordBook([*self.base_records, *records])
            for bib, result in self._results.items():
                again = self._with_records(result)
                if again is not result:
                    self._results[bib] = again
                    self._touched.add(bib)
            self._dirty_races.update(self.races)
