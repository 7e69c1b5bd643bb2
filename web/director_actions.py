"""The director's actions as typed request bodies, and how each becomes an engine action.

One struct per action (msgspec, so Litestar answers a wrong-typed or missing field with
400 naming it). Forms post the same fields as strings; `from_form` converts them with
the same structs, so a form and the JSON API refuse the same things with the same words.
Every action carries a `reason`; `preview` asks what it would change without applying
it; a wide action (a gun, closing a race, a DQ, a record) applies only with `confirm`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import msgspec

from timing.actions import ActionError, in_effect
from timing.store import now_ms
from timing.times import iso_local, local_ms, parse_time_of_day
from web.live import LiveService


class Body(msgspec.Struct, kw_only=True):
    reason: str = ""
    confirm: bool = False
    preview: bool = False


class AssignChip(Body):
    bib: str
    chip: str
    side: Literal["front", "back", "add"] | None = None  # None: asked if the bib has chips


class ManualPassing(Body):
    bib: str
    point: str  # a point id of the bib's race, or "race/point"
    time: str  # time of day, 10:41:07.3, or "now"
    prefer: Literal["manual", "chip"] | None = None
    replaces: int | None = None  # the manual passing (action id) this one corrects
    tap: int | None = None  # the tap (action id) this passing matches; its time counts


class WaveStart(Body):
    race: str
    wave: str
    time: str  # time of day, or "now": never implied


class SetStatus(Body):
    bib: str
    status: Literal["DNS", "DNF", "DQ", "CLEAR"]


class Partial(Body):
    bib: str
    metres: int | None = None


class RecordDecision(Body):
    bib: str
    decision: Literal["confirm", "withdraw"] = "confirm"
    scope: str | None = None  # the one record confirmed


class FlagDecision(Body):
    bib: str
    code: str
    decision: str  # dismissed, confirmed, open, dq (confirm and disqualify)
    point: str | None = None


class CloseRace(Body):
    race: str
    closed: bool = True  # false reopens it


class Lifecycle(Body):
    race: str
    state: Literal["live", "provisional", "official"]  # live again: a reopen
    window_end: str | None = None  # provisional: when the protest window ends (time of day)


class Tap(Body):
    point: str  # "race/point" the timer stands at
    phone_ms: int  # the phone's own clock at the tap: its offset to the server is kept
    bib: str | None = None  # typed at once, or matched later


class Undo(Body):
    action: int  # the audit entry's id


class VoidCrossing(Body):
    bib: str
    chip: str
    read_id: int


BODIES: dict[str, type[Body]] = {
    "assign-chip": AssignChip,
    "manual-passing": ManualPassing,
    "wave-start": WaveStart,
    "status": SetStatus,
    "partial": Partial,
    "record": RecordDecision,
    "flag": FlagDecision,
    "close-race": CloseRace,
    "lifecycle": Lifecycle,
    "undo": Undo,
    "tap": Tap,
    "void-crossing": VoidCrossing,
}


def from_form(kind: str, form: dict[str, str]) -> Body:
    """A form's strings as the action's body; ValueError naming the field if wrong."""
    body_type = BODIES.get(kind)
    if body_type is None:
        raise ValueError(f"unknown action {kind!r}")
    data: dict[str, Any] = {k: v.strip() for k, v in form.items() if k != "_csrf_token"}
    if "wave_key" in data:  # the form's "race/wave" choice
        data["race"], _, data["wave"] = data.pop("wave_key").partition("/")
    if "status" in data and kind == "status":
        data["status"] = data["status"].upper()
    data = {k: v for k, v in data.items() if v != ""}
    try:
        return msgspec.convert(data, body_type, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from exc


def to_action(live: LiveService, body: Body) -> list[tuple[str, str, dict[str, Any]]]:
    """The engine actions (kind, target, payload) a body asks for; ActionError if bad."""
    event = live.folder.event

    def when(text: str, field: str) -> int:
        if text.strip().lower() == "now":
            return now_ms()
        try:
            return local_ms(event.date, parse_time_of_day(text), event.timezone)
        except ValueError as exc:
            raise ActionError(f"{field}: {exc} (give a time of day or 'now')") from exc

    match body:
        case AssignChip():
            payload: dict[str, Any] = {"chip": body.chip.strip()}
            if body.side is not None:
                payload["side"] = body.side
            return [("assign_chip", body.bib, payload)]
        case ManualPassing():
            point = _point_of(live, body.bib, body.point)
            time_ms = tap_time(live, body.tap) if body.tap is not None else when(body.time, "time")
            payload = {"point": point, "time_ms": time_ms}
            if body.tap is not None:
                payload["tap"] = body.tap
            if body.prefer is not None:
                payload["prefer"] = body.prefer
            if body.replaces is not None:
                payload["replaces"] = body.replaces
            return [("manual_passing", body.bib, payload)]
        case WaveStart():
            payload = {"race": body.race, "wave": body.wave, "time_ms": when(body.time, "time")}
            return [("gun", f"{body.race}/{body.wave}", payload)]
        case SetStatus():
            return [("status", body.bib, {"status": "" if body.status == "CLEAR" else body.status})]
        case Partial():
            return [("partial", body.bib, {"metres": body.metres})]
        case RecordDecision():
            payload = {"decision": body.decision}
            if body.decision == "confirm":
                payload["scopes"] = [body.scope] if body.scope else []
            return [("record", body.bib, payload)]
        case FlagDecision():
            flag = {"code": body.code, "point": body.point or None, "status": body.decision}
            actions = [("flag", body.bib, flag)]
            if body.decision.lower() == "dq":
                actions.append(("status", body.bib, {"status": "DQ"}))
            return actions
        case CloseRace():
            return [("close", body.race, {"race": body.race, "closed": body.closed})]
        case Lifecycle():
            payload = {"race": body.race, "state": body.state}
            if body.state == "provisional":
                if not body.window_end:
                    raise ActionError("window_end: when does the protest window end?")
                payload["window_end_ms"] = when(body.window_end, "window_end")
            return [("lifecycle", body.race, payload)]
        case Tap():
            now = now_ms()
            tap = {"point": body.point, "time_ms": now, "phone_offset_ms": now - body.phone_ms}
            return [("tap", body.point, tap)]
        case Undo():
            return [("undo", str(body.action), {"action": body.action})]
        case VoidCrossing():
            return [("void_crossing", body.bib, {"chip": body.chip, "read_id": body.read_id})]
    raise ActionError(f"unknown action {type(body).__name__}")


def tap_time(live: LiveService, tap_id: int) -> int:
    tap = next((a for a in live.store.actions() if a.id == tap_id and a.kind == "tap"), None)
    if tap is None:
        raise ActionError(f"tap: no tap {tap_id}")
    return json.loads(tap.payload)["time_ms"]


def taps_data(live: LiveService) -> list[dict[str, Any]]:
    """Taps at the line, newest first, each with the bib a passing matched it to."""
    journal = live.store.actions()
    matched = {
        p["tap"]: a.target
        for a in in_effect(journal)
        if a.kind == "manual_passing"
        and isinstance(p := json.loads(a.payload), dict)
        and "tap" in p
    }
    tz = live.folder.event.timezone
    return [
        {
            "id": a.id,
            "time": iso_local(p["time_ms"], tz)[11:21],
            "point": p["point"],
            "phone_offset_ms": p.get("phone_offset_ms"),
            "bib": matched.get(a.id),
        }
        for a in reversed(in_effect(journal))
        if a.kind == "tap" and isinstance(p := json.loads(a.payload), dict)
    ]


def _point_of(live: LiveService, bib: str, value: str) -> str:
    """A point id of the bib's own race; "race/point" must name that race."""
    race_id, sep, point = value.partition("/")
    if not sep:
        return value
    person = live.engine.person(bib)
    if person is not None and person.race != race_id:
        race = live.engine.race(person.race)
        raise ActionError(f"point: bib {bib} runs {race.name}, not race {race_id!r}")
    return point


async def perform(live: LiveService, who: str, body: Body) -> dict[str, Any]:
    """Apply (or preview) a body's actions; the answer the API and forms show."""
    answer: dict[str, Any] = {"status": "applied", "summary": [], "changes": [], "actions": []}
    actions = to_action(live, body)
    if isinstance(body, Tap) and body.bib:  # a bib typed with the tap: matched at once
        tap = await live.act(who, *actions[0], body.reason.strip() or "tap at the line")
        body = ManualPassing(
            bib=body.bib, point=body.point, time="", tap=tap.action_id, reason="tap matched"
        )
        answer["summary"].append(tap.preview.summary)
        answer["actions"].append(tap.action_id)
        actions = to_action(live, body)
    for kind, target, payload in actions:
        reason = body.reason.strip() or ("tap at the line" if kind == "tap" else "")
        outcome = await live.act(who, kind, target, payload, reason, body.confirm, body.preview)
        answer["status"] = outcome.status
        answer["summary"].append(outcome.preview.summary)
        answer["changes"].extend(outcome.preview.json()["changes"])
        if outcome.action_id is not None:
            answer["actions"].append(outcome.action_id)
        if outcome.status != "applied":
            break  # the DQ after a flag decision waits for the same confirmation
    answer["summary"] = "; then ".join(answer["summary"])
    return answer
