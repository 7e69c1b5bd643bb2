"""What the director's console shows, as plain data: the page and the JSON API agree."""

from __future__ import annotations

import json
from typing import Any

from timing.times import iso_local
from web.live import LiveService


def dashboard_data(live: LiveService) -> dict[str, Any]:
    tz = live.folder.event.timezone
    health = []
    for h in live.health.values():
        info = h.health
        health.append(
            {
                "reader": h.reader,
                "connected": h.connected,
                "agent_version": h.agent_version,
                "last_message": iso_local(h.last_message_ms, tz) if h.last_message_ms else None,
                "reads": h.reads,
                "quarantined": info.get("quarantined", h.quarantined),
                "reads_per_min": info.get("reads_per_min"),
                "backlog": info.get("backlog"),
                "clock_offset_ms": info.get("clock_offset_ms"),
                "reader_offset_ms": info.get("reader_offset_ms"),
                "last_read": iso_local(info["last_read_ms"], tz)
                if info.get("last_read_ms")
                else None,
                "source_connected": info.get("source_connected"),
            }
        )
    crossings = [{**c, "time": iso_local(c["time_ms"], tz)} for c in list(live.crossings)[:50]]
    unknown = [
        {
            "chip": u.chip,
            "reads": u.reads,
            "first_seen": iso_local(u.first_ms, tz),
            "last_seen": iso_local(u.last_ms, tz),
            "readers": sorted(u.readers),
        }
        for u in live.results.unknown_chips
    ]
    claims = [
        {"bib": r.participant.bib, "name": r.participant.name, "race": rr.race.id, **record}
        for rr in live.results.races
        for r in rr.results
        for record in r.records
        if record.get("verdict") in ("broken", "equalled")
    ]
    flags = [
        {"bib": r.participant.bib, "name": r.participant.name, **f}
        for rr in live.results.races
        for r in rr.results
        for f in r.flags
    ]
    races = [
        {
            "id": race.id,
            "name": race.name,
            "waves": [w.id for w in race.waves],
            "points": [p.id for p in race.points],
        }
        for race in live.folder.event.races
    ]
    return {
        "health": health,
        "crossings": crossings,
        "unknown_chips": unknown,
        "flags": flags,
        "claims": claims,
        "races": races,
        "quarantined_total": live.store.count_quarantined(),
    }


def audit_data(live: LiveService) -> list[dict[str, Any]]:
    tz = live.folder.event.timezone
    return [
        {
            "id": a.id,
            "at": iso_local(a.at_ms, tz),
            "who": a.who,
            "kind": a.kind,
            "target": a.target,
            "payload": json.loads(a.payload),
            "reason": a.reason,
        }
        for a in reversed(live.store.actions())
    ]
