"""The director's console: login, reader health, crossings, unknown chips, flags,
manual passings, wave starts, DNS/DNF/DQ and the audit log. Pages and a JSON API
over the same actions; every action is journalled with who, when and why."""

from __future__ import annotations

import json
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, ValidationException
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Template

from timing.actions import ActionError
from timing.store import now_ms
from timing.times import iso_local, local_ms, parse_time_of_day
from web.auth import refused_logins
from web.live import LiveService

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _live(request: Request) -> LiveService:
    return request.app.state.live


def _is_director(request: Request) -> bool:
    return bool(request.session.get("director"))


def _require(request: Request) -> None:
    if not _is_director(request):
        raise NotAuthorizedException("director login required")


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
            "at": iso_local(a.at_ms, tz),
            "who": a.who,
            "kind": a.kind,
            "target": a.target,
            "payload": json.loads(a.payload),
            "reason": a.reason,
        }
        for a in reversed(live.store.actions())
    ]


@get("/director", name="director")
async def dashboard(request: Request, msg: FromQuery[str | None] = None) -> Template | Redirect:
    if not _is_director(request):
        return Redirect("/director/login")
    return Template(
        "director/dashboard.html",
        context={"d": dashboard_data(_live(request)), "msg": msg, "error": None},
    )


@get("/director/audit", name="audit")
async def audit(request: Request) -> Template | Redirect:
    if not _is_director(request):
        return Redirect("/director/login")
    return Template(
        "director/audit.html",
        context={"actions": audit_data(_live(request)), "logins": refused_logins(request)},
    )


def to_action(live: LiveService, kind: str, data: dict[str, Any]) -> tuple[str, str, dict]:
    """A form or JSON body as (action kind, target, payload); ValueError if malformed."""
    event = live.folder.event

    def when(text: str | None) -> int:
        if not text:
            return now_ms()
        return local_ms(event.date, parse_time_of_day(text), event.timezone)

    bib = str(data.get("bib", "")).strip()
    if kind == "assign-chip":
        return (
            "assign_chip",
            bib,
            {"chip": str(data.get("chip", "")).strip(), "side": data.get("side") or "front"},
        )
    if kind == "manual-passing":
        if not data.get("time"):
            raise ValueError("give the passing's time of day, e.g. 10:41:07.3")
        return "manual_passing", bib, {"point": data.get("point"), "time_ms": when(data["time"])}
    if kind == "wave-start":
        if data.get("wave_key"):  # the form's "race/wave" choice
            data = {
                **data,
                **dict(zip(("race", "wave"), str(data["wave_key"]).split("/", 1), strict=False)),
            }
        return (
            "gun",
            f"{data.get('race')}/{data.get('wave')}",
            {"race": data.get("race"), "wave": data.get("wave"), "time_ms": when(data.get("time"))},
        )
    if kind == "status":
        status = str(data.get("status", "")).upper()
        return "status", bib, {"status": "" if status == "CLEAR" else status}
    if kind == "partial":
        metres = str(data.get("metres", "")).strip()
        if metres and not metres.isdigit():
            raise ValueError(f"metres must be a whole number (got {metres!r})")
        return "partial", bib, {"metres": int(metres) if metres else None}
    if kind == "record":
        return "record", bib, {"decision": data.get("decision") or "confirm"}
    if kind == "flag":
        return (
            "flag",
            bib,
            {
                "code": data.get("code"),
                "point": data.get("point") or None,
                "status": data.get("decision"),
            },
        )
    raise ValueError(f"unknown action {kind!r}")


async def _act(request: Request, kind: str, data: dict[str, Any]) -> None:
    live = _live(request)
    reason = str(data.get("reason", "")).strip()
    try:
        action, target, payload = to_action(live, kind, data)
        await live.act(str(request.session.get("director")), action, target, payload, reason)
        if kind == "flag" and data.get("decision") == "dq":
            await live.act(
                str(request.session.get("director")), "status", target, {"status": "DQ"}, reason
            )
    except (ActionError, ValueError) as exc:
        raise ValidationException(str(exc)) from exc


@post("/director/{kind:str}", status_code=200)
async def form_action(request: Request, kind: FromPath[str], data: Form) -> Template | Redirect:
    if not _is_director(request):
        return Redirect("/director/login")
    try:
        await _act(request, kind, data)
    except ValidationException as exc:
        return Template(
            "director/dashboard.html",
            status_code=400,
            context={"d": dashboard_data(_live(request)), "msg": None, "error": exc.detail},
        )
    return Redirect(f"/director?msg=done:+{kind}")


@get("/api/director/dashboard")
async def api_dashboard(request: Request) -> dict[str, Any]:
    _require(request)
    return dashboard_data(_live(request))


@get("/api/director/audit")
async def api_audit(request: Request) -> list[dict[str, Any]]:
    _require(request)
    return audit_data(_live(request))


@post("/api/director/{kind:str}", status_code=200)
async def api_action(
    request: Request, kind: FromPath[str], data: JSONBody[dict[str, Any]]
) -> dict[str, str]:
    _require(request)
    await _act(request, kind, data)
    return {"status": "ok"}


DIRECTOR_ROUTES = [
    dashboard,
    audit,
    form_action,
    api_dashboard,
    api_audit,
    api_action,
]
