"""`event.toml`: the event, its readers, races, waves and timing points.

Loading collects every problem at once (file, line, field) and raises `FolderError`,
so a timer fixes a folder in one pass instead of one error per run.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from timing.errors import Problem
from timing.flags import FLAG_CODES, LAP_CODES
from timing.times import local_ms, parse_duration, parse_time_of_day

DEFAULT_AGE_BOUNDS = (20, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80)
DEFAULT_DEDUPE_WINDOW_S = 3.0


@dataclass(frozen=True, slots=True)
class Validation:
    """`[validation]`: the thresholds of the backwards checks (README, "Backwards
    validation and records"). Each key: default, (low, high) bounds, meaning."""

    pace_tolerance: float = 0.03  # a segment this much under record pace is flagged
    riegel_exponent: float = 1.06  # T2 = T1 x (D2/D1)^exponent
    gate_min_gap_s: float = 0.2  # a gate's two lines closer in time than this tell no direction
    facing_min_reads: int = 4  # the leading chip's reads at an oncoming panel, at least
    facing_min_db: float = 6.0  # its peak RSSI above the other chip's, at least
    chip_gap_s: float = 5.0  # both chips at one point further apart than this: separated
    lost_chip_chance: float = 0.001  # a chip unread to the end by chance less likely: lost
    shortcut_pace_ratio: float = 0.85  # across a missed point, under this x own pace: shortcut
    min_read_share: float = 0.55  # chips read less fully are "sparse": no lost-chip verdict
    missed_lap_ratio: float = 1.6  # a lap over this x the runner's median lap: MISSED_LAP


VALIDATION_BOUNDS: dict[str, tuple[float, float]] = {
    "pace_tolerance": (0.0, 0.5),
    "riegel_exponent": (1.0, 1.3),
    "gate_min_gap_s": (0.0, 10.0),
    "facing_min_reads": (1, 1000),
    "facing_min_db": (0.0, 60.0),
    "chip_gap_s": (0.5, 600.0),
    "lost_chip_chance": (0.0, 1.0),
    "shortcut_pace_ratio": (0.1, 1.0),
    "min_read_share": (0.0, 1.0),
    "missed_lap_ratio": (1.1, 4.0),
}
DEFAULT_WATCH_MARGIN = 0.05


@dataclass(frozen=True, slots=True)
class ReaderConfig:
    id: str
    format: str
    port: str
    baudrate: int = 9600
    clock_offset_s: float = 0.0
    devices: tuple[tuple[str, int], ...] = ()  # a reader's own device names -> antennas

    @property
    def clock_offset_ms(self) -> int:
        return round(self.clock_offset_s * 1000)


@dataclass(frozen=True, slots=True)
class Wave:
    id: str
    start: time
    gun_ms: int  # the configured gun; a director may record the real one later


@dataclass(frozen=True, slots=True)
class Point:
    id: str
    distance_m: float
    reader: str
    antennas: tuple[int, ...] = ()  # one mat line
    upstream: tuple[int, ...] = ()  # a gate: the line met first along the course
    downstream: tuple[int, ...] = ()
    oncoming: tuple[int, ...] = ()  # panels facing approaching runners (evidence only)

    @property
    def is_gate(self) -> bool:
        return bool(self.upstream)

    def lines(self) -> dict[str, tuple[int, ...]]:
        """The timing lines of the point by role; each is one antenna group."""
        found = {"mat": self.antennas, "upstream": self.upstream, "downstream": self.downstream}
        return {role: ants for role, ants in found.items() if ants}


@dataclass(frozen=True, slots=True)
class Race:
    id: str
    name: str
    distance_m: float
    chips: tuple[str, ...]
    ranking: str  # "chip" or "gun"
    cutoff_ms: int | None
    waves: tuple[Wave, ...]
    points: tuple[Point, ...]
    # Lap races (README, "Track and timed races"): the last point is the lap line.
    laps: int | None = None  # crossings of the lap line after the start that finish the race
    lap_m: float | None = None  # length of one lap
    duration_ms: int | None = None  # a timed race: laps completed when the time runs out
    min_lap_ms: int | None = None  # a lap faster than this is not one (None: from the records)

    @property
    def is_lap_race(self) -> bool:
        """Timed races are lap races too: both count crossings of one lap line."""
        return self.lap_m is not None

    @property
    def is_timed(self) -> bool:
        return self.duration_ms is not None

    @property
    def lap_point(self) -> Point | None:
        return self.points[-1] if self.is_lap_race and self.points else None

    def lap_distance_m(self, number: int) -> float:
        """How far from the start the `number`-th counted crossing of the lap line is."""
        assert self.lap_m is not None
        if self.laps is not None:
            return self.distance_m - (self.laps - number) * self.lap_m
        return self.points[-1].distance_m + (number - 1) * self.lap_m

    @property
    def start_point(self) -> Point | None:
        first = self.points[0] if self.points else None
        return first if first is not None and first.distance_m == 0 else None

    @property
    def finish_point(self) -> Point:
        return self.points[-1]

    def wave(self, wave_id: str) -> Wave | None:
        return next((w for w in self.waves if w.id == wave_id), None)


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    date: date
    timezone: ZoneInfo
    readers: dict[str, ReaderConfig]
    races: tuple[Race, ...]
    age_bounds: tuple[int, ...] = DEFAULT_AGE_BOUNDS
    dedupe_window_ms: int = round(DEFAULT_DEDUPE_WINDOW_S * 1000)
    extra: dict[str, Any] = field(default_factory=dict)  # tables later issues read
    validation: Validation = field(default_factory=Validation)
    dq_on: tuple[str, ...] = ()  # [rules]: a confirmed flag of these codes makes a DQ
    watch_margin: float = DEFAULT_WATCH_MARGIN  # [records]: "within margin" of a record
    world_bests: bool = True  # [records]: use the shipped world bests as well

    def race(self, race_id: str) -> Race | None:
        return next((r for r in self.races if r.id == race_id), None)


class _Locator:
    """Line numbers for keys of a TOML file, which tomllib does not report."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")

    def __init__(self, text: str) -> None:
        self.headers: dict[tuple[Any, ...], int] = {}
        self.keys: dict[tuple[Any, ...], int] = {}
        counts: dict[tuple[Any, ...], int] = {}
        current: tuple[Any, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            match = self._HEADER.match(line)
            if match:
                current = self._path(match.group(1) == "[[", match.group(2).split("."), counts)
                self.headers[current] = number
                continue
            key = re.match(r"^\s*([A-Za-z0-9_\-]+)\s*=", line)
            if key:
                self.keys.setdefault((*current, key.group(1)), number)

    def _path(
        self, is_array: bool, names: list[str], counts: dict[tuple[Any, ...], int]
    ) -> tuple[Any, ...]:
        path: tuple[Any, ...] = ()
        for depth, name in enumerate(names):
            path = (*path, name)
            last = depth == len(names) - 1
            if last and is_array:
                counts[path] = counts.get(path, -1) + 1
                # A new array item restarts the counts of the arrays nested in it.
                for other in [p for p in counts if p[: len(path)] == path and len(p) > len(path)]:
                    del counts[other]
                path = (*path, counts[path])
            elif not last and path in counts:
                path = (*path, counts[path])
        return path

    def line(self, *path: Any) -> int | None:
        return self.keys.get(path) or self.headers.get(path) or self.headers.get(path[:-1])


class _Checker:
    def __init__(self, file: str, locator: _Locator) -> None:
        self.file = file
        self.at = locator
        self.problems: list[Problem] = []

    def add(self, path: tuple[Any, ...], message: str) -> None:
        name = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
        self.problems.append(Problem(self.file, self.at.line(*path), name, message))

    def text(self, table: dict[str, Any], path: tuple[Any, ...], key: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            self.add((*path, key), "is required and must be a non-empty string")
            return ""
        return value.strip()

    def number(self, table: dict[str, Any], path: tuple[Any, ...], key: str, default: Any = None):
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(
                (*path, key),
                "is required and must be a number" if default is None else "must be a number",
            )
            return default if default is not None else 0
        return value

    def devices(
        self, table: dict[str, Any], path: tuple[Any, ...], key: str
    ) -> tuple[tuple[str, int], ...]:
        value = table.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(a, int) and not isinstance(a, bool) and 1 <= a < 2**31
            for a in value.values()
        ):
            self.add((*path, key), 'must be a table of device names to antennas, { "A" = 1 }')
            return ()
        return tuple(value.items())

    def antennas(self, table: dict[str, Any], path: tuple[Any, ...], key: str) -> tuple[int, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in value
        ):
            self.add((*path, key), "must be a list of antenna numbers (1 or more)")
            return ()
        return tuple(value)


def load_event(path: Path, formats: set[str] | None = None) -> tuple[Event | None, list[Problem]]:
    """Parse event.toml; return the event (None if unusable) and every problem found.

    `formats` are the reader-format names the caller knows (timing/ does not parse
    reader lines, so it does not know them itself).
    """
    file = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None, [Problem(file, None, "-", "file not found")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [Problem(file, getattr(exc, "lineno", None), "-", f"not valid TOML: {exc}")]
    check = _Checker(file, _Locator(text))
    meta = data.get("event", {})
    name = check.text(meta, ("event",), "name")
    day = _date(check, meta.get("date"), ("event", "date"))
    tz = _zone(check, meta.get("timezone"), ("event", "timezone"))
    readers = _readers(check, data.get("readers", []), formats)
    timing = data.get("timing", {})
    window = check.number(timing, ("timing",), "dedupe_window_s", DEFAULT_DEDUPE_WINDOW_S)
    bounds = _age_bounds(check, data.get("categories", {}))
    races = tuple(
        _race(check, race, ("races", i), readers, day, tz)
        for i, race in enumerate(data.get("races", []))
    )
    if not races:
        check.add(("races",), "at least one [[races]] table is required")
    _unique(check, [(r.id, ("races", i, "id")) for i, r in enumerate(races)], "race id")
    known = {"event", "readers", "races", "timing", "categories", "validation", "rules", "records"}
    extra = {k: v for k, v in data.items() if k not in known}
    validation = _validation(check, data.get("validation", {}))
    dq_on = _dq_on(check, data.get("rules", {}))
    margin, bests = _records(check, data.get("records", {}))
    event = Event(
        name,
        day,
        tz,
        readers,
        races,
        bounds,
        round(window * 1000),
        extra,
        validation,
        dq_on,
        margin,
        bests,
    )
    return event, check.problems


def _table(check: _Checker, value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        check.add((name,), f"must be a table [{name}]")
        return {}
    return value


def _validation(check: _Checker, value: Any) -> Validation:
    table = _table(check, value, "validation")
    defaults = Validation()
    values: dict[str, Any] = {}
    for key in table:
        if key not in VALIDATION_BOUNDS:
            check.add(("validation", key), f"unknown key (known: {', '.join(VALIDATION_BOUNDS)})")
    for key, (low, high) in VALIDATION_BOUNDS.items():
        default = getattr(defaults, key)
        number = check.number(table, ("validation",), key, default)
        if not low <= number <= high:
            check.add(("validation", key), f"{number!r} must be between {low:g} and {high:g}")
            number = default
        values[key] = int(number) if isinstance(default, int) else float(number)
    return Validation(**values)


def _dq_on(check: _Checker, value: Any) -> tuple[str, ...]:
    codes = _table(check, value, "rules").get("dq_on", [])
    offences = [c for c in FLAG_CODES if c not in LAP_CODES]
    if not isinstance(codes, list) or any(c not in FLAG_CODES for c in codes):
        check.add(("rules", "dq_on"), f"must be a list of flag codes ({', '.join(offences)})")
        return ()
    counts = [c for c in codes if c in LAP_CODES]
    if counts:
        check.add(
            ("rules", "dq_on"),
            f"{', '.join(counts)}: confirming one corrects the lap count, it is no offence "
            f"(offences: {', '.join(offences)})",
        )
        return ()
    return tuple(dict.fromkeys(codes))


def _records(check: _Checker, value: Any) -> tuple[float, bool]:
    table = _table(check, value, "records")
    margin = check.number(table, ("records",), "watch_margin", DEFAULT_WATCH_MARGIN)
    if not 0 <= margin <= 1:
        check.add(("records", "watch_margin"), f"{margin!r} must be between 0 and 1")
        margin = DEFAULT_WATCH_MARGIN
    bests = table.get("world_bests", True)
    if not isinstance(bests, bool):
        check.add(("records", "world_bests"), "must be true or false")
        bests = True
    return float(margin), bests


def _date(check: _Checker, value: Any, path: tuple[Any, ...]) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        check.add(path, f"{value!r} is not an ISO date like 2026-04-12")
        return date(1970, 1, 1)


def _zone(check: _Checker, value: Any, path: tuple[Any, ...]) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        check.add(path, f"{value!r} is not an IANA timezone like Europe/London")
        return ZoneInfo("UTC")


def _readers(check: _Checker, items: Any, formats: set[str] | None) -> dict[str, ReaderConfig]:
    readers: dict[str, ReaderConfig] = {}
    for i, item in enumerate(items):
        path = ("readers", i)
        rid = check.text(item, path, "id")
        if rid in readers:
            check.add((*path, "id"), f"duplicate reader id {rid!r}")
        fmt = item.get("format")
        if formats is not None and isinstance(fmt, str) and fmt not in formats:
            check.add(
                (*path, "format"),
                f"unknown reader format {fmt!r} (known: {', '.join(sorted(formats))})",
            )
        readers[rid] = ReaderConfig(
            rid,
            check.text(item, path, "format"),
            str(item.get("port", "")),
            int(check.number(item, path, "baudrate", 9600)),
            float(check.number(item, path, "clock_offset_s", 0.0)),
            check.devices(item, path, "devices"),
        )
    return readers


def _age_bounds(check: _Checker, table: dict[str, Any]) -> tuple[int, ...]:
    bounds = table.get("age_bounds", list(DEFAULT_AGE_BOUNDS))
    ok = isinstance(bounds, list) and all(isinstance(b, int) for b in bounds)
    if not ok or bounds != sorted(set(bounds)):
        check.add(("categories", "age_bounds"), "must be a list of increasing whole ages")
        return DEFAULT_AGE_BOUNDS
    return tuple(bounds)


def _race(
    check: _Checker,
    item: dict[str, Any],
    path: tuple[Any, ...],
    readers: dict[str, ReaderConfig],
    day: date,
    tz: ZoneInfo,
) -> Race:
    rid = check.text(item, path, "id")
    laps, lap_m, duration, min_lap = _lap_keys(check, item, path)
    if duration is not None and lap_m is not None and "distance_m" not in item:
        distance = lap_m  # a timed race: the lap line is one lap from the start
    else:
        distance = float(check.number(item, path, "distance_m"))
    chips = item.get("chips", ["front"])
    if chips not in (["front"], ["front", "back"]):
        check.add((*path, "chips"), 'must be ["front"] or ["front", "back"]')
        chips = ["front"]
    ranking = item.get("ranking", "chip")
    if ranking not in ("chip", "gun"):
        check.add((*path, "ranking"), f'{ranking!r} must be "chip" or "gun"')
        ranking = "chip"
    cutoff = None
    if "cutoff" in item:
        try:
            cutoff = parse_duration(str(item["cutoff"]))
        except ValueError as exc:
            check.add((*path, "cutoff"), str(exc))
    waves = []
    for j, wave in enumerate(item.get("waves", [])):
        wpath = (*path, "waves", j)
        wid = check.text(wave, wpath, "id")
        try:
            start = parse_time_of_day(str(wave.get("start", "")))
        except ValueError as exc:
            check.add((*wpath, "start"), str(exc))
            start = time(0)
        waves.append(Wave(wid, start, local_ms(day, start, tz)))
    if not waves:
        check.add((*path, "waves"), "at least one [[races.waves]] table is required")
    _unique(check, [(w.id, (*path, "waves", j, "id")) for j, w in enumerate(waves)], "wave id")
    points = [
        _point(check, p, (*path, "points", j), readers)
        for j, p in enumerate(item.get("points", []))
    ]
    if not points:
        check.add((*path, "points"), "at least one [[races.points]] (the finish) is required")
    _unique(check, [(p.id, (*path, "points", j, "id")) for j, p in enumerate(points)], "point id")
    for j in range(1, len(points)):
        if points[j].distance_m <= points[j - 1].distance_m:
            check.add(
                (*path, "points", j, "distance_m"),
                f"{points[j].distance_m:g} m is not after the previous point "
                f"{points[j - 1].id!r} at {points[j - 1].distance_m:g} m",
            )
    if points and points[-1].distance_m != distance:
        check.add(
            (*path, "points", len(points) - 1, "distance_m"),
            f"the finish is at {points[-1].distance_m:g} m but the race is {distance:g} m",
        )
    if lap_m is not None:
        _lap_layout(check, path, points, distance, laps, lap_m, duration)
        if duration is not None and cutoff is not None:
            check.add((*path, "cutoff"), "a timed race (duration) has no cutoff")
    name = str(item.get("name", rid))
    return Race(
        rid,
        name,
        distance,
        tuple(chips),
        ranking,
        cutoff,
        tuple(waves),
        tuple(points),
        laps,
        lap_m,
        duration,
        min_lap,
    )


def _lap_keys(
    check: _Checker, item: dict[str, Any], path: tuple[Any, ...]
) -> tuple[int | None, float | None, int | None, int | None]:
    """`laps`, `lap_m`, `duration`, `min_lap_s` of a race: (laps, lap m, duration ms,
    min lap ms), each None where not given or not usable."""
    laps = item.get("laps")
    if laps is not None and (isinstance(laps, bool) or not isinstance(laps, int) or laps < 1):
        check.add((*path, "laps"), f"{laps!r} must be a whole number of crossings, 1 or more")
        laps = None
    lap_m = item.get("lap_m")
    if lap_m is not None and (
        isinstance(lap_m, bool) or not isinstance(lap_m, int | float) or lap_m <= 0
    ):
        check.add((*path, "lap_m"), f"{lap_m!r} must be a length in metres above 0")
        lap_m = None
    duration = None
    if "duration" in item:
        try:
            duration = parse_duration(str(item["duration"]))
        except ValueError as exc:
            check.add((*path, "duration"), str(exc))
        else:
            if duration <= 0:
                check.add((*path, "duration"), "must be longer than 0:00:00")
                duration = None
    min_lap = item.get("min_lap_s")
    if min_lap is not None and (
        isinstance(min_lap, bool) or not isinstance(min_lap, int | float) or min_lap <= 0
    ):
        check.add((*path, "min_lap_s"), f"{min_lap!r} must be a number of seconds above 0")
        min_lap = None
    if "laps" in item and "duration" in item:
        check.add(
            (*path, "duration"), "give laps (a distance race) or duration (a timed race), not both"
        )
    if ("laps" in item or "duration" in item) and "lap_m" not in item:
        key = "laps" if "laps" in item else "duration"
        check.add((*path, key), "a lap race needs lap_m, the length of one lap")
    if "lap_m" in item and "laps" not in item and "duration" not in item:
        check.add((*path, "lap_m"), "lap_m needs laps (a distance race) or duration (a timed race)")
    if "min_lap_s" in item and "lap_m" not in item:
        check.add((*path, "min_lap_s"), "min_lap_s applies to lap races only (laps or duration)")
    if lap_m is None or (laps is None and duration is None):
        return None, None, None, None
    return (
        laps,
        float(lap_m),
        duration,
        round(float(min_lap) * 1000) if min_lap is not None else None,
    )


def _lap_layout(
    check: _Checker,
    path: tuple[Any, ...],
    points: list[Point],
    distance: float,
    laps: int | None,
    lap_m: float,
    duration: int | None,
) -> None:
    """A lap race: a lap line (the last point), at most a start point before it."""
    key = "laps" if laps is not None else "duration"
    if not points:
        return  # reported already: no points
    if len(points) == 1 and points[0].distance_m == 0:
        check.add(
            (*path, key),
            f"{key} on a race without a lap line: its only point {points[0].id!r} is the start "
            "at 0 m; add the lap line as the last [[races.points]]",
        )
        return
    if len(points) > 2 or (len(points) == 2 and points[0].distance_m != 0):
        check.add(
            (*path, "points"),
            "a lap race has the lap line as its last point and at most a start point "
            "(at 0 m) before it",
        )
    line_m = points[-1].distance_m
    if laps is not None:
        first = distance - (laps - 1) * lap_m
        if not 0 < first <= lap_m:
            check.add(
                (*path, "laps"),
                f"{laps} crossings of a {lap_m:g} m lap cannot make {distance:g} m: the first "
                f"crossing would be {first:g} m from the start (it must be within one lap)",
            )
    elif duration is not None and not 0 < line_m <= lap_m:
        check.add(
            (*path, "points", len(points) - 1, "distance_m"),
            f"in a timed race the lap line is at most one lap ({lap_m:g} m) from the start, "
            f"not {line_m:g} m",
        )


def _point(
    check: _Checker, item: dict[str, Any], path: tuple[Any, ...], readers: dict[str, ReaderConfig]
) -> Point:
    reader = check.text(item, path, "reader")
    if reader and reader not in readers:
        check.add(
            (*path, "reader"),
            f"unknown reader {reader!r} (readers: {', '.join(sorted(readers)) or 'none'})",
        )
    antennas = check.antennas(item, path, "antennas")
    upstream = check.antennas(item, path, "upstream")
    downstream = check.antennas(item, path, "downstream")
    oncoming = check.antennas(item, path, "oncoming")
    if bool(upstream) != bool(downstream):
        check.add(path, "a gate needs both upstream = [..] and downstream = [..]")
    if bool(antennas) == bool(upstream):
        check.add(path, "give either antennas = [..] or upstream + downstream, not both or none")
    used = [*antennas, *upstream, *downstream, *oncoming]
    if len(used) != len(set(used)):
        check.add(path, "an antenna is on two lines of the point")
    return Point(
        check.text(item, path, "id"),
        float(check.number(item, path, "distance_m")),
        reader,
        antennas,
        upstream,
        downstream,
        oncoming,
    )


def _unique(check: _Checker, items: list[tuple[str, tuple[Any, ...]]], what: str) -> None:
    seen: set[str] = set()
    for value, path in items:
        if value in seen:
            check.add(path, f"duplicate {what} {value!r}")
        seen.add(value)
