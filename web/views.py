"""What the pages and the JSON API show, as plain data: one function per view.

Pages render these dicts with Jinja2; the API returns them as JSON; so the two agree.
A runner's status is read from their leaderboard row (`web.leaderboard`), the one
place that says whether a runner is on course.
"""

from __future__ import annotations

from typing import Any

from results.format import category_key, format_distance, format_short, matches, search_key
from results.pages import split_rows
from timing.config import Race
from timing.flags import public_flags
from timing.report import flag_json, result_json, state_json, state_text
from timing.results import Result
from timing.store import now_ms
from timing.times import format_duration, iso_local
from web.leaderboard import ON_COURSE, Row, columns, phone_keys, point_names
from web.live import LiveService
from web.progress import course_progress, next_point, projection, record_watch

SEARCH_LIMIT = 100


def event_view(live: LiveService) -> dict[str, Any]:
    event = live.folder.event
    races = []
    for race in event.races:
        rows = live.rows[race.id]
        races.append(
            {
                "id": race.id,
                "name": race.name,
                "distance_m": race.distance_m,
                "distance": format_distance(race.distance_m),
                "entrants": len(rows),
                "finished": sum(1 for r in rows if r["finished"]),
                "on_course": sum(1 for r in rows if r["status"] == ON_COURSE),
                "categories": sorted({r["category"] for r in rows}, key=category_key),
                "results_state": state_json(live.engine.state_of(race.id), event.timezone),
                "results_state_text": state_text(live.engine.state_of(race.id), event.timezone),
                "waves": [
                    {
                        "id": w.id,
                        "gun": iso_local(live.engine.wave_gun(race.id, w.id), event.timezone),
                    }
                    for w in race.waves
                ],
            }
        )
    return {"name": event.name, "date": event.date.isoformat(), "races": races}


def race_names(live: LiveService) -> dict[str, str]:
    return {race.id: race.name for race in live.folder.event.races}


def leaderboard_view(
    live: LiveService, race_id: str, category: str | None = None, sex: str | None = None
) -> dict[str, Any] | None:
    race = live.folder.event.race(race_id)
    if race is None:
        return None
    tz = live.folder.event.timezone
    every: list[Row] = live.rows[race_id]
    rows = [
        r for r in every if category in (None, "", r["category"]) and sex in (None, "", r["sex"])
    ]
    end_ms = None
    if race.duration_ms is not None:
        guns = [live.engine.wave_gun(race.id, w.id) for w in race.waves]
        end_ms = min(guns) + race.duration_ms
    return {
        "race": {
            "id": race.id,
            "name": race.name,
            "distance_m": race.distance_m,
            "laps": race.laps,
            "lap_m": race.lap_m,
            "timed": race.is_timed,
            "end_ms": end_ms,
            "results_state": state_json(live.engine.state_of(race.id), tz),
            "results_state_text": state_text(live.engine.state_of(race.id), tz),
        },
        "columns": columns(race),
        "phone": sorted(phone_keys(race)),
        "points": point_names(race),
        "category": category,
        "sex": sex,
        "categories": sorted({r["category"] for r in every}, key=category_key),
        "sexes": [s for s in ("F", "M", "X") if any(r["sex"] == s for r in every)],
        "seq": live.feeds[race_id].seq,
        "rows": rows,
        # A filtered board still follows the whole race's order (web/feeds.py).
        "order": [r["bib"] for r in every]
        if rows is not every and len(rows) < len(every)
        else None,
    }


def find_result(live: LiveService, bib: str) -> Result | None:
    for rr in live.results.races:
        for result in rr.results:
            if result.participant.bib == bib:
                return result
    return None


def find_row(live: LiveService, race_id: str, bib: str) -> Row | None:
    return next((r for r in live.rows.get(race_id, []) if r["bib"] == bib), None)


def athlete_view(live: LiveService, bib: str, director: bool = False) -> dict[str, Any] | None:
    result = find_result(live, bib)
    if result is None:
        return None
    race = live.folder.event.race(result.participant.race)
    assert race is not None  # every result belongs to a race of the event
    tz = live.folder.event.timezone
    data = result_json(result, tz)
    if not director:  # spectators see flags only as the director decided them
        data["flags"] = [flag_json(f, tz) for f in public_flags(result.flags)]
    row = find_row(live, race.id, bib)
    if row is not None:
        data["status"] = row["status"]
    data["race"] = race.id
    data["race_name"] = race.name
    data["seq"] = live.feeds[race.id].seq
    state = live.engine.state_of(race.id)
    data["results_state"] = state_json(state, live.folder.event.timezone)
    data["results_state_text"] = state_text(state, live.folder.event.timezone)
    data["projected"] = format_duration(result.projected_finish_ms)
    data["split_rows"] = [
        {**vars_of(s), "name": point_names(race).get(s.point, s.point)} for s in split_rows(result)
    ]
    data["progress"] = course_progress(race, result)
    data["record_watch"] = record_watch(live.engine.book, race, result)
    data["next"] = None
    exponent = live.folder.event.validation.riegel_exponent
    upcoming = next_point(race, result)
    if upcoming is not None and data["status"] == ON_COURSE and upcoming[0] < len(race.points) - 1:
        index, distance = upcoming
        data["next"] = {
            "name": point_names(race)[race.points[index].id],
            "at": projection(result, distance, exponent),
        }
    data["finish"] = (
        projection(result, race.distance_m, exponent)
        if data["status"] == ON_COURSE and not race.is_lap_race
        else None
    )
    return data


def vars_of(split: Any) -> dict[str, Any]:
    return {name: getattr(split, name) for name in split.__slots__}


def search_view(live: LiveService, query: str) -> list[Row]:
    """Runners whose name, bib or club holds every word of `query` (`results.format.matches`)."""
    if not query.strip():
        return []
    names = race_names(live)
    found = []
    for rows in live.rows.values():
        for row in rows:
            if matches(search_key(row["name"], row["bib"], row["club"]), query):
                found.append({**row, "race_name": names.get(row["race"], row["race"])})
    return found[:SEARCH_LIMIT]


def following_view(live: LiveService, bibs: list[str]) -> list[Row]:
    """The rows of the followed runners, in the order given."""
    names = race_names(live)
    by_bib = {row["bib"]: row for rows in live.rows.values() for row in rows}
    return [
        {**by_bib[b], "race_name": names.get(by_bib[b]["race"], "")} for b in bibs if b in by_bib
    ]


def announcer_view(live: LiveService, race_id: str) -> dict[str, Any] | None:
    """Runners past the last split before the finish, in predicted finish order, with
    the time still to the line, and the record alerts of the race."""
    race = live.folder.event.race(race_id)
    if race is None:
        return None
    head = {"id": race.id, "name": race.name, "seq": live.feeds[race.id].seq}
    rows = {r["bib"]: r for r in live.rows[race_id]}
    if race.is_lap_race:
        bell = [r for r in rows.values() if r.get("bell") and r["status"] == ON_COURSE]
        return {
            "race": head,
            "last_split": "the bell",
            "runners": [
                {
                    "bib": r["bib"],
                    "name": r["name"],
                    "club": r["club"],
                    "nation": r.get("nation", ""),
                    "category": r["category"],
                    "category_place": None,
                    "at": f"lap {r['laps']}",
                    "time": r["time"] or "",
                    "projected": r["last_lap"],
                    "to_line": "",
                }
                for r in bell
            ],
            "alerts": [],
        }
    last_split = race.points[-2].id if len(race.points) > 1 else None
    results = next((rr.results for rr in live.results.races if rr.race.id == race_id), [])
    running = [r for r in results if rows.get(r.participant.bib, {}).get("status") == ON_COURSE]
    coming = [c for r in running if (c := _coming(race, r, last_split)) is not None]
    coming.sort(key=lambda c: c["_sort"])
    finished = [r for r in results if r.status == "FIN" and r.chip_time_ms is not None]
    # The race's clock: the wall clock, or the latest crossing where reads run ahead of it
    # (a replayed or simulated race on a sped-up clock).
    now = max([now_ms(), *(r.passings[-1].time_ms for r in results if r.passings)])
    for c in coming:
        # Their place in category if they finish as expected: finishers and arrivals ahead.
        mine, when = c["category"], c["_sort"]
        ahead = sum(
            1 for r in finished if r.participant.category == mine and r.chip_time_ms < when
        ) + sum(1 for o in coming if o["category"] == mine and o["_sort"] < when)
        c["category_place"] = ahead + 1
        left = c["_clock"] - now
        c["to_line"] = "any moment" if left <= 0 else f"in {format_short(left)}"
    for c in coming:
        del c["_sort"], c["_clock"]
    return {
        "race": head,
        "last_split": point_names(race).get(last_split, last_split) if last_split else None,
        "runners": coming,
        "alerts": record_alerts(live, race, results),
    }


def _coming(race: Race, result: Result, last_split: str | None) -> dict[str, Any] | None:
    if result.finish_ms is not None or not result.splits:
        return None
    split = result.splits[-1]
    if split.point != last_split:
        return None
    projected = result.projected_finish_ms
    if projected is None:  # same pace as their last segment
        remaining = race.distance_m - split.distance_m
        before = result.splits[-2].distance_m if len(result.splits) > 1 else 0
        pace = split.segment_time_ms / max(split.distance_m - before, 1)
        projected = split.chip_time_ms + int(pace * remaining)
    p = result.participant
    return {
        "bib": p.bib,
        "name": p.name,
        "club": p.club,
        "nation": p.nation,
        "category": p.category,
        "at": point_names(race).get(split.point, split.point),
        "time": format_duration(split.chip_time_ms),
        "projected": format_duration(projected),
        "_sort": projected,
        "_clock": split.time_ms + projected - split.chip_time_ms,
    }


def record_alerts(live: LiveService, race: Race, results: list[Result]) -> list[str]:
    """Who is on record pace, and who has set or equalled a record, in words."""
    alerts = []
    for r in results:
        name = f"{r.participant.name} ({r.participant.bib})"
        for watch in record_watch(live.engine.book, race, r):
            alerts.append(f"{name} is on {watch['scope']}-record pace: {watch['against']}")
        for claim in r.records:
            if claim.beats:
                alerts.append(
                    f"{name} has {claim.verdict} the {claim.scope} record"
                    f" ({claim.claim or 'to be confirmed'})"
                )
    return alerts
