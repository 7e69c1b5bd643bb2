"""A director action vetted before it is journalled: the questions it must answer.

`timing.actions.check` holds what makes an action applicable at all (a rebuild skips
what fails it); `vet` holds what the director must have said when deciding: a reason,
which chip a bib's new one replaces, which of two contradicting passings counts, one
record at a time and none while the runner has open flags. These are asked once, when
the decision is made: a rebuild never asks again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from timing.actions import ActionError, Journalled, in_effect
from timing.engine import Engine
from timing.preview import point_label
from timing.records import LOCAL_SCOPES
from timing.times import iso_local


class Question(ActionError):
    """The action needs the director's choice first: `field` one of `choices`."""

    def __init__(self, message: str, field: str, choices: Sequence[str]) -> None:
        super().__init__(message)
        self.field = field
        self.choices = list(choices)


def vet(
    engine: Engine,
    kind: str,
    target: str,
    payload: dict[str, Any],
    reason: str,
    actions: Sequence[Journalled],
    now_ms: int = 0,
) -> dict[str, Any]:
    """The payload to journal (defaults filled in); ActionError or Question if not yet."""
    if not reason.strip():
        raise ActionError("reason: say why (it is kept in the audit log)")
    _vet_lifecycle(engine, kind, target, payload, actions, now_ms)
    if kind == "undo":
        _vet_undo(payload["action"], actions)
    elif kind == "assign_chip":
        return _vet_chip(engine, target, payload)
    elif kind == "manual_passing":
        _vet_replaces(target, payload, actions)
        _vet_contradiction(engine, target, payload)
    elif kind == "record" and payload["decision"] == "confirm":
        _vet_record(engine, target, payload)
    return payload


def race_of(
    engine: Engine, kind: str, target: str, payload: dict[str, Any], actions: Sequence[Journalled]
) -> str | None:
    """The race an action changes (an undo: the race of the action it undoes)."""
    if kind == "undo":
        undone = next((a for a in actions if a.id == payload.get("action")), None)
        if undone is None:
            return None
        return race_of(engine, undone.kind, undone.target, payload_of(undone), actions)
    if kind in ("gun", "close", "lifecycle"):
        return payload.get("race")
    person = engine.person(target)
    return person.race if person is not None else None


def _vet_lifecycle(
    engine: Engine,
    kind: str,
    target: str,
    payload: dict[str, Any],
    actions: Sequence[Journalled],
    now_ms: int,
) -> None:
    """An official race changes only after a reopen; official only after the window."""
    race_id = race_of(engine, kind, target, payload, actions)
    if race_id is None:
        return
    state, _since, window_end = engine.state_of(race_id)
    name = engine.race(race_id).name
    if kind != "lifecycle":
        if state == "official":
            raise ActionError(f"{name} is official: reopen it (with a reason) to change it")
        return
    wanted = payload["state"]
    if wanted == "official":
        if state != "provisional" or window_end is None:
            raise ActionError(f"state: {name} is {state}: declare it provisional first")
        if now_ms < window_end:
            tz = engine.event.timezone
            raise ActionError(
                f"state: the protest window of {name} ends at {iso_local(window_end, tz)[11:19]}"
            )


def _vet_undo(action_id: int, actions: Sequence[Journalled]) -> None:
    found = next((a for a in actions if a.id == action_id), None)
    if found is None:
        raise ActionError(f"action: no action {action_id} in the journal")
    if found not in in_effect(list(actions)):
        raise ActionError(f"action: action {action_id} is already out of effect")


def _vet_chip(engine: Engine, bib: str, payload: dict[str, Any]) -> dict[str, Any]:
    chip = payload["chip"]
    owner = engine.owner_of(chip)
    if owner is not None and owner != bib:
        raise ActionError(f"chip: chip {chip} is bib {owner}'s; give it back first")
    if "side" in payload:
        return payload
    person = engine.person(bib)
    assert person is not None  # checked before
    sides = ((person.chip_front, "front"), (person.chip_back, "back"))
    worn = [f"{c} ({side})" for c, side in sides if c]
    if worn:
        raise Question(
            f"bib {bib} already wears {', '.join(worn)}: replace its front chip, its back "
            f"chip, or add {chip} as a further chip?",
            "side",
            ["front", "back", "add"],
        )
    return {**payload, "side": "front"}


def _vet_replaces(bib: str, payload: dict[str, Any], actions: Sequence[Journalled]) -> None:
    replaces = payload.get("replaces")
    if replaces is None:
        return
    old = next((a for a in in_effect(list(actions)) if a.id == replaces), None)
    if old is None or old.kind != "manual_passing" or old.target != bib:
        raise ActionError(f"replaces: action {replaces} is no manual passing of bib {bib}")


def _vet_contradiction(engine: Engine, bib: str, payload: dict[str, Any]) -> None:
    """A manual passing where the runner has a chip passing at the same point, at
    another time, asks which one counts."""
    if payload.get("prefer") is not None:
        return
    result = engine.result_of(bib)
    if result is None:
        return
    chip = [
        p
        for p in result.passings
        if p.point == payload["point"]
        and not p.manual
        and abs(p.time_ms - payload["time_ms"]) > engine.span_ms
    ]
    if chip:
        tz = engine.event.timezone
        race = engine.race_of(bib)
        raise Question(
            f"bib {bib} has a chip passing at {point_label(race, payload['point'])} at "
            f"{iso_local(chip[0].time_ms, tz)[11:21]}, this one says "
            f"{iso_local(payload['time_ms'], tz)[11:21]}: which counts, the manual or the chip?",
            "prefer",
            ["manual", "chip"],
        )


def _vet_record(engine: Engine, bib: str, payload: dict[str, Any]) -> None:
    """One record at a time (a scope named), and none while the runner has open flags."""
    scopes = payload.get("scopes")
    if not scopes or len(scopes) != 1:
        raise ActionError("scopes: confirm one record at a time: name its scope")
    result = engine.result_of(bib)
    if result is None:
        raise ActionError(f"bib: no result for bib {bib}")
    open_flags = [f for f in result.flags if f.status == "open"]
    if open_flags:
        listed = ", ".join(
            f"{f.code} at {str(f.point) or 'the race'} ({f.confidence:.2f})" for f in open_flags
        )
        raise ActionError(f"bib {bib} has open flags: {listed}; review them before the record")
    claimed = {c.scope for c in result.records if c.beats}
    scope = scopes[0]
    if scope not in claimed and scope not in LOCAL_SCOPES:
        raise ActionError(f"scopes: bib {bib} breaks or equals no {scope} record")


def payload_of(action: Journalled) -> dict[str, Any]:
    try:
        value = json.loads(action.payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
