"""Crossings: a chip's many reads at one antenna line become one crossing.

A crossing opens at a read and takes every later read of the same chip at the same
line up to `window_ms` after that first read (inclusive). Its time is the read of
peak RSSI (the chip closest to the antennas), else the first read. Each crossing
keeps the ids of the reads it was made from.
"""

from __future__ import annotations

from dataclasses import dataclass

# A read in a line bucket: (corrected time ms, read id, rssi or None). Sorting the
# tuples orders by time then id, which is total because ids are unique.
BucketRead = tuple[int, int, float | None]
LineKey = tuple[str, tuple[int, ...]]  # (reader id, antennas of the line)


@dataclass(frozen=True, slots=True)
class Crossing:
    chip: str
    line: LineKey
    time_ms: int
    first_ms: int
    last_ms: int
    reads: int
    peak_rssi: float | None
    read_ids: tuple[int, ...]
    manual: bool = False  # entered by the director, not read


def cluster(chip: str, line: LineKey, bucket: list[BucketRead], window_ms: int) -> list[Crossing]:
    """Crossings of one chip at one line from its reads sorted by (time, id)."""
    crossings: list[Crossing] = []
    start = 0
    count = len(bucket)
    while start < count:
        first = bucket[start][0]
        end = start + 1
        while end < count and bucket[end][0] - first <= window_ms:
            end += 1
        crossings.append(_crossing(chip, line, bucket, start, end))
        start = end
    return crossings


def _crossing(chip: str, line: LineKey, bucket: list[BucketRead], start: int, end: int) -> Crossing:
    group = bucket[start:end]
    peak = None
    time_ms = group[0][0]
    for t, _rid, rssi in group:
        if rssi is not None and (peak is None or rssi > peak):
            peak, time_ms = rssi, t
    return Crossing(
        chip, line, time_ms, group[0][0], group[-1][0], len(group), peak, tuple(r[1] for r in group)
    )
