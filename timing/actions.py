"""Director actions: the decisions that change results, applied to an engine.

Every action is journalled (timing.store.DirectorAction: who, when, why) and replayed
in order when an engine is rebuilt, so results stay a function of the stored inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from timing.config import Race
from timing.engine import Engine
from timing.errors import TimingError

STATUSES = ("DNS", "DNF", "DQ", "")  # "" returns a runner to the computed status
KINDS = ("gun", "status", "manual_passing", "assign_chip", "flag", "record", "lap", "partial")


class ActionError(TimingError):
    """A director action that cannot apply: unknown bib, point, race or wave."""


def check(
    engine: Engine, kind: str, target: str, payload: dict[str, Any], reason: str | None = None
) -> None:
    """Raise ActionError with a clear message if the action would not apply. With the
    director's `reason` given, a decision that needs one (`lap`) must have it."""
    if kind not in KINDS:
        raise ActionError(f"unknown action {kind!r}")
    if kind == "lap" and reason is not None and not reason.strip():
        raise ActionError("say why the crossing is, or is not, a lap")
    if kind == "gun":
        race = engine.races.get(payload.get("race", ""))
        if race is None or race.wave(payload.get("wave", "")) is None:
            raise ActionError(f"unknown race or wave {payload.get('race')}/{payload.get('wave')}")
        if not isinstance(payload.get("time_ms"), int):
            raise ActionError("a gun time is required")
        return
    if kind == "assign_chip":
        if not payload.get("chip"):
            raise ActionError("a chip is required")
        if payload.get("side", "front") not in ("front", "back"):
            raise ActionError("side must be front or back")
    person = engine.people.get(target)
    if person is None:
        raise ActionError(f"unknown bib {target!r}")
    if kind == "record" and payload.get("decision") not in ("confirm", "withdraw"):
        raise ActionError("a record decision is confirm or withdraw")
    if kind == "status" and payload.get("status", "") not in STATUSES:
        raise ActionError(f"status must be one of DNS, DNF, DQ (got {payload.get('status')!r})")
    if kind == "manual_passing":
        race = engine.races[person.race]
        if payload.get("point") not in {p.id for p in race.points}:
            raise ActionError(f"race {race.id!r} has no point {payload.get('point')!r}")
        if not isinstance(payload.get("time_ms"), int):
            raise ActionError("a passing time is required")
    if kind in ("lap", "partial"):
        _check_lap_action(engine, kind, engine.races[person.race], payload)


def _check_lap_action(engine: Engine, kind: str, race: Race, payload: dict[str, Any]) -> None:
    """`lap`: {"point": the SHORT_LAP flag's point, "lap": true (count it) or false}, with
    a reason. `partial`: {"metres": a timed race's final part lap, or null to clear}."""
    if not race.is_lap_race:
        raise ActionError(f"race {race.id!r} is not a lap race")
    if kind == "lap":
        point = payload.get("point")
        if not isinstance(point, str) or "@" not in point:
            raise ActionError("the crossing is required: the SHORT_LAP flag's point")
        if not isinstance(payload.get("lap", True), bool):
            raise ActionError("lap is true (count the crossing as a lap) or false")
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
    check(engine, kind, target, payload)
    if kind == "gun":
        engine.set_gun(payload["race"], payload["wave"], payload["time_ms"])
    elif kind == "status":
        engine.set_status(target, payload["status"] or None)
    elif kind == "manual_passing":
        engine.add_manual_passing(target, payload["point"], payload["time_ms"])
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
        decide = getattr(engine, "decide_flag", None)
        if decide is None:
            raise ActionError("flag decisions need the validation engine")
        decide(target, payload["code"], payload.get("point"), payload["status"], who, reason, at_ms)


def replay_actions(engine: Engine, actions: Iterable[Any]) -> None:
    """Apply journalled actions (timing.store.DirectorAction rows) in order."""
    for action in actions:
        apply(
            engine,
            action.kind,
            action.target,
            json.loads(action.payload),
            action.who,
            action.reason,
            action.at_ms,
        )
