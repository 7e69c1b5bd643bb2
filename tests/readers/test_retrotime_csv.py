"""`retrotime-csv`: the README line, the values the journal cannot hold, round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readers.formats import get_format
from readers.read import FormatContext, ParseError, Read

LONDON = ZoneInfo("Europe/London")
FMT = get_format("retrotime-csv")
CTX = FormatContext("FIN", LONDON)
README_LINE = "FIN,058003700123,2,2026-04-12T11:40:17.843+01:00,-48.5"  # README, Reader formats


def test_the_readme_line() -> None:
    when = datetime(2026, 4, 12, 10, 40, 17, 843_000, tzinfo=UTC)
    ms = (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    assert FMT.parse(README_LINE, CTX) == Read("FIN", "058003700123", 2, ms, -48.5)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (README_LINE.replace(",2,", ",2147483648,"), "antenna 2147483648"),
        (README_LINE.replace(",2,", "," + "9" * 5000 + ","), "at most 19 digits"),
        (README_LINE.replace(",2,", ", 2,"), "antenna ' 2'"),
        (README_LINE.replace(",2,", ",\u0662,"), "antenna"),
        (README_LINE.replace("-48.5", "nan"), "rssi nan"),
        (README_LINE.replace("-48.5", "inf"), "rssi inf"),
        (README_LINE.replace("-48.5", "1e999"), "rssi inf"),
        (README_LINE.replace("-48.5", "-" + "9" * 400), "rssi"),
        (README_LINE.replace("2026-", "9999-"), "between 1970 and 2100"),
        (README_LINE.replace("2026-", "0001-").replace("+01:00", "+14:00"), "1970 and 2100"),
        (README_LINE.replace("FIN", "F\x00N"), "printable"),
        (README_LINE.replace("058003700123", "0" * 129), "chip of 129"),
    ],
)
def test_values_the_journal_cannot_hold_are_quarantined(line: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        FMT.parse(line, CTX)


@given(
    chip=st.from_regex(r"[0-9A-Za-z]{1,24}", fullmatch=True),
    antenna=st.integers(1, 2**31 - 1),
    time_ms=st.integers(0, 4_102_444_799_999),
    rssi=st.none() | st.integers(-9990, 9990).map(lambda r: r / 10),
)
def test_round_trip(chip: str, antenna: int, time_ms: int, rssi: float | None) -> None:
    # The offset travels with the time: every instant comes back, repeated hour included.
    read = Read("FIN", chip, antenna, time_ms, rssi)
    assert FMT.parse(FMT.emit(read, CTX), CTX) == read
