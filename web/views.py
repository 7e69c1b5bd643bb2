"""What the pages and the JSON API show, as plain data: one function per view.

Pages render these dicts with Jinja2; the API returns them as JSON; so the two agree.
"""

from __future__ import annotations

from typing import Any

from timing.report import result_json, state_json, state_text
from timing.results import Result
from timing.times import format_duration, iso_local
from web.leaderboard import Row, columns
from web.live import LiveService


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
                "entrants": len(rows),
                "finished": sum(1 for r in rows if r["finished"]),
                "on_course": sum(1 for r in rows if r["status"] == "RUN"),
                "categories": sorted({r["category"] for r in rows}),
                "results_state": state_json(live.engine.state_of(race.id), event.timezone),
                "results_state_text": state_text(live.engine.state_of(race.id), event.timezone),
                "waves": [
                    {
                        "id": w.id,
                        "gun": iso_local(
                            live.engine.gun_override.get((race.id, w.id), w.gun_ms), event.timezone
                        ),
                    }
                    for w in race.waves
                ],
            }
        )
    return {"name": event.name, "date": event.date.isoformat(), "races": races}


def leaderboard_view(
    live: LiveService, race_id: str, category: str | None = None
) -> dict[str, Any] | None:
    race = live.folder.event.race(race_id)
    if race is None:
        return None
    tz = live.folder.event.timezone
    rows: list[Row] = live.rows[race_id]
    if category:
        rows = [r for r in rows if r["category"] == category]
    end_ms = None
    if race.duration_ms is not None:
        guns = [live.engine.gun_override.get((race.id, w.id), w.gun_ms) for w in race.waves]
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
        "category": category,
        "seq": live.feeds[race_id].seq,
        "rows": rows,
    }


def find_result(live: LiveService, bib: str) -> Result | None:
    for rr in live.results.races:
        for result in rr.results:
            if result.participant.bib == bib:
                return result
    return None


def athlete_view(live: LiveService, bib: str, director: bool = False) -> dict[str, Any] | None:
    result = find_result(live, bib)
    if result is None:
        return None
    data = result_json(result)
    if not director:  # spectators see flags only as the director decided them
        data["flags"] = [f for f in data["flags"] if f.get("status") == "confirmed"]
    data["race"] = result.participant.race
    state = live.engine.state_of(result.participant.race)
    data["results_state"] = state_json(state, live.folder.event.timezone)
    data["results_state_text"] = state_text(state, live.folder.event.timezone)
    data["projected"] = format_duration(result.projected_finish_ms)
    return data


def search_view(live: LiveService, query: str) -> list[Row]:
    needle = query.strip().casefold()
    if not needle:
        return []
    found = []
    for rows in live.rows.values():
        for row in rows:
            if row["bib"] == needle or needle in row["name"].casefold():
                found.append(row)
    return found[:100]


def announcer_view(live: LiveService, race_id: str) -> dict[str, Any] | None:
    """Runners past the last split before the finish, in predicted finish order."""
    race = live.folder.event.race(race_id)
    if race is None:
        return None
    if race.is_lap_race:
        bell = [r for r in live.rows[race_id] if r.get("bell") and r["status"] == "RUN"]
        return {
            "race": {"id": race.id, "name": race.name},
            "last_split": "the bell",
            "runners": [
                {
                    "bib": r["bib"],
                    "name": r["name"],
                    "category": r["category"],
                    "at": f"lap {r['laps']}",
                    "time": r["time"] or "",
                    "projected": r["last_lap"],
                }
                for r in bell
            ],
        }
    last_split = race.points[-2].id if len(race.points) > 1 else None
    coming = []
    for rr in live.results.races:
        if rr.race.id != race_id:
            continue
        for result in rr.results:
            if result.finish_ms is not None or not result.splits:
                continue
            split = result.splits[-1]
            if split.point != last_split:
                continue
            projected = result.projected_finish_ms
            if projected is None:  # same pace as their last segment
                remaining = race.distance_m - split.distance_m
                pace = split.segment_time_ms / max(
                    split.distance_m
                    - (result.splits[-2].distance_m if len(result.splits) > 1 else 0),
                    1,
                )
                projected = split.chip_time_ms + int(pace * remaining)
            coming.append(
                {
                    "bib": result.participant.bib,
                    "name": result.participant.name,
                    "category": result.participant.category,
                    "at": split.point,
                    "time": format_duration(split.chip_time_ms),
                    "projected": format_duration(projected),
                    "_sort": projected,
                }
            )
    coming.sort(key=lambda c: c["_sort"])
    for c in coming:
        del c["_sort"]
    return {"race": {"id": race.id, "name": race.name}, "last_split": last_split, "runners": coming}
