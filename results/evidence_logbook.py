"""The log book and the video sync sheet of an evidence pack, drawn from the chip splits.

A record body asks, of an attempt over an hour, for a log book kept by the witnesses
with an entry at least every hour. The log book is written from what the timing saw:
the start, every point of the course in order (passed, with its time; or not read,
marked for the witnesses), the flags raised there with their evidence, and, wherever
two timed entries are more than an hour apart, an entry on each hour after the
earlier one, marked for the witnesses to fill in (where the runner was, what they saw).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from results.evidence_summary import compact
from timing.config import Race
from timing.flags import RunnerFlag
from timing.point_refs import PointRef
from timing.results import Result
from timing.times import format_duration

HOUR_MS = 3_600_000
WITNESS = "to be filled in by the witnesses"


@dataclass(frozen=True, slots=True)
class LogFlag:
    point: str  # as the flag names it ("10k", "line@10:23:45.6")
    code: str
    status: str
    confidence: str
    evidence: str


@dataclass(frozen=True, slots=True)
class LogEntry:
    kind: str  # start, point, not read, witness, other (flags at no point)
    point: str
    distance: str  # km from the start, "" for a witness entry
    clock: str  # local time of day, H:MM:SS.s ("" where the timing has none)
    elapsed: str  # since the runner's start
    elapsed_ms: int | None
    segment: str
    flags: tuple[LogFlag, ...]
    note: str

    @property
    def to_fill(self) -> bool:
        """An entry the witnesses complete (a gap in what the timing saw)."""
        return self.kind in ("witness", "not read")


@dataclass(frozen=True, slots=True)
class SyncRow:
    point: str
    distance: str
    clock: str  # local time of day, to the tenth
    utc: str  # the same instant in UTC, ISO 8601 with milliseconds
    chip_time: str
    gun_time: str
    manual: bool


def clock(ms: int, tz: ZoneInfo) -> str:
    """Local time of day of an instant, tenths rounded down: `10:23:45.6`."""
    when = datetime.fromtimestamp(ms // 1000, UTC).astimezone(tz)
    return f"{when:%H:%M:%S}.{ms % 1000 // 100}"


def utc_iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def log_book(result: Result, race: Race, tz: ZoneInfo) -> tuple[LogEntry, ...]:
    """Every point of the race in course order, hourly witness entries in the gaps."""
    zero = result.zero_ms
    flags = _flags_by_point(result.flags)
    start_name = race.start_point.id if race.start_point is not None else "gun"
    timed: list[LogEntry] = [
        LogEntry(
            "start",
            start_name,
            "0",
            clock(zero, tz),
            format_duration(0) or "",
            0,
            "",
            flags.pop(PointRef(start_name), ()),
            "start mat" if result.start_ms is not None else "the wave's gun",
        )
    ]
    passed = {s.point for s in result.splits}
    lap_race = race.is_lap_race
    for number, split in enumerate(result.splits, start=1):
        if not lap_race:
            _not_read_before(timed, race, split.point, passed, flags)
        at = clock(split.time_ms, tz)
        # A lap race's flags name the crossing, the road's the point.
        key = (
            PointRef.crossing(split.point, split.time_ms, tz) if lap_race else PointRef(split.point)
        )
        timed.append(
            LogEntry(
                "point",
                f"lap {number}" if lap_race else split.point,
                f"{split.distance_m / 1000:g}",
                at,
                format_duration(split.chip_time_ms) or "",
                split.chip_time_ms,
                format_duration(split.segment_time_ms) or "",
                flags.pop(key, ()),
                "manual entry" if split.manual else "",
            )
        )
    if not lap_race:
        _not_read_before(timed, race, None, passed, flags)
    entries = _with_hourly(timed, zero, tz)
    if flags:  # flags at no point the log shows (a runner-wide verdict)
        rest = tuple(f for point in sorted(flags, key=str) for f in flags[point])
        entries.append(LogEntry("other", "", "", "", "", None, "", rest, "flags of the run"))
    return tuple(entries)


def _not_read_before(
    timed: list[LogEntry],
    race: Race,
    point: str | None,
    passed: set[str],
    flags: dict[PointRef, tuple[LogFlag, ...]],
) -> None:
    """Points of the course before `point` (None: to the finish) not yet in the log and
    not passed: each gets a 'not read' entry for the witnesses."""
    logged = {e.point for e in timed}
    for p in race.points:
        if p.id == point:
            return
        if p.id in logged or p.id in passed or p.distance_m == 0:
            continue
        timed.append(
            LogEntry(
                "not read",
                p.id,
                f"{p.distance_m / 1000:g}",
                "",
                "",
                None,
                "",
                flags.pop(PointRef(p.id), ()),
                f"not read by the timing: {WITNESS}",
            )
        )


def _with_hourly(timed: list[LogEntry], zero: int, tz: ZoneInfo) -> list[LogEntry]:
    """Witness entries on each hour after an entry the next timed one is more than an
    hour from, so no two timed entries of the log are over an hour apart."""
    out: list[LogEntry] = []
    last: int | None = None
    for entry in timed:
        if entry.elapsed_ms is not None:
            while last is not None and entry.elapsed_ms - last > HOUR_MS:
                last += HOUR_MS
                out.append(
                    LogEntry(
                        "witness",
                        "",
                        "",
                        clock(zero + last, tz),
                        format_duration(last) or "",
                        last,
                        "",
                        (),
                        f"hourly entry, no timing point: {WITNESS}",
                    )
                )
            last = entry.elapsed_ms
        out.append(entry)
    return out


def _flags_by_point(flags: Iterable[RunnerFlag]) -> dict[PointRef, tuple[LogFlag, ...]]:
    found: dict[PointRef, list[LogFlag]] = {}
    for f in flags:
        found.setdefault(f.point, []).append(
            LogFlag(str(f.point), f.code, f.status, str(f.confidence), compact(dict(f.evidence)))
        )
    return {k: tuple(v) for k, v in found.items()}


def sync_rows(result: Result, race: Race, tz: ZoneInfo) -> tuple[SyncRow, ...]:
    """The chip time of the start and of each split, to align footage with."""
    zero = result.zero_ms
    start = race.start_point.id if race.start_point is not None else "gun"
    rows = [
        SyncRow(
            start,
            "0",
            clock(zero, tz),
            utc_iso(zero),
            format_duration(0) or "",
            format_duration(zero - result.gun_ms) or "",
            False,
        )
    ]
    for split in result.splits:
        rows.append(
            SyncRow(
                split.point,
                f"{split.distance_m / 1000:g}",
                clock(split.time_ms, tz),
                utc_iso(split.time_ms),
                format_duration(split.chip_time_ms) or "",
                format_duration(split.time_ms - result.gun_ms) or "",
                split.manual,
            )
        )
    return tuple(rows)
