"""summary.html of an evidence pack: the human-readable account, as typed data first."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from results.pages import record_line, split_rows
from results.site import environment
from timing.config import Race
from timing.engine import Engine
from timing.report import flag_json
from timing.results import Result
from timing.store import DirectorAction, RawRead
from timing.times import format_duration, iso_local


@dataclass(frozen=True, slots=True)
class ReadGroup:
    points: str  # e.g. "10k/upstream", or "-" where the antenna times no point of the race
    reader: str
    antennas: str
    chip_side: str
    reads: int
    first: str
    last: str
    peak_rssi: str


@dataclass(frozen=True, slots=True)
class FlagEntry:
    code: str
    point: str
    status: str
    confidence: str
    evidence: str
    decision: str


@dataclass(frozen=True, slots=True)
class DecisionEntry:
    at: str
    who: str
    kind: str
    target: str
    payload: str
    reason: str


@dataclass(frozen=True, slots=True)
class EvidenceSummary:
    event: str
    date: str
    generated: str
    race: str
    distance: str
    bib: str
    name: str
    sex: str
    category: str
    club: str
    nation: str
    chips: tuple[tuple[str, str], ...]  # (side, chip)
    status: str
    chip_time: str
    gun_time: str
    places: tuple[tuple[str, str], ...]
    splits: tuple[Any, ...]  # results.pages.SplitRow
    read_groups: tuple[ReadGroup, ...]
    reads: int
    crossings: int
    flags: tuple[FlagEntry, ...]
    decisions: tuple[DecisionEntry, ...]
    offsets: tuple[tuple[str, str], ...]  # (reader, "+1.2 s") of readers that read the bib
    record_lines: tuple[str, ...]


def summary_of(
    engine: Engine,
    result: Result,
    race: Race,
    reads: list[RawRead],
    side: dict[str, str],
    roles: dict[tuple[str, int], list[str]],
    actions: Iterable[DirectorAction],
    generated_at: datetime,
) -> EvidenceSummary:
    person = result.participant
    tz = engine.event.timezone
    offsets = engine.offsets
    groups: dict[tuple[str, str, str], list[RawRead]] = {}
    for r in reads:
        points = " ".join(roles.get((r.reader_id, r.antenna), [])) or "-"
        groups.setdefault((points, r.reader_id, side.get(r.chip, r.chip)), []).append(r)
    read_groups = []
    for (points, reader, chip_side), members in groups.items():
        times = [m.time_ms + offsets.get(reader, 0) for m in members]
        rssi = [m.rssi for m in members if m.rssi is not None]
        read_groups.append(
            ReadGroup(
                points,
                reader,
                " ".join(str(a) for a in sorted({m.antenna for m in members})),
                chip_side,
                len(members),
                iso_local(min(times), tz),
                iso_local(max(times), tz),
                f"{max(rssi):g}" if rssi else "",
            )
        )
    read_groups.sort(key=lambda g: (g.first, g.points, g.chip_side))
    places = (
        ("overall", result.place),
        (f"among {person.sex}", result.place_sex),
        (f"in {person.category}", result.place_category),
    )
    seen_readers = sorted({r.reader_id for r in reads})
    return EvidenceSummary(
        engine.event.name,
        engine.event.date.isoformat(),
        f"Evidence pack generated {generated_at.isoformat(timespec='seconds')} by RetroTime.",
        race.name,
        f"{race.distance_m / 1000:g} km",
        person.bib,
        person.name,
        person.sex,
        person.category,
        person.club,
        person.nation,
        tuple((s, c) for c, s in side.items()),
        result.status,
        format_duration(result.chip_time_ms) or "",
        format_duration(result.gun_time_ms) or "",
        tuple((what, str(p)) for what, p in places if p is not None),
        split_rows(result),
        tuple(read_groups),
        len(reads),
        sum(len(p.crossings) for p in result.passings),
        tuple(_flag(flag_json(f, engine.event.timezone)) for f in result.flags),
        tuple(_decision(a) for a in actions),
        tuple(
            (rid, f"{engine.event.readers[rid].clock_offset_s:+g} s")
            for rid in seen_readers
            if rid in engine.event.readers
        ),
        tuple(record_line(x).text for x in result.records),
    )


def _flag(flag: dict[str, Any]) -> FlagEntry:
    return FlagEntry(
        str(flag.get("code") or ""),
        str(flag.get("point") or ""),
        str(flag.get("status") or ""),
        "" if flag.get("confidence") is None else str(flag.get("confidence")),
        compact(flag.get("evidence")),
        compact(flag.get("decision")),
    )


def _decision(action: DirectorAction) -> DecisionEntry:
    data = action_json(action)
    return DecisionEntry(
        data["at"],
        action.who,
        action.kind,
        action.target,
        compact(data["payload"]),
        action.reason,
    )


def action_json(action: DirectorAction) -> dict[str, Any]:
    try:
        payload: Any = json.loads(action.payload or "{}")
    except ValueError:
        payload = action.payload
    return {
        "id": action.id,
        "at": datetime.fromtimestamp(action.at_ms / 1000, UTC).isoformat(timespec="milliseconds"),
        "who": action.who,
        "kind": action.kind,
        "target": action.target,
        "payload": payload,
        "reason": action.reason,
    }


def compact(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def render_summary(summary: EvidenceSummary, files: list[str]) -> bytes:
    template = environment().get_template("evidence.html")
    return template.render(page=summary, files=files).encode("utf-8")
