"""Director actions: the decisions that change results, applied to an engine.

Every action is journalled (timing.store.DirectorAction: who, when, why) and replayed
in order when an engine is rebuilt, so results stay a function of the stored inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from timing.engine import Engine
from timing.errors import TimingError

STATUSES = ("DNS", "DNF", "DQ", "")  # "" returns a runner to the computed status
KINDS = ("gun", "status", "manual_passing", "assign_chip", "flag", "record")


class ActionError(TimingError):
    """A director action that cannot apply: unknown bib, point, race or wave."""


def check(engine: Engine, kind: str, target: str, payload: dict[str, Any]) -> None:
    """Raise ActionError with a clear message if the action would not apply."""
    if kind not in KINDS:
        raise ActionError(f"unknown action {kind!r}")
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


def apply(engine: Engine, kind: str, target: str, payload: dict[str, Any],
          who: str = "", reason: str = "", at_ms: int = 0) -> None:
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
    elif kind == "flag":
        decide = getattr(engine, "decide_flag", None)
        if decide is None:
            raise ActionError("flag decisions need the validation engine")
        decide(target, payload["code"], payload.get("point"), payload["status"], who, reason,
               at_ms)


def replay_actions(engine: Engine, actions: Iterable[Any]) -> None:
    """Apply journalled actions (timing.store.DirectorAction rows) in order."""
    for action in actions:
        apply(engine, action.kind, action.target, json.loads(action.payload), action.who,
              action.reason, action.at_ms)
