"""Record lineage: each mark's status and record body, the record a race is measured
against (the best ratified mark), the faster marks listed beside it, and the record of
the nearest distance that the pace checks scale from."""

from __future__ import annotations

import csv
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from results.record_lines import record_line
from tests.timing.test_laps import FIRST, run
from tests.timing.test_records import steady
from tests.timing.track_event import SECOND, Track, event_toml, gun, key, track_folder
from tests.timing.validation_race import HALF_M, RECORDS_HEADER, Reads, make_folder, results
from timing.records import (
    STATUSES,
    WORLD_BESTS,
    Record,
    RecordBook,
    load_records,
    load_world_bests,
    mark_text,
)
from timing.report import claim_json

NEW_HEADER = (
    "scope,distance_m,sex,category,time,holder,nation,date,venue,source,"
    "status,ratified_by,supersedes\n"
)
LINEAGE = (
    "world,21097.5,F,,2:30:00,Old Mark,GBR,2015-04-12,Leeds,a,ratified,Body A,\n"
    "world,21097.5,F,,2:25:00,Ratified Best,GBR,2018-04-15,York,b,ratified,Body B,"
    '"2:30:00 Old Mark, Leeds 2015"\n'
    "world,21097.5,F,,2:20:00,Press Mark,IRL,2021-05-02,Cork,c,reported,,\n"
    "world,21097.5,F,,2:10:00,Bold Claim,FRA,2023-04-23,Lyon,d,claimed,,\n"
    "world,21097.5,F,,2:40:00,Slow Claim,FRA,2022-01-01,Nice,e,claimed,,\n"
)


def test_the_watch_measures_against_the_best_ratified_mark(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, records=LINEAGE, records_header=NEW_HEADER)
    reads = Reads(folder)
    reads.race(101, segment_s=steady(2 * 3600 + 24 * 60))  # 2:24:00
    (world,) = map(claim_json, results(folder, reads.rows)["101"].records)
    assert (world["holder"], world["time"], world["verdict"]) == (
        "Ratified Best",
        "2:25:00.0",
        "broken",
    )
    assert (world["status"], world["ratified_by"]) == ("ratified", "Body B")
    assert world["supersedes"] == "2:30:00 Old Mark, Leeds 2015"
    better = world["better_marks"]
    assert [(m["holder"], m["status"]) for m in better] == [
        ("Bold Claim", "claimed"),
        ("Press Mark", "reported"),
    ]
    assert better[0]["text"] == "claimed 2:10:00.0 by Bold Claim, Lyon 2023"
    line = record_line(world).text
    # Broken, but said "pending review" until the director has reviewed it.
    assert line.startswith(
        "world record (F): pending review, was 2:25:00.0 by Ratified Best (Body B)"
    )
    assert line.endswith(
        "; claimed 2:10:00.0 by Bold Claim, Lyon 2023; reported 2:20:00.0 by Press Mark, Cork 2021"
    )


def test_the_shipped_marathon_best_is_guinness_with_the_claims_beside_it() -> None:
    book = RecordBook(load_world_bests())
    (world,) = book.applicable(42195, "M", "", "")
    assert (world.holder, world.ratified_by) == ("Xu Zhenjun", "Guinness World Records")
    beside = [mark_text(r) for r in book.better_marks(world)]
    assert beside[0] == "claimed 3:25:24.0 by Guillaume de Lustrac, Saint-Paul-lès-Romans 2023"
    assert [r.holder for r in book.better_marks(world)] == [
        "Guillaume de Lustrac",
        "Markus Jürgens",
        "Achim Aretz",
    ]
    (women,) = book.applicable(42195, "F", "", "")
    assert (women.holder, women.ratified_by) == (
        "Kathryn Clewley",
        "The Book of Alternative Records",
    )


def test_without_a_ratified_mark_the_best_reported_one_stands() -> None:
    book = RecordBook(load_world_bests())
    (five,) = book.applicable(5000, "M", "", "")
    assert (five.holder, five.time_ms, five.status) == ("Thomas Dold", 1_156_990, "reported")
    (mile,) = book.applicable(1609.344, "M", "", "")
    assert (mile.holder, mile.status) == ("Aaron Yoder", "ratified")
    assert [r.holder for r in book.better_marks(mile)] == ["Thomas Dold"]


def test_an_old_records_csv_without_the_new_columns_loads(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_text(
        RECORDS_HEADER
        + "course,21097.5,F,,2:19:40,Maya Okafor,GBR,2025-04-13,Riverside,2025 results\n",
        encoding="utf-8",
    )
    records, problems = load_records(path)
    assert problems == []
    (only,) = records
    assert (only.holder, only.status, only.ratified_by, only.supersedes) == (
        "Maya Okafor",
        "ratified",
        "",
        "",
    )


def test_a_bad_status_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    bad = "world,5000,M,,19:00,X,GER,,,f,rumoured,,\n"
    path.write_text(NEW_HEADER + LINEAGE + bad, encoding="utf-8")
    records, problems = load_records(path)
    assert len(records) == 5
    (problem,) = problems
    assert (problem.line, problem.field) == (7, "status")
    assert "ratified, reported, claimed" in problem.message


# ---- the record the pace checks scale from ------------------------------------------------


def test_the_pace_checks_scale_from_the_record_of_the_nearest_distance() -> None:
    book = RecordBook(load_world_bests())
    five = book.pace_reference("M", 5000)
    assert five is not None and (five.holder, five.distance_m) == ("Thomas Dold", 5000)
    marathon = book.pace_reference("M", 42195)
    assert marathon is not None and marathon.holder == "Xu Zhenjun"  # ratified, not claimed
    ten = book.pace_reference("M", 10_000)
    assert ten is not None and (ten.time_ms, ten.ratified_by) == (
        2_360_000,
        "Rekord-Institut für Deutschland",
    )
    hour = book.pace_reference("M", 400, duration_ms=3_600_000)  # a timed hour
    assert hour is ten  # 39:20 is the record time nearest an hour
    women = book.pace_reference("F", 5000)  # no women's 5000 m: the nearest is the half
    assert women is not None and women.holder == "Shantelle Gaston-Hird"


def test_a_5000_m_track_race_is_held_to_the_5000_m_best(tmp_path: Path) -> None:
    # The shortest lap set low in event.toml, so that every lap counts: a man's lap in
    # 76 s (faster than the 5000 m best's 77.1 s allowance) is implausible; laps of
    # 80 s are not (the 400 m best, the record nearest a lap's length, allows 66 s).
    folder = track_folder(tmp_path, toml=event_toml({"min_lap_s": 60}))
    g = gun(folder, "5K")
    track = Track()
    laps = [80 * SECOND] * 12
    laps[5] = 76 * SECOND
    times = [g + 40 * SECOND]  # the 200 m to the line at the same pace
    for lap in laps:
        times.append(times[-1] + lap)
    for t in times:
        track.cross(1, t)
    _, found = run(folder, track.rows)
    (flag,) = found["1"].flags
    assert (flag.code, str(flag.point)) == ("IMPLAUSIBLE_PACE", key(folder, times[6]))
    record = flag.evidence["record"]
    assert (record["holder"], record["distance_m"], record["time"]) == (
        "Thomas Dold",
        5000,
        "0:19:16.9",
    )
    assert record["status"] == "reported" and flag.evidence["allowed_time"] == "0:01:17.1"


def test_a_short_lap_names_the_record_its_minimum_comes_from(tmp_path: Path) -> None:
    folder = track_folder(tmp_path)
    g = gun(folder, "5K")
    track = Track()
    times = track.laps(1, g + FIRST, 130 * SECOND, 13)
    track.cross(1, times[3] + 70 * SECOND)  # a crossing 70 s after lap 4: not a lap
    _, found = run(folder, track.rows)
    (flag,) = [f for f in found["1"].flags if f.code == "SHORT_LAP"]
    assert flag.evidence["min_lap_time"] == "0:01:17.1"
    assert flag.evidence["min_lap_from"]["holder"] == "Thomas Dold"
    assert flag.evidence["min_lap_from"]["distance_m"] == 5000


# ---- the choice, as a property ---------------------------------------------------------

marks = st.lists(
    st.tuples(st.sampled_from(STATUSES), st.integers(min_value=6_000, max_value=9_000)),
    min_size=1,
    max_size=8,
)


@given(marks)
def test_the_standing_record_outranks_every_mark_and_the_rest_are_beside_it(
    drawn: list[tuple[str, int]],
) -> None:
    book = RecordBook(
        Record("world", HALF_M, "F", "", s * 1000, f"H{i}", "", None, "", "", status=status)
        for i, (status, s) in enumerate(drawn)
    )
    (standing,) = book.applicable(HALF_M, "F", "", "")
    assert all(standing.rank <= r.rank for r in book.records)
    beside = book.better_marks(standing)
    assert beside == sorted(beside, key=lambda r: r.time_ms)
    assert set(beside) == {
        r for r in book.records if r.time_ms < standing.time_ms and r.rank[0] > standing.rank[0]
    }


def test_the_readme_lists_every_shipped_mark_with_its_status() -> None:
    readme = (WORLD_BESTS.parents[2] / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| ")]
    with WORLD_BESTS.open(encoding="utf-8") as handle:
        shipped = list(csv.DictReader(handle))
    for mark in shipped:
        time = mark["time"].removeprefix("0:")
        status = mark["status"] + (f", {mark['ratified_by']}" if mark["ratified_by"] else "")
        assert any(
            f"| {time} | {mark['holder']} ({mark['nation']})" in r and r.endswith(f"| {status} |")
            for r in rows
        ), mark["holder"]
