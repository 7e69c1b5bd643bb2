"""The record book: shipped world bests, the event's records over them, verdicts and
claims on finishers, the director's confirmation, and the record watch on course."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from tests.timing.validation_race import HALF_M, POINTS, Reads, make_folder, results
from timing.engine import Engine
from timing.projection import fade_exponent, project_ms
from timing.records import (
    WORLD_BESTS,
    Record,
    RecordBook,
    load_world_bests,
    margin_text,
    merge_records,
    verdict,
)
from timing.report import claim_json, result_json, results_json
from timing.results import Split

COURSE = (
    "course,21097.5,F,,2:30:00,Maya Okafor,GBR,2025-04-13,Riverside,2025 results\n"
    "course,21097.5,M,,2:20:00,Tom Reyes,GBR,2025-04-13,Riverside,2025 results\n"
    "age-group,21097.5,F,F65-69,3:00:00,Ann Lee,GBR,2024-04-14,Riverside,2024 results\n"
)


def steady(total_s: int) -> dict[str, float]:
    """Segment times (s, whole ms) of an even-paced half marathon of `total_s`."""
    out, previous = {}, 0
    for point, distance in list(POINTS.items())[1:]:
        at = round(total_s * 1000 * distance / HALF_M)
        out[point] = (at - previous) / 1000
        previous = at
    return out


def record(scope: str, seconds: int, sex: str = "F", category: str = "", **kw) -> Record:
    fields = {"holder": "", "nation": "", "date": None, "venue": "", "source": ""} | kw
    return Record(scope, HALF_M, sex, category, seconds * 1000, **fields)


# ---- the book --------------------------------------------------------------------------


def test_shipped_world_bests_name_their_sources() -> None:
    with WORLD_BESTS.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(row["source"].strip() and row["status"] for row in rows)
    shipped = load_world_bests()
    assert all(r.ratified_by for r in shipped if r.status == "ratified")
    assert all(not r.ratified_by for r in shipped if r.status != "ratified")
    book = RecordBook(shipped)
    best = {
        (r.distance_m, r.sex): r
        for r in shipped
        if r in book.applicable(r.distance_m, r.sex, "", "")
    }
    xu = best[42195.0, "M"]
    assert (xu.holder, xu.nation, xu.venue, xu.time_ms) == (
        "Xu Zhenjun",
        "CHN",
        "Beijing",
        13_419_000,
    )
    assert xu.date is not None and xu.date.year == 2004
    sgh = best[HALF_M, "F"]
    assert (sgh.holder, sgh.nation, sgh.venue) == ("Shantelle Gaston-Hird", "GBR", "Manchester")
    assert sgh.time_ms == (2 * 3600 + 16 * 60 + 3) * 1000 and sgh.date == date(2019, 10, 13)
    aretz = best[HALF_M, "M"]
    assert (aretz.holder, aretz.time_ms, aretz.date) == (
        "Achim Aretz",
        6_029_000,
        date(2009, 11, 28),
    )
    for r in (xu, sgh, aretz):
        assert r.scope == "world" and r.status == "ratified"
        assert r.ratified_by == "Guinness World Records" and "Guinness" in r.source


def test_event_records_override_and_add_to_the_defaults() -> None:
    defaults = [record("world", 8163), record("world", 6029, "M")]
    mine = [record("world", 8000, holder="New"), record("course", 9000)]
    merged = merge_records(defaults, mine)
    assert [(r.scope, r.sex, r.time_ms) for r in merged] == [
        ("world", "M", 6_029_000),
        ("world", "F", 8_000_000),
        ("course", "F", 9_000_000),
    ]


def test_records_apply_by_sex_category_and_nation() -> None:
    book = RecordBook(
        [
            record("world", 8163),
            record("course", 9000, ""),
            record("age-group", 10800, "F", "F65-69"),
            record("national", 8500, nation="GBR"),
            record("national", 8400, nation="IRL"),
            record("course", 8000, "M"),
        ]
    )
    found = book.applicable(21100.0, "F", "F65-69", "GBR")  # 21.1 km is a half marathon
    assert [(r.scope, r.time_ms // 1000) for r in found] == [
        ("world", 8163),
        ("national", 8500),
        ("course", 9000),
        ("age-group", 10800),
    ]
    assert [r.scope for r in book.applicable(HALF_M, "F", "F35-39", "FRA")] == ["world", "course"]
    assert book.applicable(10000.0, "F", "F35-39", "GBR") == []


@pytest.mark.parametrize(
    ("time_ms", "expected"),
    [
        (8_162_999, "broken"),
        (8_162_900, "broken"),
        (8_163_000, "equalled"),
        (8_163_099, "equalled"),  # written 2:16:03.0, like the record
        (8_163_100, "within margin"),
        (round(8_163_000 * 1.05), "within margin"),
        (round(8_163_000 * 1.05) + 1, None),
    ],
)
def test_verdict_edges(time_ms: int, expected: str | None) -> None:
    assert verdict(time_ms, 8_163_000, 0.05) == expected


def test_margin_text() -> None:
    assert (margin_text(-1234), margin_text(61_000), margin_text(0)) == (
        "-0:00:01.2",
        "+0:01:01.0",
        "0:00:00.0",
    )


# ---- on results -------------------------------------------------------------------------


def test_a_finisher_lists_the_records_near_their_time(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, records=COURSE)
    reads = Reads(folder)
    reads.race(101, segment_s=steady(2 * 3600 + 29 * 60))  # 2:29:00, course record 2:30:00
    reads.race(102, segment_s=steady(3 * 3600))  # nowhere near the men's records
    found = results(folder, reads.rows)
    (course,) = map(claim_json, found["101"].records)  # the world best 2:16:03 is 9.5 % away
    assert course["scope"] == "course" and course["holder"] == "Maya Okafor"
    assert course["time"] == "2:30:00.0" and course["margin_ms"] == -60_000
    assert course["margin"] == "-0:01:00.0" and course["verdict"] == "broken"
    assert course["claim"] == "pending review"  # until the director reviews it
    assert found["102"].records == ()


def test_watch_margin_is_configurable(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, extra="[records]\nwatch_margin = 0.10\n")
    reads = Reads(folder)
    reads.race(101, segment_s=steady(2 * 3600 + 29 * 60))
    (world,) = map(claim_json, results(folder, reads.rows)["101"].records)
    assert world["scope"] == "world" and world["verdict"] == "within margin"
    assert world["claim"] is None and world["margin"] == "+0:12:57.0"


def test_a_record_with_open_flags_is_pending_review(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, records=COURSE)
    reads = Reads(folder)
    reads.race(101, segment_s=steady(2 * 3600 + 29 * 60), skip=("10k",), panel=False)
    engine = Engine(folder)
    (course,) = map(claim_json, results(folder, reads.rows, engine)["101"].records)
    assert course["claim"] == "pending review"
    engine.decide_flag("101", "MISSED_SPLIT", "10k", "dismissed", "ana", "mat unplugged")
    (course,) = map(claim_json, results(folder, [], engine)["101"].records)
    assert course["claim"] == "pending review"  # a flag dismissed is no record reviewed
    engine.confirm_record("101", "ana", "checked", scopes=["course"])
    (course,) = map(claim_json, results(folder, [], engine)["101"].records)
    assert course["claim"] == "confirmed"


def test_confirmed_course_record_enters_the_book(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, records=COURSE)
    reads = Reads(folder)
    reads.race(101, segment_s=steady(2 * 3600 + 29 * 60))  # 2:29:00
    reads.race(103, segment_s=steady(2 * 3600 + 29 * 60 + 30))  # 2:29:30, F65-69
    engine = Engine(folder)
    before = results(folder, reads.rows, engine)
    assert [r.verdict for r in before["103"].records] == ["broken", "broken"]
    engine.confirm_record("101", "ana", "photo finish checked", 5_000)
    after = results(folder, [], engine)
    (mine,) = map(claim_json, after["101"].records)
    assert mine["claim"] == "confirmed" and mine["holder"] == "Maya Okafor"
    course, age = map(claim_json, after["103"].records)
    assert course["holder"] == "Runner101 Retro" and course["verdict"] == "within margin"
    assert course["margin"] == "+0:00:30.0" and "confirmed by ana" in course["source"]
    assert age["scope"] == "age-group" and age["verdict"] == "broken"
    engine.withdraw_record("101")
    assert [r.verdict for r in results(folder, [], engine)["103"].records] == [
        "broken",
        "broken",
    ]


def test_world_record_claims_wait_for_ratification(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, records=COURSE)
    reads = Reads(folder)
    reads.race(101, segment_s=steady(2 * 3600 + 15 * 60))  # under 2:16:03
    engine = Engine(folder)
    engine.add_reads(reads.rows)
    engine.confirm_record("101", "ana")
    claims = {r.scope: r.claim for r in results(folder, [], engine)["101"].records}
    assert claims == {"world": "pending ratification", "course": "confirmed"}


def test_first_course_record_set_by_confirmation(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)  # no records.csv
    reads = Reads(folder)
    reads.race(102, segment_s=steady(2 * 3600))
    reads.race(104, segment_s=steady(2 * 3600 + 60))  # sex X: not measured against M
    reads.race(101, segment_s=steady(3 * 3600))
    engine = Engine(folder)
    engine.add_reads(reads.rows)
    engine.confirm_record("102", "ana", scopes=["course"])
    found = results(folder, [], engine)
    assert found["101"].records == () and found["104"].records == ()
    assert [r.scope for r in engine.book.applicable(HALF_M, "M", "M40-44", "GBR")] == [
        "world",
        "course",
    ]
    with pytest.raises(ValueError, match="unknown record scope"):
        engine.confirm_record("102", "ana", scopes=["galactic"])


# ---- record watch -----------------------------------------------------------------------


def test_projection_fits_the_runners_own_fade() -> None:
    even = [(5000.0, 1_500_000), (10000.0, 3_000_000), (15000.0, 4_500_000)]
    assert fade_exponent(even, 1.06) == pytest.approx(1.0)
    assert fade_exponent(even[:1], 1.06) == 1.06
    fading = [(5000.0, 1_500_000), (10000.0, 3_150_000), (15000.0, 4_950_000)]
    assert 1.05 < fade_exponent(fading, 1.06) < 1.15
    splits = [Split("x", d, 0, t, 0, None) for d, t in fading]
    assert project_ms(splits, HALF_M, 1.06) > 4_950_000 * HALF_M / 15000
    assert fade_exponent([(5000.0, 1_500_000), (10000.0, 2_000_000)], 1.06) == 1.0  # kept in range


def test_record_watch_for_a_runner_on_course(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, records=COURSE)
    reads = Reads(folder)
    reads.race(101, segment_s=steady(2 * 3600 + 20 * 60), skip=("finish",))  # 2:20 pace
    reads.race(103, segment_s=steady(2 * 3600 + 40 * 60), skip=("15k", "finish"))
    found = results(folder, reads.rows)
    on_course = found["101"]
    assert on_course.status == "RUN" and on_course.records == ()
    assert on_course.projected_finish_ms == pytest.approx(8_400_000, abs=1000)
    assert on_course.on_record_pace == ("course",)
    assert found["103"].on_record_pace == ("age-group",)  # 2:40 beats the F65-69 3:00:00
    data = result_json(on_course, folder.event.timezone)
    assert data["projected_finish"] == "2:20:00.0" and data["on_record_pace"] == ["course"]


def test_finishers_have_no_projection_and_races_say_what_they_skip(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    reads = Reads(folder)
    reads.race(101)
    engine = Engine(folder)
    engine.add_reads(reads.rows)
    data = results_json("x", engine.results(), 0, folder.event.timezone)
    race = data["races"][0]
    assert race["skipped_checks"] == []
    first = race["results"][0]
    assert first["projected_finish"] is None and first["on_record_pace"] == []
