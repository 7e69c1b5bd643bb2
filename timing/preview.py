"""What a director action will change, in words, before it is applied.

The action is applied to a fork of the engine (`Engine.fork`: the reads shared, the
decisions copied) and the two sets of results compared runner by runner: statuses
that change ("60 become DNS"), times that move, places that change.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from timing.engine import Engine
from timing.results import Result
from timing.times import format_duration, iso_local

WIDE = ("gun", "close")  # kinds whose effect reaches a whole wave or race


@dataclass(frozen=True, slots=True)
class RunnerChange:
    bib: str
    before: str  # status and time, "RUN 1:02:03.4"
    after: str


@dataclass(frozen=True, slots=True)
class Preview:
    summary: str  # one sentence
    changes: list[RunnerChange] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "runners_changed": len(self.changes),
            "changes": [
                {"bib": c.bib, "before": c.before, "after": c.after} for c in self.changes[:200]
            ],
        }


def is_wide(kind: str, payload: dict[str, Any]) -> bool:
    """Actions that need an explicit confirmation: a gun, closing a race, a DQ, a record."""
    if kind in WIDE:
        return True
    if kind == "status":
        return payload.get("status") == "DQ"
    if kind == "flag":
        return str(payload.get("status", "")).lower() == "dq"
    return kind == "record" and payload.get("decision") == "confirm"


def _state(r: Result) -> tuple[str, int | None, int | None, int]:
    return (r.status, r.chip_time_ms, r.gun_time_ms, len(r.passings))


def _shown(r: Result) -> str:
    time = format_duration(r.chip_time_ms)
    if time is None and r.splits:
        time = f"{r.splits[-1].point} {format_duration(r.splits[-1].chip_time_ms)}"
    return f"{r.status} {time}" if time else r.status


def shift_text(delta_ms: int) -> str:
    """A time shift as a person says it: +7 months, -3 days 2 h, +0:00:05.0."""
    sign = "-" if delta_ms < 0 else "+"
    ms = abs(delta_ms)
    day = 86_400_000
    if ms >= 30 * day:
        return f"{sign}{round(ms / (30.44 * day))} months"
    if ms >= day:
        return f"{sign}{ms // day} days {(ms % day) // 3_600_000} h"
    return f"{sign}{format_duration(ms)}"


def compare(engine: Engine, fork: Engine, lead: str = "") -> Preview:
    """The runners whose result differs between `engine` and `fork` (with the action)."""
    before = {r.bib: r for rr in engine.results().races for r in rr.results}
    after = {r.bib: r for rr in fork.results().races for r in rr.results}
    changes: list[RunnerChange] = []
    became: Counter[str] = Counter()
    moved = 0
    for bib, new in after.items():
        old = before.get(bib)
        if old is None or (_state(old) == _state(new) and old.place == new.place):
            continue
        changes.append(RunnerChange(bib, _shown(old), _shown(new)))
        if old.status != new.status:
            became[new.status] += 1
        if old.chip_time_ms != new.chip_time_ms or old.gun_time_ms != new.gun_time_ms:
            moved += 1
    changes.sort(key=lambda c: c.bib)
    parts = []
    if moved:
        parts.append(f"{moved} runner{'s' if moved != 1 else ''}' times change")
    parts += [f"{n} become {status}" for status, n in sorted(became.items())]
    if not changes:
        parts.append("no result changes")
    elif not parts:
        parts.append(f"{len(changes)} runner{'s' if len(changes) != 1 else ''}' results change")
    summary = (lead + ": " if lead else "") + "; ".join(parts)
    return Preview(summary, changes)


def point_label(race: Any, point_id: str) -> str:
    """A point as people name it: "Marathon · 26 km" (its id where that says more)."""
    point = next((p for p in race.points if p.id == point_id), None)
    if point is None:
        return f"{race.name} · {point_id}"
    if point.distance_m == 0:
        return f"{race.name} · start"
    if point is race.points[-1]:
        return f"{race.name} · finish"
    km = point.distance_m / 1000
    return f"{race.name} · {km:g} km"


def describe(engine: Engine, kind: str, target: str, payload: dict[str, Any]) -> str:
    """The action in words, as its preview opens."""
    tz = engine.event.timezone
    if kind == "gun":
        race = engine.race(payload["race"])
        wave = race.wave(payload["wave"])
        assert wave is not None
        old = engine.wave_gun(race.id, wave.id)
        new = payload["time_ms"]
        return (
            f"moves the gun of {race.name} wave {wave.id} by {shift_text(new - old)} "
            f"({iso_local(old, tz)[:21]} to {iso_local(new, tz)[:21]})"
        )
    if kind == "tap":
        return f"records a tap at {iso_local(payload['time_ms'], tz)[11:21]}"
    if kind == "lifecycle":
        race = engine.race(payload["race"])
        until = payload.get("window_end_ms")
        window = f", protests until {iso_local(until, tz)[11:19]}" if until else ""
        return f"declares the results of {race.name} {payload['state']}{window}"
    if kind == "close":
        race = engine.race(payload["race"])
        return f"{'closes' if payload.get('closed', True) else 'reopens'} {race.name}"
    if kind == "manual_passing":
        race = engine.race_of(target)
        when = iso_local(payload["time_ms"], tz)[11:21]
        edit = " (replacing an earlier one)" if payload.get("replaces") else ""
        where = point_label(race, payload["point"])
        return f"adds a passing of bib {target} at {where} at {when}{edit}"
    if kind == "assign_chip":
        side = payload.get("side", "front")
        how = "as a further chip" if side == "add" else f"as its {side} chip"
        return f"gives chip {payload['chip']} to bib {target} {how}"
    if kind == "status":
        return f"sets bib {target} to {payload['status'] or 'its computed status'}"
    if kind == "void_crossing":
        return f"voids a crossing of chip {payload['chip']} (its reads stay)"
    if kind == "record":
        scopes = ", ".join(payload.get("scopes") or ["every record"])
        return f"{payload['decision']}s the {scopes} record of bib {target}"
    if kind == "flag":
        return f"{payload['status']} flag {payload['code']} of bib {target}"
    return f"{kind} {target}"
