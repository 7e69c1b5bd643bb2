"""The pace chart: one point per split, faster higher up, the same bytes every time."""

from __future__ import annotations

from results.chart import pace_chart
from results.format import category_key, format_pace, search_key, slug
from timing.results import Split


def split(point: str, metres: float, chip_ms: int, segment_ms: int) -> Split:
    return Split(point, metres, 0, chip_ms, segment_ms, None)


def test_one_point_per_split_and_faster_is_higher() -> None:
    splits = [
        split("5k", 5000, 1_800_000, 1_800_000),  # 6:00 /km
        split("10k", 10000, 3_900_000, 2_100_000),  # 7:00 /km
        split("finish", 21097.5, 7_900_000, 4_000_000),
    ]
    chart = pace_chart(splits, 21097.5)
    assert chart is not None
    assert len(chart.points) == 3
    assert chart.points[0].y < chart.points[1].y  # 6:00 is drawn above 7:00
    assert [p.x for p in chart.points] == sorted(p.x for p in chart.points)
    assert chart.points[-1].x == chart.right
    assert chart.points[0].label == "5k (5 km): 6:00 /km"
    assert all(chart.top <= p.y <= chart.bottom for p in chart.points)
    assert chart == pace_chart(splits, 21097.5)
    assert chart.polyline.count(",") == 3


def test_no_splits_no_chart_and_one_split_still_drawn() -> None:
    assert pace_chart([], 5000) is None
    chart = pace_chart([split("finish", 5000, 1_500_000, 1_500_000)], 5000)
    assert chart is not None and len(chart.points) == 1
    assert chart.y_ticks[0].label < chart.y_ticks[-1].label  # padded around one pace


def test_helpers() -> None:
    assert format_pace(363.9) == "6:03 /km" and format_pace(None) == ""
    assert slug("101") == "101" and slug("M80+") == "M80~2b"
    assert slug("..") == "~2e~2e" and slug("a/b") == "a~2fb" and slug("é") == "~c3a9"
    ordered = sorted(["M80+", "F20-34", "FU20", "F", "F35-39", "M20-34"], key=category_key)
    assert ordered == ["F", "FU20", "F20-34", "F35-39", "M20-34", "M80+"]
    assert search_key("Ines Fernández", "506", "") == "ines fernandez 506"
