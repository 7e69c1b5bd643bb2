"""`records.csv`: the record book a race is run against.

Columns: scope, distance_m, sex, category, time, holder, nation, date, venue, source,
and the optional status, ratified_by and supersedes (files without them still load:
their rows are ratified). Scopes: world, national, event, course, age-group. An empty
sex or category means the record applies to everyone; a national record applies to
runners of its nation.

A mark's status is `ratified` (by a record body, named in `ratified_by`), `reported`
(by a federation or reliable press) or `claimed` (by the athlete or organiser, not
confirmed). Of the marks of one scope, distance, sex and category, the record a race
is measured against is the best ratified one (else the best reported, else the best
claimed); the faster marks of lower status are listed beside it (`better_marks`).

The book is the shipped world bests (`timing/data/world_bests.csv`) with the event's
records.csv over them: an event row replaces a shipped row of the same scope,
distance, sex and category (and nation, for national records) and adds the rest.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from timing.errors import Problem
from timing.textfile import read_text
from timing.times import format_duration, parse_duration

WORLD_BESTS = Path(__file__).with_name("data") / "world_bests.csv"
LOCAL_SCOPES = ("event", "course", "age-group")  # a director confirms these from results

SCOPES = ("world", "national", "event", "course", "age-group")
STATUSES = ("ratified", "reported", "claimed")  # strongest first


@dataclass(frozen=True, slots=True)
class Record:
    scope: str
    distance_m: float
    sex: str
    category: str
    time_ms: int
    holder: str
    nation: str
    date: date | None
    venue: str
    source: str
    bib: str = ""  # set for a record confirmed from this event's own results
    status: str = "ratified"  # ratified, reported or claimed
    ratified_by: str = ""  # the record body, for a ratified mark
    supersedes: str = ""  # the marks it bettered, "3:43:39 Xu Zhenjun 2004; ..."

    @property
    def rank(self) -> tuple[int, int]:
        """Ratified before reported before claimed, then the faster."""
        return (STATUSES.index(self.status), self.time_ms)


@dataclass(frozen=True, slots=True)
class RecordClaim:
    """What one result does against one record of the book (`timing/claims.py`)."""

    record: Record
    margin_ms: int  # the result's time less the record's: below 0 is faster
    verdict: str  # broken, equalled or within margin
    claim: str | None  # pending review, confirmed, pending ratification; None if near only
    better: tuple[Record, ...] = ()  # faster marks of lower status, beside the record

    @property
    def scope(self) -> str:
        return self.record.scope

    @property
    def beats(self) -> bool:
        """Broken or equalled: a claim for the director to review."""
        return self.verdict in ("broken", "equalled")


def load_records(path: Path) -> tuple[list[Record], list[Problem]]:
    file = path.name
    text, problems = read_text(path, utf16=True)
    if text is None:
        return [], problems
    rows = csv.DictReader(io.StringIO(text, newline=""))
    records = []
    try:
        header = [h.strip() for h in rows.fieldnames or []]
        rows.fieldnames = header
        missing = [c for c in ("scope", "distance_m", "time") if c not in header]
        if missing:
            return [], [Problem(file, 1, "header", f"missing column(s): {', '.join(missing)}")]
        for row in rows:
            record = _row(file, rows.line_num, row, problems)
            if record is not None:
                records.append(record)
    except csv.Error as exc:  # a field over the csv module's limit (131,072 characters)
        line = rows.reader.line_num  # DictReader.line_num is not advanced on an error
        problems.append(Problem(file, line, "-", f"{exc}; the rows after it not read"))
    return records, problems


def _row(
    file: str, line: int, row: dict[str, str | None], problems: list[Problem]
) -> Record | None:
    value = {k: (v or "").strip() for k, v in row.items() if k is not None}
    before = len(problems)

    def bad(column: str, message: str) -> None:
        problems.append(Problem(file, line, column, message))

    if value["scope"] not in SCOPES:
        bad("scope", f"{value['scope']!r} must be one of {', '.join(SCOPES)}")
    try:
        distance = float(value["distance_m"])
        if not 0 < distance <= 1_000_000:  # also refuses nan and inf
            raise ValueError
    except ValueError:
        bad("distance_m", f"{value['distance_m']!r} is not a distance in metres")
        distance = 0.0
    sex = value.get("sex", "").upper()
    if sex not in ("", "F", "M", "X"):
        bad("sex", f"{value['sex']!r} must be F, M, X or empty")
    try:
        time_ms = parse_duration(value["time"])
    except ValueError as exc:
        bad("time", str(exc))
        time_ms = 0
    status = value.get("status", "").lower() or "ratified"
    if status not in STATUSES:
        bad("status", f"{value['status']!r} must be one of {', '.join(STATUSES)} or empty")
    when = None
    if value.get("date"):
        try:
            when = date.fromisoformat(value["date"])
        except ValueError:
            bad("date", f"{value['date']!r} is not an ISO date")
    if len(problems) > before:
        return None
    return Record(
        value["scope"],
        distance,
        sex,
        value.get("category", ""),
        time_ms,
        value.get("holder", ""),
        value.get("nation", ""),
        when,
        value.get("venue", ""),
        value.get("source", ""),
        status=status,
        ratified_by=value.get("ratified_by", ""),
        supersedes=value.get("supersedes", ""),
    )


def load_world_bests() -> list[Record]:
    records, problems = load_records(WORLD_BESTS)
    assert not problems, problems  # a shipped file: tests hold it valid
    return records


def _key(record: Record) -> tuple[str, float, str, str, str]:
    nation = record.nation if record.scope == "national" else ""
    return (record.scope, round(record.distance_m), record.sex, record.category, nation)


def merge_records(defaults: Iterable[Record], event: Iterable[Record]) -> list[Record]:
    """The event's records over the defaults (same scope, distance, sex, category)."""
    mine = list(event)
    replaced = {_key(r) for r in mine}
    return [r for r in defaults if _key(r) not in replaced] + mine


def same_distance(a: float, b: float) -> bool:
    """Distances equal to 0.1 % (a half marathon of 21097.5 m or 21100 m)."""
    return abs(a - b) <= max(1.0, 0.001 * max(a, b))


def riegel_ms(time_ms: float, from_m: float, to_m: float, exponent: float) -> float:
    """The same effort over another distance: T2 = T1 x (D2/D1)^exponent."""
    return time_ms * (to_m / from_m) ** exponent


class RecordBook:
    """The records a race is run against, and the record pace the pace check uses."""

    def __init__(self, records: Iterable[Record]) -> None:
        self.records = tuple(records)
        self._pace: dict[tuple[str, int, int | None], Record | None] = {}

    def applicable(
        self,
        distance_m: float,
        sex: str,
        category: str,
        nation: str,
        exclude_bib: str = "",
    ) -> list[Record]:
        """The best record of each scope, sex and category that a runner races against."""
        best: dict[tuple[str, float, str, str, str], Record] = {}
        for r in self.records:
            if not same_distance(r.distance_m, distance_m) or r.sex not in ("", sex):
                continue
            if r.category not in ("", category) or (r.bib and r.bib == exclude_bib):
                continue
            if r.scope == "national" and r.nation and r.nation != nation:
                continue
            key = _key(r)
            if key not in best or r.rank < best[key].rank:
                best[key] = r
        order = {"world": 0, "national": 1, "event": 2, "course": 3, "age-group": 4}
        return sorted(best.values(), key=lambda r: (order.get(r.scope, 9), r.sex, r.category))

    def better_marks(self, record: Record) -> list[Record]:
        """The marks of the record's scope, distance, sex and category faster than it,
        of lower status (reported or claimed beside a ratified record), fastest first."""
        key = _key(record)
        return sorted(
            (
                r
                for r in self.records
                if r is not record
                and _key(r) == key
                and r.time_ms < record.time_ms
                and r.rank[0] > record.rank[0]
            ),
            key=lambda r: r.time_ms,
        )

    def pace_reference(
        self, sex: str, distance_m: float, duration_ms: int | None = None
    ) -> Record | None:
        """The world record the pace checks scale from: the runner's sex where the book
        has one, at the record distance nearest the race's `distance_m` (a timed race,
        `duration_ms`: the distance whose record time is nearest the race's duration),
        and there the record the race is measured against (`RecordBook.applicable`)."""
        cache_key = (sex, round(distance_m), duration_ms)
        if cache_key not in self._pace:
            world = [r for r in self.records if r.scope == "world" and not r.category]
            mine = [r for r in world if r.sex == sex] or world

            def far(r: Record) -> float:
                if duration_ms is not None:
                    return abs(math.log(r.time_ms / duration_ms))
                return abs(math.log(r.distance_m / distance_m))

            nearest = min(mine, key=far, default=None)
            self._pace[cache_key] = (
                None
                if nearest is None
                else min(
                    (r for r in mine if same_distance(r.distance_m, nearest.distance_m)),
                    key=lambda r: r.rank,
                )
            )
        return self._pace[cache_key]


def verdict(time_ms: int, record_ms: int, watch_margin: float) -> str | None:
    """broken / equalled (at the written tenth) / within margin, or None if further off."""
    if time_ms // 100 < record_ms // 100:
        return "broken"
    if time_ms // 100 == record_ms // 100:
        return "equalled"
    if time_ms <= record_ms * (1 + watch_margin):
        return "within margin"
    return None


def margin_text(margin_ms: int) -> str:
    """A margin as `-0:00:12.3` (faster), `+0:01:02.0` (slower) or `0:00:00.0`."""
    text = format_duration(abs(margin_ms)) or ""
    return ("-" if margin_ms < 0 else "+" if margin_ms > 0 else "") + text


def mark_text(record: Record) -> str:
    """A mark beside the record, e.g. `claimed 3:25:24 by Guillaume de Lustrac,
    Saint-Paul-lès-Romans 2023`."""
    where = " ".join(x for x in (record.venue, str(record.date.year) if record.date else "") if x)
    text = f"{record.status} {format_duration(record.time_ms)}"
    text += f" by {record.holder}" if record.holder else ""
    return f"{text}, {where}" if where else text
