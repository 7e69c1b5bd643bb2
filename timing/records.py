"""`records.csv`: the record book a race is run against.

Columns: scope, distance_m, sex, category, time, holder, nation, date, venue, source.
Scopes: world, national, event, course, age-group. An empty sex or category means
the record applies to everyone.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from timing.errors import Problem
from timing.times import parse_duration

COLUMNS = (
    "scope",
    "distance_m",
    "sex",
    "category",
    "time",
    "holder",
    "nation",
    "date",
    "venue",
    "source",
)
SCOPES = ("world", "national", "event", "course", "age-group")


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


def load_records(path: Path) -> tuple[list[Record], list[Problem]]:
    file = path.name
    problems: list[Problem] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = csv.DictReader(handle)
        header = [h.strip() for h in rows.fieldnames or []]
        rows.fieldnames = header
        missing = [c for c in ("scope", "distance_m", "time") if c not in header]
        if missing:
            return [], [Problem(file, 1, "header", f"missing column(s): {', '.join(missing)}")]
        records = []
        for row in rows:
            record = _row(file, rows.line_num, row, problems)
            if record is not None:
                records.append(record)
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
        if distance <= 0:
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
    )
