"""Record lines as the pages show them: a record a result breaks, equals or comes near,
with the faster unratified marks beside it, and a record book row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from timing.records import Record, RecordClaim, margin_text, mark_text
from timing.times import format_duration


@dataclass(frozen=True, slots=True)
class RecordLine:
    """A record the result breaks, equals or comes near, as the records work reports it."""

    scope: str
    group: str  # the record's sex and category, e.g. "M" or "F 35-39"
    time: str  # the record's standing time
    holder: str
    margin: str
    verdict: str  # broken, equalled, near ...
    claim: str  # e.g. pending ratification
    ratified_by: str = ""  # the record body of the standing record
    beside: tuple[str, ...] = ()  # faster marks not ratified, e.g. "claimed 3:25:24.0 by ..."

    @property
    def said(self) -> str:
        """The verdict as the public reads it: never "broken" before the director's review."""
        return "pending review" if self.claim == "pending review" else self.verdict

    @property
    def text(self) -> str:
        head = f"{self.scope or 'unknown'} record" + (f" ({self.group})" if self.group else "")
        body = f"({self.ratified_by})" if self.ratified_by else ""
        by = f"by {self.holder}" if self.holder else ""
        was = " ".join(x for x in (self.time, by, body) if x)
        parts = [x for x in (self.said, f"was {was}" if was else "") if x]
        if self.margin:
            parts.append(f"margin {self.margin}")
        text = f"{head}: {', '.join(parts)}" if parts else head
        claim = self.claim if self.claim != "pending review" else ""
        text = f"{text} ({claim})" if claim else text
        return "; ".join((text, *self.beside))


def record_line(record: RecordClaim | Mapping[str, Any]) -> RecordLine:
    """A claim as its line; a claim in its JSON form (a results.json read back) is read
    key by key, whatever it holds."""
    if isinstance(record, RecordClaim):
        held = record.record
        return RecordLine(
            held.scope,
            " ".join(x for x in (held.sex, held.category) if x),
            format_duration(held.time_ms) or "",
            held.holder,
            margin_text(record.margin_ms),
            record.verdict,
            record.claim or "",
            held.ratified_by,
            tuple(mark_text(m) for m in record.better),
        )

    def text(key: str) -> str:
        value = record.get(key)
        return "" if value is None else str(value)

    return RecordLine(
        text("scope"),
        " ".join(x for x in (text("sex"), text("category")) if x),
        text("time"),
        text("holder"),
        text("margin"),
        text("verdict"),
        text("claim"),
        text("ratified_by"),
        tuple(
            str(m.get("text") or "")
            for m in record.get("better_marks") or ()
            if isinstance(m, dict) and m.get("text")
        ),
    )


def record_book_line(record: Record) -> str:
    who = " ".join(x for x in (record.holder, f"({record.nation})" if record.nation else "") if x)
    where = ", ".join(
        x for x in (record.date.isoformat() if record.date else "", record.venue) if x
    )
    scope = " ".join(x for x in (record.scope, record.sex, record.category) if x)
    text = f"{scope} record: {format_duration(record.time_ms)}"
    status = f"ratified by {record.ratified_by}" if record.ratified_by else record.status
    parts = (text, who, f"· {where}" if where else "", f"· {status}")
    return " ".join(x for x in parts if x)
