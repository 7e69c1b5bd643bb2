"""Downloads: results JSON (the replay contract) and CSV, per race and for the event.

The JSON of a race is the event's results JSON (`timing.report.results_json`) with
only that race in `races`; written as `retrotime replay --json` writes it. The CSV
is UTF-8 with a byte-order mark (spreadsheets then read the accents right), CRLF line
ends, ISO dates and times `H:MM:SS.s`, one column per timing point after the start.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from timing.config import Race
from timing.engine import RaceResults
from timing.report import claim_json
from timing.results import Result
from timing.times import format_duration, iso_local

# Cells a spreadsheet would run as a formula (OWASP "CSV injection"): such text gets a
# leading apostrophe, which spreadsheets show as text and do not display.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "race",
    "date",
    "place",
    "place_sex",
    "place_category",
    "bib",
    "name",
    "sex",
    "category",
    "club",
    "nation",
    "status",
    "chip_time",
    "gun_time",
    "finished_at",
)


def json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def race_json(event_json: dict[str, Any], race_id: str) -> dict[str, Any]:
    """The event's results JSON narrowed to one race (same keys, same order)."""
    return {
        key: [r for r in value if r["id"] == race_id] if key == "races" else value
        for key, value in event_json.items()
    }


def timed_points(race: Race, results: list[Result] | None = None) -> list[str]:
    """The split columns: each point after the start; in a lap race, each lap."""
    if race.is_lap_race:
        most = max((len(r.splits) for r in results or []), default=0)
        return [f"lap_{n}" for n in range(1, most + 1)]
    start = race.start_point
    return [p.id for p in race.points if p is not start]


def race_csv(rr: RaceResults, day: date, tz: ZoneInfo, public_flags: dict[str, str]) -> bytes:
    """`public_flags` maps a bib to the flag codes the public may see."""
    points = timed_points(rr.race, rr.results)
    laps = ["laps_completed", "distance_m"] if rr.race.is_lap_race else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*CSV_COLUMNS, *laps, *(f"split_{p}" for p in points), "flags", "records"])
    for r in rr.results:
        writer.writerow(_row(rr.race, r, day, tz, points, public_flags.get(r.bib, "")))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _row(
    race: Race, r: Result, day: date, tz: ZoneInfo, points: list[str], flags: str
) -> list[str]:
    p = r.participant
    if race.is_lap_race:
        at = {
            f"lap_{n}": format_duration(s.chip_time_ms) or ""
            for n, s in enumerate(r.splits, start=1)
        }
        laps = [_number(r.laps_completed), "" if r.distance_m is None else f"{r.distance_m:g}"]
    else:
        at = {s.point: format_duration(s.chip_time_ms) or "" for s in r.splits}
        laps = []
    finished = iso_local(r.finish_ms, tz) if r.finish_ms is not None else ""
    claims = [claim_json(x) for x in r.records]
    records = "; ".join(
        " ".join(str(x.get(k) or "") for k in ("scope", "verdict")).strip()
        for x in claims
        if x.get("scope")
    )
    return [
        race.id,
        day.isoformat(),
        _number(r.place),
        _number(r.place_sex),
        _number(r.place_category),
        _text(p.bib),
        _text(p.name),
        p.sex,
        _text(p.category),
        _text(p.club),
        _text(p.nation),
        r.status,
        format_duration(r.chip_time_ms) or "",
        format_duration(r.gun_time_ms) or "",
        finished,
        *laps,
        *(at.get(point, "") for point in points),
        flags,
        records,
    ]


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value
