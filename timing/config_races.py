"""The `[[races]]` of `event.toml`: each race with its waves and points, and the checks
that span keys (points in course order, the finish at the race distance, the layout of
a lap race)."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from timing.config import Point, Race, ReaderConfig, Wave
from timing.config_check import Checker
from timing.config_check import Path as KeyPath
from timing.times import local_ms

# The keys of a race that describe its sanction and course certificate.
COURSE_KEYS = ("sanctioning_body", "sanction", "certified_by", "certificate",
               "certificate_valid_until")  # fmt: skip


def race_from(
    check: Checker,
    item: dict[str, Any],
    path: KeyPath,
    readers: dict[str, ReaderConfig],
    day: date,
    tz: ZoneInfo,
) -> Race:
    values = check.values(item, path, "races")
    laps, lap_m, duration = _lap_keys(check, item, values, path)
    cutoff = values["cutoff"]
    waves = []
    for j, wave in enumerate(check.items(item, path, "races.waves")):
        got = check.values(wave, (*path, "waves", j), "races.waves")
        waves.append(Wave(id=got["id"], start=got["start"], gun_ms=local_ms(day, got["start"], tz)))
    unique(check, [(w.id, (*path, "waves", j, "id")) for j, w in enumerate(waves)], "wave id")
    points = [
        _point(check, p, (*path, "points", j), readers)
        for j, p in enumerate(check.items(item, path, "races.points"))
    ]
    unique(check, [(p.id, (*path, "points", j, "id")) for j, p in enumerate(points)], "point id")
    distance = values["distance_m"]
    if distance is None and duration is not None and lap_m is not None:
        distance = lap_m  # a timed race: the lap line is one lap from the start
    elif distance is None:
        if "distance_m" not in item:
            check.add((*path, "distance_m"), "is required")
        # Reported already: the finish stands in, so that it is not reported again.
        distance = points[-1].distance_m if points else 0.0
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
    min_lap = values["min_lap_s"] if lap_m is not None else None
    return Race(
        id=values["id"],
        name=values["name"] or values["id"],
        distance_m=distance,
        chips=values["chips"] if isinstance(values["chips"], tuple) else tuple(values["chips"]),
        ranking=values["ranking"],
        cutoff_ms=cutoff,
        waves=tuple(waves),
        points=tuple(points),
        laps=laps,
        lap_m=lap_m,
        duration_ms=duration,
        min_lap_ms=round(min_lap * 1000) if min_lap is not None else None,
        course=tuple((k, values[k]) for k in COURSE_KEYS if values[k] is not None),
    )


def _lap_keys(
    check: Checker, item: dict[str, Any], values: dict[str, Any], path: KeyPath
) -> tuple[int | None, float | None, int | None]:
    """`laps`, `lap_m`, `duration` of a race that go together: (laps, lap m, duration ms),
    all None unless the race is a usable lap race."""
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
    laps, lap_m, duration = values["laps"], values["lap_m"], values["duration"]
    if lap_m is None or (laps is None and duration is None):
        return None, None, None
    return laps, lap_m, duration


def _lap_layout(
    check: Checker,
    path: KeyPath,
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
    check: Checker, item: dict[str, Any], path: KeyPath, readers: dict[str, ReaderConfig]
) -> Point:
    values = check.values(item, path, "races.points")
    reader = values["reader"]
    if reader and reader not in readers:
        check.add(
            (*path, "reader"),
            f"unknown reader {reader!r} (readers: {', '.join(sorted(readers)) or 'none'})",
        )
    antennas, upstream = values["antennas"], values["upstream"]
    downstream, oncoming = values["downstream"], values["oncoming"]
    if bool(upstream) != bool(downstream):
        check.add(path, "a gate needs both upstream = [..] and downstream = [..]")
    if bool(antennas) == bool(upstream):
        check.add(path, "give either antennas = [..] or upstream + downstream, not both or none")
    used = [*antennas, *upstream, *downstream, *oncoming]
    if len(used) != len(set(used)):
        check.add(path, "an antenna is on two lines of the point")
    return Point(
        id=values["id"],
        distance_m=values["distance_m"],
        reader=reader,
        antennas=antennas,
        upstream=upstream,
        downstream=downstream,
        oncoming=oncoming,
    )


def unique(check: Checker, items: list[tuple[str, KeyPath]], what: str) -> None:
    seen: set[str] = set()
    for value, path in items:
        if value in seen:
            check.add(path, f"duplicate {what} {value!r}")
        seen.add(value)
