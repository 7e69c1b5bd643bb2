"""The pace chart of an athlete page: one point per split, drawn as inline SVG.

x is the distance of the split along the course, y the pace of the segment that ends
there (seconds per km), faster higher up. Coordinates are rounded to a tenth of a
pixel so the same splits always give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from results.format import format_pace
from timing.results import Split

WIDTH, HEIGHT = 480, 250
LEFT, RIGHT, TOP, BOTTOM = 48, 14, 24, 44


@dataclass(frozen=True, slots=True)
class ChartPoint:
    x: float
    y: float
    label: str  # the point's tooltip and accessible text


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # pixel position along its axis
    label: str


@dataclass(frozen=True, slots=True)
class PaceChart:
    width: int
    height: int
    left: int
    top: int
    right: int  # x of the plot's right edge
    bottom: int  # y of the plot's bottom edge
    points: tuple[ChartPoint, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    description: str

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:g},{p.y:g}" for p in self.points)


def segment_pace(split: Split, previous_m: float) -> float | None:
    """Seconds per km of the segment that ends at `split`."""
    metres = split.distance_m - previous_m
    if metres <= 0:
        return None
    return split.segment_time_ms / 1000 / (metres / 1000)


def pace_chart(splits: list[Split], distance_m: float) -> PaceChart | None:
    """The chart of a runner's splits; None when no split has a pace."""
    paced: list[tuple[Split, float]] = []
    previous = 0.0
    for split in splits:
        pace = segment_pace(split, previous)
        if pace is not None:
            paced.append((split, pace))
        previous = split.distance_m
    if not paced:
        return None
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    span_m = max(distance_m, max(s.distance_m for s, _ in paced)) or 1.0
    paces = [p for _, p in paced]
    low, high = min(paces), max(paces)
    pad = max(10.0, (high - low) * 0.1)
    low, high = max(0.0, low - pad), high + pad

    def x_of(metres: float) -> float:
        return round(LEFT + (right - LEFT) * metres / span_m, 1)

    def y_of(pace: float) -> float:
        return round(TOP + (bottom - TOP) * (pace - low) / (high - low), 1)

    points = tuple(
        ChartPoint(
            x_of(split.distance_m),
            y_of(pace),
            f"{split.point} ({split.distance_m / 1000:g} km): {format_pace(pace)}",
        )
        for split, pace in paced
    )
    x_ticks = tuple(Tick(x_of(m), f"{m / 1000:g}") for m in _distance_ticks(span_m))
    steps = 4
    y_ticks = tuple(
        Tick(y_of(pace), format_pace(pace).removesuffix(" /km"))
        for pace in (low + (high - low) * i / steps for i in range(steps + 1))
    )
    fastest = min(paced, key=lambda sp: sp[1])
    slowest = max(paced, key=lambda sp: sp[1])
    description = (
        f"Pace per segment at {len(points)} split(s); fastest {format_pace(fastest[1])} "
        f"to {fastest[0].point}, slowest {format_pace(slowest[1])} to {slowest[0].point}."
    )
    return PaceChart(WIDTH, HEIGHT, LEFT, TOP, right, bottom, points, x_ticks, y_ticks, description)


def _distance_ticks(span_m: float) -> list[float]:
    """Round kilometre marks: about five of them, always including the start."""
    km = span_m / 1000
    step = next((s for s in (1, 2, 5, 10, 20, 50, 100) if km / s <= 6), 200)
    return [i * step * 1000 for i in range(int(km // step) + 1)]
