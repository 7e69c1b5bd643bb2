"""What a zone-less local wall time keeps of an instant, computed with datetime alone
(not the code under test): the formats' round trips compare against it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def over_the_wire(time_ms: int, tz: ZoneInfo) -> int:
    """The instant a reader's local wall time of `time_ms` is read back as.

    The same, except in the hour repeated when DST ends: its second pass (fold 1) shows
    the same wall time as the first, and is read back as the first pass.
    """
    local = datetime.fromtimestamp(time_ms / 1000, tz)
    if not local.fold:
        return time_ms
    first = local.replace(fold=0)
    repeated = first.utcoffset() - local.utcoffset()
    return time_ms - repeated // timedelta(milliseconds=1)


def repeated_hour_ms(year: int, tz: ZoneInfo) -> tuple[int, int] | None:
    """[start, end) in epoch ms of the second pass of the hour DST ends in, in `year`."""
    start = int(datetime(year, 10, 1, tzinfo=tz).timestamp())
    for hour in range(24 * 92):  # October to December, hour by hour
        at = start + hour * 3600
        if datetime.fromtimestamp(at, tz).fold:
            return at * 1000, at * 1000 + 3_600_000
    return None


def instants(tz: ZoneInfo, first_year: int = 2000, last_year: int = 2099):
    """Epoch ms from `first_year` to `last_year`, a third of them in a repeated hour."""
    from hypothesis import strategies as st

    lo = int(datetime(first_year, 1, 1, tzinfo=tz).timestamp() * 1000)
    hi = int(datetime(last_year, 12, 31, tzinfo=tz).timestamp() * 1000)

    def in_repeated_hour(year: int) -> st.SearchStrategy[int]:
        span = repeated_hour_ms(year, tz)
        return st.integers(lo, hi) if span is None else st.integers(span[0], span[1] - 1)

    return st.integers(lo, hi) | st.integers(first_year, last_year).flatmap(in_repeated_hour)
