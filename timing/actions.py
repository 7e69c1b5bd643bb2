"""Director actions: the decisions that change results, applied to an engine.

Every action is journalled (timing.store.DirectorAction: who, when, why) and replayed
in order when an engine is rebuilt, so results stay a function of the stored inputs.
Nothing is deleted: an `undo` is an action naming an earlier one (an undo of an undo
puts it back), and a manual passing edited is a new one that `replaces` the old. The
actions in effect are those no later action in effect undoes or replaces.

A journalled action that no longer applies (a bib removed from participants.csv since,
say) is skipped and reported, never stops a rebuild.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from timing.config import Race
from timing.engine import Engine
from timing.errors import TimingError
from timing.flags import check_code, flag_status
from timing.point_refs import PointRef
from timing.records import SCOPES

STATUSES = ("DNS", "DNF", "DQ", "")  # "" returns a runner to the computed status
KINDS = (
    "gun",
    "status",
    "manual_passing",
    "assign_chip",
    "flag",
    "record",
    "lap",
    "partial",
    "close",
    "lifecycle",
    "void_crossing",
    "tap",
    "undo",
)
SIDES = ("front", "back", "add")
STATES = ("live", "provisional", "official")


class ActionError(TimingError):
    """A director action that cannot apply: unknown bib, point, race or wave."""


class Journalled(Protocol):
    id: int | None
    kind: str
    target: str
    payload: str
    who: str
    reason: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class Skipped:
    """A journalled action left out of a rebuild, and why."""

    id: int
    kind: str
    target: str
    reason: str


def _int(payload: dict[str, Any], key: str, what: str) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ActionError(f"{key}: {what} is required (a whole number)")
    return value


def _str(payload: dict[str, Any], key: str, what: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise ActionError(f"{key}: {what} is required")
    return value


def check(
    engine: Engine, kind: str, target: str, payload: dict[str, Any], reason: str | None = None
) -> None:
    """Raise ActionError with a clear message if the action would not apply. With the
    director's `reason` given, a decision that needs one (`lap`) must have it."""
    if kind not in KINDS:
        raise ActionError(f"unknown action {kind!r}")
    if not isinstance(payload, dict):
        raise ActionError("the action's details must be an object")
    if kind == "lap" and reason is not None and not reason.strip():
        raise ActionError("say why the crossing is, or is not, a lap")
    if kind == "undo":
        _int(payload, "action", "the action to undo")
        return
    if kind == "tap":  # a time of day tapped at a point: evidence until matched to a bib
        _int(payload, "time_ms", "the tap's time")
        _str(payload, "point", "the tap's point")
        return
    if kind in ("gun", "close", "lifecycle"):
        race = engine.event.race(payload["race"]) if isinstance(payload.get("race"), str) else None
        if race is None:
            raise ActionError(f"race: unknown race {payload.get('race')!r}")
        if kind == "lifecycle":
            if payload.get("state") not in STATES:
                raise ActionError(f"state: one of {', '.join(STATES)}")
            if payload["state"] == "provisional":
                _int(payload, "window_end_ms", "the end of the protest window")
            return
        if kind == "close":
            if not isinstance(payload.get("closed", True), bool):
                raise ActionError("closed: true (close the race) or false (reopen it)")
            return
        wave = payload.get("wave")
        if not isinstance(wave, str) or race.wave(wave) is None:
            raise ActionError(f"wave: race {race.id!r} has no wave {wave!r}")
        _int(payload, "time_ms", "a gun time")
        return
    if kind == "assign_chip":
        _str(payload, "chip", "a chip")
        if payload.get("side", "front") not in SIDES:
            raise ActionError("side: front, back or add")
    person = engine.person(target)
    if person is None:
        raise ActionError(f"bib: unknown bib {target!r}")
    race = engine.race(person.race)
    if kind == "void_crossing":
        _str(payload, "chip", "the crossing's chip")
        _int(payload, "read_id", "a read of the crossing")
    elif kind == "record":
        _check_record(payload)
    elif kind == "status" and payload.get("status", "") not in STATUSES:
        raise ActionError(f"status: one of DNS, DNF, DQ (got {payload.get('status')!r})")
    elif kind == "manual_passing":
        if payload.get("point") not in {p.id for p in race.points}:
            raise ActionError(f"point: race {race.id!r} has no point {payload.get('point')!r}")
        _int(payload, "time_ms", "a passing time")
        if payload.get("prefer") not in (None, "manual", "chip"):
            raise ActionError("prefer: manual or chip")
        if "replaces" in payload:
            _int(payload, "replaces", "the passing it replaces")
    elif kind == "flag":
        try:
            check_code(payload.get("code"))  # type: ignore[arg-type]
            flag_status(payload.get("status"))  # type: ignore[arg-type]
        except TimingError as exc:
            raise ActionError(str(exc)) from exc
        if payload.get("point") is not None and not isinstance(payload.get("point"), str):
            raise ActionError("point: a point name")
    elif kind in ("lap", "partial"):
        _check_lap_action(kind, race, payload)


def _check_record(payload: dict[str, Any]) -> None:
    if payload.get("decision") not in ("confirm", "withdraw"):
        raise ActionError("decision: a record decision is confirm or withdraw")
    scopes = payload.get("scopes")
    if scopes is not None and (
        not isinstance(scopes, list) or any(s not in SCOPES for s in scopes)
    ):
        raise ActionError(f"scopes: a list of {', '.join(SCOPES)}")


def _check_lap_action(kind: str, race: Race, payload: dict[str, Any]) -> None:
    """`lap`: {"point": the SHORT_LAP flag's point, "lap": true (count it) or false}, with
    a reason. `partial`: {"metres": a timed race's final part lap, or null to clear}."""
    if not race.is_lap_race:
        raise ActionError(f"race {race.id!r} is not a lap race")
    if kind == "lap":
        point = payload.get("point")
        if not isinstance(point, str) or not PointRef.parse(point).is_crossing:
            raise ActionError("point: the crossing is required: the SHORT_LAP flag's point")
        if not isinstance(payload.get("lap", True), bool):
            raise ActionError("lap: true (count the crossing as a lap) or false")
        return
    if not race.is_timed or race.lap_m is None:
        raise ActionError(f"race {race.id!r} is not a timed race: no final part lap")
    metres = payload.get("metres")
    if metres is None:
        return
    if isinstance(metres, bool) or not isinstance(metres, int | float):
        raise ActionError("metres must be a number")
    if not 0 <= round(metres) < race.lap_m:
        raise ActionError(f"a final part lap is 0 to {race.lap_m:g} m, not {metres!r}")


def apply(
    engine: Engine,
    kind: str,
    target: str,
    payload: dict[str, Any],
    who: str = "",
    reason: str = "",
    at_ms: int = 0,
) -> None:
    """Apply one action (an `undo` is applied by `replay_actions`, which sees them all; a
    `tap` changes nothing until a manual passing matches it to a bib)."""
    check(engine, kind, target, payload)
    if kind == "gun":
        engine.set_gun(payload["race"], payload["wave"], payload["time_ms"])
    elif kind == "close":
        engine.close_race(payload["race"], at_ms, payload.get("closed", True))
    elif kind == "lifecycle":
        engine.set_lifecycle(payload["race"], payload["state"], at_ms, payload.get("window_end_ms"))
    elif kind == "status":
        engine.set_status(target, payload["status"] or None)
    elif kind == "manual_passing":
        engine.add_manual_passing(
            target, payload["point"], payload["time_ms"], payload.get("prefer")
        )
    elif kind == "void_crossing":
        engine.void_crossing(payload["chip"], payload["read_id"])
    elif kind == "assign_chip":
        engine.assign_chip(payload["chip"], target, payload.get("side", "front"))
    elif kind == "record" and payload["decision"] == "confirm":
        engine.confirm_record(target, who, reason, at_ms, payload.get("scopes"))
    elif kind == "record":
        engine.withdraw_record(target)
    elif kind == "lap":
        counted = payload.get("lap", True)
        engine.confirm_lap(target, payload["point"], who, reason, at_ms, counted)
    elif kind == "partial":
        engine.set_partial(target, payload.get("metres"))
    elif kind == "flag":
        engine.decide_flag(
            target, payload["code"], payload.get("point"), payload["status"], who, reason, at_ms
        )


def cancels(kind: str, payload: dict[str, Any]) -> list[int]:
    """The earlier actions this one takes out of effect."""
    if kind == "undo":
        return [payload["action"]] if isinstance(payload.get("action"), int) else []
    if kind == "manual_passing" and isinstance(payload.get("replaces"), int):
        return [payload["replaces"]]
    return []


def in_effect(actions: list[Journalled]) -> list[Journalled]:
    """The actions no later action in effect undoes or replaces, in journal order."""
    cancelled: set[int] = set()
    kept: list[Journalled] = []
    for action in reversed(actions):
        if action.id in cancelled:
            continue
        kept.append(action)
        try:
            payload = json.loads(action.payload)
        except ValueError:
            continue
        if isinstance(payload, dict):
            cancelled.update(cancels(action.kind, payload))
    return kept[::-1]


def replay_actions(engine: Engine, actions: Iterable[Journalled]) -> list[Skipped]:
    """Apply the journalled actions in effect, in order; those that no longer apply are
    skipped and returned (and kept on `engine.skipped_actions`)."""
    skipped: list[Skipped] = []
    for action in in_effect(list(actions)):
        if action.kind == "undo":
            continue
        try:
            payload = json.loads(action.payload)
            apply(
                engine,
                action.kind,
                action.target,
                payload,
                action.who,
                action.reason,
                action.at_ms,
            )
        except (ValueError, TimingError, KeyError, TypeError) as exc:
            skipped.append(Skipped(action.id or 0, action.kind, action.target, str(exc)))
    engine.skipped_actions = [*engine.skipped_actions, *skipped]
    return skipped


def take(engine: Engine, action: Journalled, earlier: list[Journalled]) -> list[Skipped]:
    """Apply one newly journalled action after `earlier` ones. One that takes others out
    of effect (an undo, an edit) rebuilds every decision from the journal."""
    try:
        payload = json.loads(action.payload)
    except ValueError:
        payload = {}
    if isinstance(payload, dict) and cancels(action.kind, payload):
        engine.reset_director()
        return replay_actions(engine, [*earlier, action])
    return replay_actions(engine, [action])
