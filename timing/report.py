"""The results JSON (a public contract) and the summary a replay ends with.

The engine's values (results, flags, decisions, record claims) become JSON here and
in the pages that show them, nowhere inside the engine."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from timing.config import Race
from timing.engine import EventResults
from timing.flags import Decision, RunnerFlag
from timing.records import Record, RecordClaim, margin_text, mark_text
from timing.results import Result
from timing.times import format_duration, iso_local


def results_json(
    event_name: str,
    results: EventResults,
    quarantined: int,
    tz: Any,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    when = generated_at or datetime.now(UTC)
    return {
        "event": event_name,
        "generated_at": when.isoformat(timespec="seconds"),
        "races": [
            {
                "id": rr.race.id,
                "name": rr.race.name,
                "distance_m": rr.race.distance_m,
                **race_laps_json(rr.race, rr.min_lap_ms),
                "skipped_checks": [{"code": s.code, "reason": s.reason} for s in rr.skipped_checks],
                "results_state": state_json(rr.state, tz),
                "results": [result_json(r, tz) for r in rr.results],
            }
            for rr in results.races
        ],
        "unknown_chips": [
            {
                "chip": u.chip,
                "reads": u.reads,
                "first_seen": iso_local(u.first_ms, tz),
                "last_seen": iso_local(u.last_ms, tz),
                "readers": sorted(u.readers),
            }
            for u in results.unknown_chips
        ],
        "quarantined_lines": quarantined,
    }


def state_json(state: tuple[str, int | None, int | None], tz: Any) -> dict[str, Any]:
    """A race's results lifecycle: live, provisional (until the protest window ends) or
    official, with when it was declared."""
    name, since, until = state
    return {
        "state": name,
        "since": iso_local(since, tz) if since is not None else None,
        "protest_window_end": iso_local(until, tz) if until is not None else None,
    }


def state_text(state: tuple[str, int | None, int | None], tz: Any) -> str:
    """The lifecycle as a page says it: "Provisional results (protests until 14:30)"."""
    name, since, until = state
    if name == "live":
        return "Live results: they change as runners finish and the director decides"
    at = f" since {iso_local(since, tz)[11:16]}" if since is not None else ""
    if name == "provisional":
        window = f", protests until {iso_local(until, tz)[11:16]}" if until is not None else ""
        return f"Provisional results{at}{window}"
    return f"Official results{at}"


def result_json(r: Result, tz: Any) -> dict[str, Any]:
    """One runner's result; `tz` gives the times of the director's decisions."""
    p = r.participant
    return {
        "bib": p.bib,
        "name": p.name,
        "sex": p.sex,
        "category": p.category,
        "club": p.club,
        "nation": p.nation,
        "status": r.status,
        "gun_time": format_duration(r.gun_time_ms),
        "chip_time": format_duration(r.chip_time_ms),
        "place": r.place,
        "place_sex": r.place_sex,
        "place_category": r.place_category,
        "splits": [
            {
                "point": s.point,
                "distance_m": s.distance_m,
                "chip_time": format_duration(s.chip_time_ms),
                "segment_time": format_duration(s.segment_time_ms),
                "pace_min_per_km": s.pace_min_per_km,
            }
            | ({"manual": True} if s.manual else {})
            for s in r.splits
        ],
        "flags": [flag_json(f, tz) for f in r.flags],
        "records": [claim_json(c) for c in r.records],
        "projected_finish": format_duration(r.projected_finish_ms),
        "on_record_pace": list(r.on_record_pace),
        **laps_json(r),
    }


def race_laps_json(race: Race, min_lap_ms: int | None) -> dict[str, Any]:
    """A lap race's own keys (none for a road race): laps, lap_m, duration and the
    min_lap_s in force (given, or derived from the records)."""
    if not race.is_lap_race:
        return {}
    return {
        "laps": race.laps,
        "lap_m": race.lap_m,
        "duration": format_duration(race.duration_ms),
        "min_lap_s": min_lap_ms / 1000 if min_lap_ms is not None else None,
    }


def laps_json(r: Result) -> dict[str, Any]:
    """A lap race result's additions (none on the road): the counted laps and what the
    live leaderboard shows of them."""
    if r.laps_completed is None:
        return {}
    return {
        "laps": [
            {
                "lap": lap.number,
                "at": lap.clock,
                "distance_m": lap.distance_m,
                "chip_time": format_duration(lap.chip_time_ms),
                "lap_time": format_duration(lap.lap_time_ms),
                "pace_min_per_km": lap.pace_min_per_km,
            }
            | ({"manual": True} if lap.manual else {})
            | ({"confirmed": True} if lap.confirmed else {})
            | ({"inferred": True} if lap.inferred else {})
            for lap in r.laps
        ],
        "laps_completed": r.laps_completed,
        "laps_to_go": r.laps_to_go,
        "last_lap": format_duration(r.last_lap_ms),
        "laps_behind": r.laps_behind,
        "lapped": r.lapped,
        "distance_m": r.distance_m,
        "final_partial_m": r.final_partial_m,
    }


def flag_json(flag: RunnerFlag, tz: Any) -> dict[str, Any]:
    return {
        "code": flag.code,
        "point": str(flag.point),
        "status": flag.status,
        "confidence": flag.confidence,
        "evidence": dict(flag.evidence),
        "decision": decision_json(flag.decision, tz) if flag.decision else None,
    }


def decision_json(decision: Decision, tz: Any) -> dict[str, Any]:
    return {"by": decision.by, "at": iso_local(decision.at_ms, tz), "reason": decision.reason}


def claim_json(claim: RecordClaim | Mapping[str, Any]) -> dict[str, Any]:
    """A record a result breaks, equals or comes near, with the claim on it (a claim in
    its JSON form already, as a results.json read back holds it, stays as it is)."""
    if not isinstance(claim, RecordClaim):
        return dict(claim)
    record = claim.record
    return {
        "scope": record.scope,
        "distance_m": record.distance_m,
        "sex": record.sex,
        "category": record.category,
        "nation": record.nation,
        "time": format_duration(record.time_ms),
        "holder": record.holder,
        "date": record.date.isoformat() if record.date else None,
        "venue": record.venue,
        "source": record.source,
        "status": record.status,
        "ratified_by": record.ratified_by,
        "supersedes": record.supersedes,
        "better_marks": [mark_json(r) for r in claim.better],
        "margin_ms": claim.margin_ms,
        "margin": margin_text(claim.margin_ms),
        "verdict": claim.verdict,
        "claim": claim.claim,
    }


def mark_json(record: Record) -> dict[str, Any]:
    return {
        "time": format_duration(record.time_ms),
        "holder": record.holder,
        "nation": record.nation,
        "date": record.date.isoformat() if record.date else None,
        "venue": record.venue,
        "status": record.status,
        "ratified_by": record.ratified_by,
        "source": record.source,
        "text": mark_text(record),
    }
