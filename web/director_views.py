"""What the director's console shows, as plain data: the page and the JSON API agree."""

from __future__ import annotations

import json
from typing import Any

from readers.counts import LineCounts
from timing.actions import in_effect
from timing.preview import point_label
from timing.report import claim_json, flag_json
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
                "lines": _accounted(info),
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
    results = [(rr.race, r) for rr in live.results.races for r in rr.results]
    claims = [
        {"bib": r.participant.bib, "name": r.participant.name, "race": race.id, **claim_json(c)}
        for race, r in results
        for c in r.records
        if c.beats
    ]
    flags = [
        {
            "bib": r.participant.bib,
            "name": r.participant.name,
            **flag_json(f, tz),
            "where": point_label(race, str(f.point)) if str(f.point) else race.name,
            "evidence_text": evidence_words(dict(f.evidence)),
        }
        for race, r in results
        for f in r.flags
    ]
    unexplained = [
        {
            "bib": r.participant.bib,
            "name": r.participant.name,
            "time": iso_local(c.time_ms, tz)[11:21],
            "reader": c.line[0],
            "chip": c.chip,
            "read_id": c.read_ids[0] if c.read_ids else None,
        }
        for _race, r in results
        for c in r.unexplained
    ]
    contradictions = [
        {
            "bib": r.participant.bib,
            "name": r.participant.name,
            "where": point_label(race, c.point),
            "point": f"{race.id}/{c.point}",
            "manual": iso_local(c.manual_ms, tz)[11:21],
            "chip": iso_local(c.chip_ms, tz)[11:21],
            "counts": c.counts,
        }
        for race, r in results
        for c in r.contradictions
    ]
    races = [
        {
            "id": race.id,
            "name": race.name,
            "closed": live.engine.is_race_closed(race.id),
            "state": live.engine.state_of(race.id)[0],
            "waves": [
                {
                    "value": f"{race.id}/{w.id}",
                    "label": f"{race.name} · wave {w.id} (gun {gun_of(live, race.id, w)})",
                }
                for w in race.waves
            ],
            "points": [
                {"value": f"{race.id}/{p.id}", "label": point_label(race, p.id)}
                for p in race.points
            ],
        }
        for race in live.folder.event.races
    ]
    return {
        "health": health,
        "crossings": crossings,
        "unknown_chips": unknown,
        "flags": flags,
        "claims": claims,
        "unexplained": unexplained,
        "contradictions": contradictions,
        "races": races,
        "skipped_actions": [
            {"id": a.id, "kind": a.kind, "target": a.target, "reason": a.reason}
            for a in live.engine.skipped_actions
        ],
        "quarantined_total": live.store.count_quarantined(),
    }


def gun_of(live: LiveService, race_id: str, wave: Any) -> str:
    gun = live.engine.wave_gun(race_id, wave.id)
    return iso_local(gun, live.folder.event.timezone)[11:19]


def evidence_words(evidence: dict[str, Any]) -> str:
    """A flag's evidence as words: "front chip 14 reads, peak -52 dBm; back chip 3
    reads, peak -61 dBm; front chip before back chip at the mat by 0.31 s"."""
    words = []
    for key, value in evidence.items():
        if key == "panel" and isinstance(value, dict):
            for side, seen in value.items():
                if isinstance(seen, dict):
                    peak = seen.get("peak_rssi")
                    at = f", peak {peak:g} dBm" if isinstance(peak, int | float) else ""
                    words.append(f"{side} chip {seen.get('reads', 0)} reads{at}")
        elif key == "mat_peak_order" and isinstance(value, list):
            for order in value:
                if isinstance(order, dict) and isinstance(order.get("by_ms"), int | float):
                    first = order.get("first", "")
                    other = "back" if first == "front" else "front"
                    words.append(
                        f"{first} chip before {other} chip at the {order.get('line', '')} line "
                        f"by {order['by_ms'] / 1000:.2f} s"
                    )
        elif isinstance(value, dict):
            inner = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items())
            words.append(f"{key.replace('_', ' ')}: {inner}")
        elif isinstance(value, list):
            words.append(f"{key.replace('_', ' ')} {', '.join(str(v) for v in value)}")
        elif isinstance(value, bool):
            words.append(key.replace("_", " ") if value else f"not {key.replace('_', ' ')}")
        else:
            words.append(f"{key.replace('_', ' ')} {value}")
    return "; ".join(words)


def audit_data(live: LiveService) -> list[dict[str, Any]]:
    tz = live.folder.event.timezone
    journal = live.store.actions()
    effective = {a.id for a in in_effect(journal)}
    return [
        {
            "id": a.id,
            "at": iso_local(a.at_ms, tz),
            "time": iso_local(a.at_ms, tz)[11:19],
            "who": a.who,
            "kind": a.kind,
            "target": a.target,
            "payload": json.loads(a.payload),
            "reason": a.reason,
            "in_effect": a.id in effective,
        }
        for a in reversed(journal)
    ]


def _accounted(info: dict[str, Any]) -> str | None:
    """Every line the agent read from its reader, accounted for: reads + replies/status +
    quarantined (from the agent's own counts; None until an agent reports them)."""
    lines, reads, bad = (info.get(k) for k in ("source_lines", "source_reads",
                                                "source_quarantined"))  # fmt: skip
    if not all(isinstance(n, int) for n in (lines, reads, bad)):
        return None
    return str(LineCounts(reads=reads, replies=lines - reads - bad, quarantined=bad))
