"""Validation flags and the director's decisions on them.

A flag is a verdict of one check on one runner at one point, with its evidence and a
confidence. Validation re-runs whenever reads arrive; a director's decision is kept
apart, keyed by (bib, code, point), and joined to the flag each time, so re-running
validation never loses it. In the results JSON a flag is

    {"code": "WRONG_WAY", "point": "10k", "status": "open", "confidence": 0.95,
     "evidence": {...}, "decision": null}

and, once decided, `status` is "dismissed" or "confirmed" and `decision` is
{"by", "at", "reason"}. In a lap race a flag on one crossing of the lap line has
`point` "<lap point id>@<time of day of the crossing, HH:MM:SS.s>" (`timing/laps.py`):
the crossing's own time names it, so it keeps its decision whatever is counted before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from timing.errors import TimingError
from timing.times import iso_local

FORWARD_FACING = "FORWARD_FACING"
WRONG_WAY = "WRONG_WAY"
IMPLAUSIBLE_PACE = "IMPLAUSIBLE_PACE"
MISSED_SPLIT = "MISSED_SPLIT"
CHIP_SEPARATED = "CHIP_SEPARATED"
SHORT_LAP = "SHORT_LAP"  # a crossing of the lap line too soon after the previous lap to be one
MISSED_LAP = "MISSED_LAP"  # a lap about twice the runner's usual: a lap read missed
FLAG_CODES = (
    FORWARD_FACING,
    WRONG_WAY,
    IMPLAUSIBLE_PACE,
    MISSED_SPLIT,
    CHIP_SEPARATED,
    SHORT_LAP,
    MISSED_LAP,
)
LAP_CODES = (SHORT_LAP, MISSED_LAP)  # raised in lap races only
FLAG_STATUSES = ("open", "dismissed", "confirmed")
# Words a director's console may send for a status.
_STATUS_WORDS = {
    "open": "open",
    "reopen": "open",
    "dismiss": "dismissed",
    "dismissed": "dismissed",
    "confirm": "confirmed",
    "confirmed": "confirmed",
    "dq": "confirmed",
}


class DecisionError(TimingError, ValueError):
    """A director's decision that cannot apply: unknown bib, flag code, status or
    record scope."""


@dataclass(frozen=True, slots=True)
class Flag:
    code: str
    point: str
    confidence: float
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Decision:
    status: str  # one of FLAG_STATUSES
    by: str
    at_ms: int
    reason: str


FlagKey = tuple[str, str]  # (code, point), under the runner's bib


def flag_status(word: str) -> str:
    """The flag status a director's word means; DecisionError if it means none."""
    status = _STATUS_WORDS.get(str(word).strip().lower())
    if status is None:
        raise DecisionError(f"a flag decision is one of {', '.join(FLAG_STATUSES)} (got {word!r})")
    return status


def check_code(code: str) -> str:
    if code not in FLAG_CODES:
        raise DecisionError(f"unknown flag code {code!r} (codes: {', '.join(FLAG_CODES)})")
    return code


def decided_flags(
    flags: list[Flag],
    decisions: dict[FlagKey, Decision],
    tz: ZoneInfo,
    point_order: dict[str, int],
) -> list[dict[str, Any]]:
    """One runner's flags as JSON, each with the director's decision on it.

    A confirmed flag that validation no longer raises (the reads changed since) stays,
    because the director's word stands; other decisions wait for their flag to return.
    """
    out = []
    raised = set()
    for flag in flags:
        raised.add((flag.code, flag.point))
        decision = decisions.get((flag.code, flag.point))
        out.append(_json(flag.code, flag.point, flag.confidence, flag.evidence, decision, tz))
    for (code, point), decision in decisions.items():
        if decision.status == "confirmed" and (code, point) not in raised:
            out.append(_json(code, point, 0.0, {"raised": False}, decision, tz))
    # Lap flags ("<point>@<time of day>") sort by time after the point order.
    out.sort(
        key=lambda f: (point_order.get(f["point"], -1), f["point"], FLAG_CODES.index(f["code"]))
    )
    return out


def _json(
    code: str,
    point: str,
    confidence: float,
    evidence: dict[str, Any],
    decision: Decision | None,
    tz: ZoneInfo,
) -> dict[str, Any]:
    return {
        "code": code,
        "point": point,
        "status": decision.status if decision else "open",
        "confidence": round(confidence, 2),
        "evidence": evidence,
        "decision": (
            {"by": decision.by, "at": iso_local(decision.at_ms, tz), "reason": decision.reason}
            if decision
            else None
        ),
    }
