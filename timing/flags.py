"""Validation flags and the director's decisions on them.

A flag is a verdict of one check on one runner at one point, with its evidence and a
confidence. Validation re-runs whenever reads arrive; a director's decision is kept
apart, keyed by (bib, code, point), and joined to the flag each time, so re-running
validation never loses it. The engine hands each runner's flags out as `RunnerFlag`
values (status "open", "dismissed" or "confirmed", and the decision if any); the
results JSON (`timing/report.py`) writes one as

    {"code": "WRONG_WAY", "point": "10k", "status": "open", "confidence": 0.95,
     "evidence": {...}, "decision": null}

with `decision` {"by", "at", "reason"} once decided. In a lap race a flag on one
crossing of the lap line points at that crossing (`timing/point_refs.py`).

What the public sees of validation is one rule, `is_public`: a flag the director
confirmed. Open or dismissed suspicions are for the director only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from timing.errors import TimingError
from timing.point_refs import PointRef

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
    """What a check raises."""

    code: str
    point: PointRef
    confidence: float
    evidence: dict[str, Any]  # the check's own facts, JSON-ready; never changed once raised


@dataclass(frozen=True, slots=True)
class Decision:
    status: str  # one of FLAG_STATUSES
    by: str
    at_ms: int
    reason: str


FlagKey = tuple[str, PointRef]  # (code, point), under the runner's bib


@dataclass(frozen=True, slots=True)
class RunnerFlag:
    """A flag as a runner's result carries it: raised (or kept by a confirmation) and
    joined to the director's decision on it."""

    code: str
    point: PointRef
    status: str  # one of FLAG_STATUSES
    confidence: float  # to two places
    evidence: Mapping[str, Any]
    decision: Decision | None = None

    @property
    def public(self) -> bool:
        return is_public(self.status)


def is_public(status: str) -> bool:
    """Whether the public sees a flag of this status: only once the director confirmed it
    (a DQ on a flag is a confirmation)."""
    return status.strip().lower() == "confirmed"


def public_flags(flags: Iterable[RunnerFlag]) -> tuple[RunnerFlag, ...]:
    return tuple(f for f in flags if f.public)


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
    point_order: dict[str, int],
) -> tuple[RunnerFlag, ...]:
    """One runner's flags, each with the director's decision on it.

    A confirmed flag that validation no longer raises (the reads changed since) stays,
    because the director's word stands; other decisions wait for their flag to return.
    """
    out = []
    raised = set()
    for flag in flags:
        raised.add((flag.code, flag.point))
        decision = decisions.get((flag.code, flag.point))
        status = decision.status if decision else "open"
        out.append(
            RunnerFlag(
                flag.code, flag.point, status, round(flag.confidence, 2), flag.evidence, decision
            )
        )
    for (code, point), decision in decisions.items():
        if decision.status == "confirmed" and (code, point) not in raised:
            out.append(RunnerFlag(code, point, "confirmed", 0.0, {"raised": False}, decision))
    # Crossings of a lap line ("<point>@<time of day>") sort by time after the points.
    out.sort(
        key=lambda f: (point_order.get(str(f.point), -1), str(f.point), FLAG_CODES.index(f.code))
    )
    return tuple(out)
