"""Record watch: a projected finish for a runner still on course, from their own splits.

A runner's elapsed time at distance d is taken to follow T(d) = a x d^b (Riegel's
form), with b fitted to their own splits by least squares on log time against log
distance: a runner who fades gets b above 1 and a later projected finish than a
constant pace gives. With one split, b is Riegel's 1.06. b is kept within 1.0-1.3 so
a noisy early split cannot promise the impossible.
"""

from __future__ import annotations

import math

from timing.results import Split

MIN_EXPONENT, MAX_EXPONENT = 1.0, 1.3


def fade_exponent(points: list[tuple[float, int]], default: float) -> float:
    """b of T = a x d^b fitted to (distance m, elapsed ms) points."""
    if len(points) < 2:
        return default
    xs = [math.log(d) for d, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var <= 0:
        return default
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var
    return min(MAX_EXPONENT, max(MIN_EXPONENT, b))


def project_ms(splits: list[Split], distance_m: float, default: float) -> int | None:
    """Projected elapsed time (from the same zero as the splits) at `distance_m`."""
    points = [(s.distance_m, s.chip_time_ms) for s in splits if s.distance_m > 0]
    points = [(d, t) for d, t in points if t > 0 and d < distance_m]
    if not points:
        return None
    b = fade_exponent(points, default)
    d_last, t_last = points[-1]
    return round(t_last * (distance_m / d_last) ** b)
