"""The printable documents of an evidence pack, as typed data first.

What a record body asks of a time-based attempt (Guinness World Records' guidelines,
the IRR competition rules) and where each part comes from:

    cover_letter.html           when, where, who, what, how measured, incidents: filled
                                from the event, the result, the flags and the director's
                                decisions; the director completes the rest
    log_book.html               the chip splits, at most an hour apart, with the flags
                                at each point; gaps marked for the witnesses
    witness_statements.html     two forms (independent adult witnesses), pre-filled
    timekeeper_statements.html  two forms, pre-filled with the times and splits
    guide_declaration.html      who ran with the athlete (participants' `guides`),
                                facing which way
    video_sync.html             the chip time of each split, to align footage with

The course's sanction and certificate are keys of the race in event.toml (README,
"Evidence pack").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from results.evidence_logbook import LogEntry, SyncRow, clock, log_book, sync_rows
from results.record_lines import record_line
from timing.config import Race
from timing.engine import Engine
from timing.participants import Participant
from timing.results import Result
from timing.store import DirectorAction
from timing.times import format_duration

COURSE_KEYS = (
    ("sanctioning_body", "Sanctioned by"),
    ("sanction", "Sanction or permit"),
    ("certified_by", "Course measured and certified by"),
    ("certificate", "Course measurement certificate"),
    ("certificate_valid_until", "Certificate valid until"),
)
RULES = (
    "The athlete runs backwards the whole distance: toes pointing opposite the running "
    "direction at all times.",
    "No companion moves forwards with the athlete unless the organiser allows it; every "
    "guide or spotter is declared on the guide declaration.",
)


@dataclass(frozen=True, slots=True)
class Field:
    label: str
    value: str  # "" for a line the signatory fills in


@dataclass(frozen=True, slots=True)
class SplitLine:
    point: str
    distance: str
    clock: str
    chip_time: str
    segment: str


@dataclass(frozen=True, slots=True)
class Guide:
    bib: str
    name: str
    chips: str
    facing: str  # from participants.csv's `facing` column, else to be filled in
    crossings: int  # crossings of their chips the timing saw


@dataclass(frozen=True, slots=True)
class Documents:
    """What every document of the pack shows; each template takes the parts it needs."""

    generated: str
    generated_iso: str
    event: str
    date: str
    race: str
    distance: str
    athlete: tuple[Field, ...]
    result: tuple[Field, ...]
    course: tuple[Field, ...]
    measured: tuple[str, ...]
    incidents: tuple[str, ...]
    records: tuple[str, ...]
    splits: tuple[SplitLine, ...]
    log: tuple[LogEntry, ...]
    sync: tuple[SyncRow, ...]
    guides: tuple[Guide, ...]
    rules: tuple[str, ...]
    bib: str
    name: str
    start_clock: str
    finish_clock: str
    chip_time: str


def course_fields(race: Race) -> tuple[Field, ...]:
    """The race's sanction and course certificate from event.toml, empty where unset."""
    given = dict(race.course)
    return tuple(Field(label, given.get(key, "")) for key, label in COURSE_KEYS)


def documents_of(
    engine: Engine,
    result: Result,
    actions: Iterable[DirectorAction],
    generated_at: datetime,
) -> Documents:
    person = result.participant
    race = engine.race(person.race)
    event = engine.event
    tz = event.timezone
    chip_time = format_duration(result.chip_time_ms) or ""
    finish = clock(result.finish_ms, tz) if result.finish_ms is not None else ""
    places = (
        ("Place overall", result.place),
        (f"Place among {person.sex}", result.place_sex),
        (f"Place in {person.category}", result.place_category),
    )
    splits = tuple(
        SplitLine(e.point, e.distance, e.clock, e.elapsed, e.segment)
        for e in log_book(result, race, tz)
        if e.kind in ("start", "point")
    )
    return Documents(
        f"Generated {generated_at.isoformat(timespec='seconds')} by RetroTime.",
        generated_at.isoformat(timespec="seconds"),
        event.name,
        event.date.isoformat(),
        race.name,
        f"{race.distance_m / 1000:g} km",
        _athlete(person),
        (
            Field("Status", result.status),
            Field("Start (time of day)", clock(result.zero_ms, tz)),
            Field("Finish (time of day)", finish),
            Field("Chip time", chip_time),
            Field("Gun time", format_duration(result.gun_time_ms) or ""),
            *(Field(what, str(p)) for what, p in places if p is not None),
        ),
        course_fields(race),
        _measured(engine, race, person),
        _incidents(result, actions),
        tuple(record_line(r).text for r in result.records),
        splits,
        log_book(result, race, tz),
        sync_rows(result, race, tz),
        _guides(engine, person),
        RULES,
        person.bib,
        person.name,
        clock(result.zero_ms, tz),
        finish,
        chip_time,
    )


def _athlete(person: Participant) -> tuple[Field, ...]:
    return (
        Field("Name", person.name),
        Field("Bib", person.bib),
        Field("Sex", person.sex),
        Field("Date of birth", person.birth_date.isoformat() if person.birth_date else ""),
        Field("Age on race day", "" if person.age is None else str(person.age)),
        Field("Category", person.category),
        Field("Nation", person.nation),
        Field("Club", person.club),
    )


def _measured(engine: Engine, race: Any, person: Participant) -> tuple[str, ...]:
    """How the times were measured, in sentences the cover letter lists."""
    chips = "a front chip (on the bib) and a back chip" if person.chip_back else "one chip"
    lines = [
        f"RFID chip timing (RetroTime): the athlete wore {chips}; a time is a chip's "
        "crossing of a timing line, corrected for the reader's clock offset.",
        "Chip time runs from the athlete's start-mat crossing (the gun without one), gun "
        "time from the wave's gun; times are written H:MM:SS.s, tenths rounded down.",
    ]
    for point in race.points:
        kind = "a gate (two lines)" if point.is_gate else "a mat"
        panel = ", with an oncoming panel antenna" if point.oncoming else ""
        reader = engine.event.readers.get(point.reader)
        offset = f", clock offset {reader.clock_offset_s:+g} s" if reader else ""
        lines.append(
            f"Point {point.id} at {point.distance_m / 1000:g} km: {kind}{panel}, "
            f"reader {point.reader}{offset}."
        )
    return tuple(lines)


def _incidents(result: Result, actions: Iterable[DirectorAction]) -> tuple[str, ...]:
    found = []
    for f in result.flags:
        why = f", {f.decision.by}: {f.decision.reason}" if f.decision else ""
        found.append(f"{f.code} at {str(f.point) or '-'} ({f.status}{why})")
    for a in actions:
        found.append(f"Director's decision: {a.kind} on {a.target} by {a.who}: {a.reason}")
    return tuple(found)


def _guides(engine: Engine, athlete: Participant) -> tuple[Guide, ...]:
    found = []
    for p in sorted(engine.folder.participants, key=lambda p: p.bib):
        if not (p.is_spotter and p.guides == athlete.bib):
            continue
        crossings = sum(len(engine.chip_crossings(chip)) for chip in p.chips)
        facing = p.extra.get("facing", "").strip()
        found.append(Guide(p.bib, p.name, " ".join(p.chips), facing, crossings))
    return tuple(found)
