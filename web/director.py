"""The director's console: reader health, crossings, unknown chips, flags,
manual passings, wave starts, DNS/DNF/DQ and the audit log. Pages and a JSON API
over the same actions; every action is journalled with who, when and why."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body as BodyParam
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Response, Template

from timing.actions import ActionError
from timing.review import Question
from web.auth import refused_logins
from web.director_actions import (
    AssignChip,
    Body,
    CloseRace,
    FlagDecision,
    Lifecycle,
    ManualPassing,
    Partial,
    RecordDecision,
    SetStatus,
    Tap,
    Undo,
    VoidCrossing,
    WaveStart,
    from_form,
    perform,
    taps_data,
)
from web.director_live import console_data
from web.director_views import audit_data, dashboard_data
from web.live import LiveService

Answer = Response[dict[str, Any]]
# Besides 200 (applied, or a preview) and 400 (refused, with the field named):
ACTION_RESPONSES = {
    409: ResponseSpec(
        dict[str, Any],
        generate_examples=False,
        description="Not applied yet: a wide action waiting for confirm (its preview), "
        "or a question to answer (field and choices)",
    ),
    401: ResponseSpec(None, description="No director session"),
}
Form = Annotated[dict[str, str], BodyParam(media_type=RequestEncodingType.URL_ENCODED)]


def _live(request: Request) -> LiveService:
    return request.app.state.live


def _is_director(request: Request) -> bool:
    return bool(request.session.get("director"))


def _who(request: Request) -> str:
    return str(request.session.get("director"))


def _require(request: Request) -> None:
    if not _is_director(request):
        raise NotAuthorizedException("director login required")


@get("/director", name="director")
async def dashboard(request: Request, msg: FromQuery[str | None] = None) -> Template | Redirect:
    if not _is_director(request):
        return Redirect("/director/login")
    return Template(
        "director/dashboard.html",
        context={"d": console_data(_live(request)), "msg": msg, "error": None},
    )


@get("/director/audit", name="audit")
async def audit(request: Request) -> Template | Redirect:
    if not _is_director(request):
        return Redirect("/director/login")
    return Template(
        "director/audit.html",
        context={"actions": audit_data(_live(request)), "logins": refused_logins(request)},
    )


def _answer_page(request: Request, kind: str, form: dict[str, str], answer: dict) -> Template:
    """A preview waiting for the director's confirmation, or a question to answer."""
    fields = {k: v for k, v in form.items() if k not in ("_csrf_token", "confirm", "preview")}
    return Template(
        "director/confirm.html",
        context={"kind": kind, "fields": fields, "a": answer},
    )


@post("/director/{kind:str}", status_code=200)
async def form_action(request: Request, kind: FromPath[str], data: Form) -> Template | Redirect:
    if not _is_director(request):
        return Redirect("/director/login")
    try:
        body = from_form(kind, data)
        answer = await perform(_live(request), _who(request), body)
    except Question as q:
        answer = {"status": "question", "summary": str(q), "field": q.field, "choices": q.choices}
        return _answer_page(request, kind, data, answer)
    except (ActionError, ValueError) as exc:
        return Template(
            "director/dashboard.html",
            status_code=400,
            context={"d": console_data(_live(request)), "msg": None, "error": str(exc)},
        )
    if answer["status"] != "applied":
        return _answer_page(request, kind, data, answer)
    back = "/director/tap" if data.get("next") == "/director/tap" else "/director"
    return Redirect(back + "?" + urlencode({"msg": "done: " + answer["summary"]}))


@get("/api/director/dashboard")
async def api_dashboard(request: Request) -> dict[str, Any]:
    _require(request)
    return console_data(_live(request))


@get("/api/director/audit")
async def api_audit(request: Request) -> list[dict[str, Any]]:
    _require(request)
    return audit_data(_live(request))


async def _api(request: Request, body: Body) -> Answer:
    """200 applied or previewed; 409 waiting for a confirmation or an answer; 400 refused."""
    _require(request)
    try:
        answer = await perform(_live(request), _who(request), body)
    except Question as q:
        detail = {"status": "question", "detail": str(q), "field": q.field, "choices": q.choices}
        return Response(detail, status_code=409)
    except ActionError as exc:
        raise ValidationException(str(exc)) from exc
    return Response(answer, status_code=409 if answer["status"] == "needs confirmation" else 200)


@post("/api/director/assign-chip", status_code=200, responses=ACTION_RESPONSES)
async def api_assign_chip(request: Request, data: JSONBody[AssignChip]) -> Answer:
    return await _api(request, data)


@post("/api/director/manual-passing", status_code=200, responses=ACTION_RESPONSES)
async def api_manual_passing(request: Request, data: JSONBody[ManualPassing]) -> Answer:
    return await _api(request, data)


@post("/api/director/wave-start", status_code=200, responses=ACTION_RESPONSES)
async def api_wave_start(request: Request, data: JSONBody[WaveStart]) -> Answer:
    return await _api(request, data)


@post("/api/director/status", status_code=200, responses=ACTION_RESPONSES)
async def api_status(request: Request, data: JSONBody[SetStatus]) -> Answer:
    return await _api(request, data)


@post("/api/director/partial", status_code=200, responses=ACTION_RESPONSES)
async def api_partial(request: Request, data: JSONBody[Partial]) -> Answer:
    return await _api(request, data)


@post("/api/director/record", status_code=200, responses=ACTION_RESPONSES)
async def api_record(request: Request, data: JSONBody[RecordDecision]) -> Answer:
    return await _api(request, data)


@post("/api/director/flag", status_code=200, responses=ACTION_RESPONSES)
async def api_flag(request: Request, data: JSONBody[FlagDecision]) -> Answer:
    return await _api(request, data)


@post("/api/director/close-race", status_code=200, responses=ACTION_RESPONSES)
async def api_close_race(request: Request, data: JSONBody[CloseRace]) -> Answer:
    return await _api(request, data)


@post("/api/director/lifecycle", status_code=200, responses=ACTION_RESPONSES)
async def api_lifecycle(request: Request, data: JSONBody[Lifecycle]) -> Answer:
    return await _api(request, data)


@get("/director/tap", name="tap")
async def tap_page(request: Request) -> Template | Redirect:
    """A phone page for a timer at the line: a big button, then bibs matched to taps."""
    if not _is_director(request):
        return Redirect("/director/login")
    live = _live(request)
    points = dashboard_data(live)["races"]
    return Template("director/tap.html", context={"taps": taps_data(live), "races": points})


@post("/api/director/tap", status_code=200, responses=ACTION_RESPONSES)
async def api_tap(request: Request, data: JSONBody[Tap]) -> Answer:
    return await _api(request, data)


@post("/api/director/undo", status_code=200, responses=ACTION_RESPONSES)
async def api_undo(request: Request, data: JSONBody[Undo]) -> Answer:
    return await _api(request, data)


@post("/api/director/void-crossing", status_code=200, responses=ACTION_RESPONSES)
async def api_void_crossing(request: Request, data: JSONBody[VoidCrossing]) -> Answer:
    return await _api(request, data)


DIRECTOR_ROUTES = [
    dashboard,
    audit,
    form_action,
    api_dashboard,
    api_audit,
    api_assign_chip,
    api_manual_passing,
    api_wave_start,
    api_status,
    api_partial,
    api_record,
    api_flag,
    api_close_race,
    api_lifecycle,
    tap_page,
    api_tap,
    api_undo,
    api_void_crossing,
]
