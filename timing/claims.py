"""Record claims: what a result does against the record book, and the record watch.

A finisher's result lists the applicable records it breaks, equals or comes within
`watch_margin` of, each with a claim: "pending review" until the director has reviewed
that record (confirmed it, one at a time, with no flag open), then "confirmed" for an
event, course or age-group record and "pending ratification" for a world or national
one (its record body decides). A runner on course gets the scopes of the records their
projected finish beats, once two splits or more project it and no flag is open.
Confirmed records become records of the book (`confirmed_records`), which the engine
re-reads until it settles.

Each record line is measured against the best ratified mark and lists the faster
reported or claimed marks beside it (`better_marks`): a claim is shown, never raced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from timing.config import Event, Race
from timing.records import LOCAL_SCOPES, SCOPES, Record, RecordBook, RecordClaim, verdict
from timing.results import Result


@dataclass(frozen=True, slots=True)
class RecordConfirmation:
    by: str
    at_ms: int
    reason: str
    scopes: tuple[str, ...] | None  # None: every local record the result breaks or equals

    @property
    def covers(self) -> tuple[str, ...]:
        return self.scopes if self.scopes is not None else SCOPES


def records_of(
    result: Result,
    race: Race,
    book: RecordBook,
    confirmation: RecordConfirmation | None,
    watch_margin: float,
) -> tuple[tuple[RecordClaim, ...], tuple[str, ...]]:
    """The result's record claims (a finisher) and the scopes it is on record pace for
    (on course)."""
    person = result.participant
    time_ms = result.rank_time(race.ranking)
    projected = result.projected_finish_ms
    if race.is_timed:
        return (), ()  # a distance in a time, not a time over a distance: no book row
    if (result.status != "FIN" or time_ms is None) and projected is None:
        return (), ()
    applicable = book.applicable(
        race.distance_m, person.sex, person.category, person.nation, exclude_bib=person.bib
    )
    if projected is not None:
        # "On record pace" only from a projection of two splits or more, none in doubt.
        along = [sp for sp in result.splits if 0 < sp.distance_m < race.distance_m]
        if len(along) >= 2 and not any(f.status == "open" for f in result.flags):
            scopes = (r.scope for r in applicable if projected < r.time_ms)
            return (), tuple(dict.fromkeys(scopes))
        return (), ()
    assert time_ms is not None
    claims = []
    for record in applicable:
        found = verdict(time_ms, record.time_ms, watch_margin)
        if found is None:
            continue
        claim = None
        if found != "within margin":
            # Pending review until the director has reviewed this very record.
            claim = "pending review"
            if confirmation is not None and record.scope in confirmation.covers:
                local = record.scope in LOCAL_SCOPES
                claim = "confirmed" if local else "pending ratification"
        better = tuple(book.better_marks(record))
        claims.append(RecordClaim(record, time_ms - record.time_ms, found, claim, better))
    return tuple(claims), ()


def confirmed_records(
    event: Event,
    races: Mapping[str, Race],
    results: Mapping[str, Result],
    confirmations: Mapping[str, RecordConfirmation],
    book: RecordBook,
) -> list[Record]:
    """The event, course and age-group records the director confirmed, as book rows."""
    found: list[Record] = []
    for bib, confirmation in sorted(confirmations.items()):
        result = results.get(bib)
        if result is None or result.status != "FIN":
            continue
        person = result.participant
        race = races[person.race]
        if race.is_timed:
            continue
        time_ms = result.rank_time(race.ranking)
        assert time_ms is not None
        scopes = [s for s in confirmation.covers if s in LOCAL_SCOPES]
        keys = {
            (c.record.scope, c.record.sex, c.record.category)
            for c in result.records
            if c.record.scope in scopes and c.beats
        }
        if confirmation.scopes is not None:
            mine = book.applicable(race.distance_m, person.sex, person.category, person.nation, bib)
            held = {c.scope for c in result.records} | {r.scope for r in mine}
            for scope in scopes:
                if scope not in held:  # the first record of its kind
                    category = person.category if scope == "age-group" else ""
                    keys.add((scope, person.sex, category))
        source = f"{event.name} results, confirmed by {confirmation.by}"
        for scope, sex, category in sorted(keys):
            found.append(
                Record(
                    scope,
                    race.distance_m,
                    sex,
                    category,
                    time_ms,
                    person.name,
                    person.nation,
                    event.date,
                    event.name,
                    source,
                    bib,
                    ratified_by=f"{event.name} race director",
                )
            )
    return found
