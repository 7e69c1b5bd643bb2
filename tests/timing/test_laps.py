"""Lap races: counting crossings of one line as laps, at the edges, and what a track
meet's results show (laps, laps to go, lapped runners, timed races, spotters)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.timing.track_event import (
    MIN,
    SECOND,
    Track,
    default_people,
    event_toml,
    gun,
    key,
    person,
    track_folder,
    write_track,
)
from timing.actions import ActionError, apply, check
from timing.engine import Engine
from timing.flags import DecisionError
from timing.folder import EventFolder
from timing.report import claim_json, result_json, results_json

LAP = 130 * SECOND  # a 400 m lap backwards at 5:25 /km: well within the records
FIRST = 65 * SECOND  # the 200 m to the line from the 5000 m start


@pytest.fixture
def folder(tmp_path: Path) -> EventFolder:
    return track_folder(tmp_path)


def run(folder: EventFolder, rows: list[tuple], act=None):
    engine = Engine(folder)
    engine.add_reads(rows)
    if act is not None:
        act(engine)
    return engine, {r.bib: r for rr in engine.results().races for r in rr.results}


def codes(result) -> list[tuple[str, str]]:
    return [(f.code, str(f.point)) for f in result.flags]


# ---- counting -----------------------------------------------------------------------


def test_a_5000_m_from_the_200_m_mark_finishes_at_the_13th_crossing(folder: EventFolder):
    g = gun(folder, "5K")
    track = Track()
    times = track.laps(1, g + FIRST, LAP, 14)  # and once more, cooling down
    _, results = run(folder, track.rows)
    r = results["1"]
    assert r.status == "FIN" and r.place == 1 and r.flags == ()
    assert r.laps_completed == 13 and r.laps_to_go == 0 and r.distance_m == 5000
    assert r.finish_ms == times[12] and r.chip_time_ms == times[12] - g
    assert [lap.distance_m for lap in r.laps][:3] == [200, 600, 1000]
    assert [lap.length_m for lap in r.laps][:2] == [200, 400]
    assert r.laps[0].lap_time_ms == FIRST and r.last_lap_ms == LAP
    data = result_json(r, folder.event.timezone)
    assert data["laps"][1] == {
        "lap": 2,
        "at": "10:03:15.0",
        "distance_m": 600.0,
        "chip_time": "0:03:15.0",
        "lap_time": "0:02:10.0",
        "pace_min_per_km": 5.42,
    }
    assert (data["laps_completed"], data["laps_to_go"], data["last_lap"]) == (13, 0, "0:02:10.0")
    assert data["distance_m"] == 5000 and data["lapped"] is False
    # The splits are the laps, so pages and charts written for the road show them.
    assert [s.distance_m for s in r.splits] == [lap.distance_m for lap in r.laps]


def test_laps_to_go_on_the_track(folder: EventFolder):
    g = gun(folder, "5K")
    track = Track()
    track.laps(1, g + FIRST, LAP, 5)
    _, results = run(folder, track.rows)
    r = results["1"]
    assert r.status == "RUN" and (r.laps_completed, r.laps_to_go) == (5, 8)
    assert r.distance_m == 1800 and r.projected_finish_ms is not None


def test_a_double_read_within_the_dedupe_window_is_one_crossing(folder: EventFolder):
    g = gun(folder, "5K")
    track = Track()
    track.laps(1, g + FIRST, LAP, 13)
    track.cross(1, g + FIRST + 3 * LAP + 2500)  # its reads within 3 s of the first: one crossing
    _, results = run(folder, track.rows)
    assert results["1"].laps_completed == 13 and results["1"].flags == ()


@pytest.mark.parametrize(("after_ms", "short"), [(86_000, True), (95_000, False)])
def test_a_lap_faster_than_min_lap_s_is_a_short_lap(
    tmp_path: Path, after_ms: int, short: bool
) -> None:
    folder = track_folder(tmp_path, toml=event_toml({"min_lap_s": 90}))
    g = gun(folder, "5K")
    track = Track()
    times = track.laps(1, g + FIRST, LAP, 13)
    extra = times[3] + after_ms  # a crossing 86 s (95 s) after lap 4
    track.cross(1, extra)
    _, results = run(folder, track.rows)
    r = results["1"]
    if not short:
        # Counted as lap 5, it makes the real lap 5 a short one (35 s) in turn.
        assert codes(r) == [("SHORT_LAP", key(folder, times[4]))]
        return
    (flag,) = r.flags
    assert (flag.code, str(flag.point)) == ("SHORT_LAP", key(folder, extra))
    assert flag.evidence["since_previous"] == "0:01:26.0"
    assert flag.evidence["min_lap_time"] == "0:01:30.0"
    assert flag.evidence["after_lap"] == 4 and flag.evidence["counted"] is False
    assert r.laps_completed == 13 and r.status == "FIN"  # never counted, never deleted


def test_a_confirmed_short_lap_counts_and_results_recompute(folder: EventFolder):
    g = gun(folder, "5K")
    track = Track()
    times = track.laps(1, g + FIRST, LAP, 12)  # one read short of the finish ...
    stray = times[11] + 20 * SECOND  # ... and a crossing 20 s after the 12th
    track.cross(1, stray)
    engine, results = run(folder, track.rows)
    assert results["1"].status == "RUN" and results["1"].laps_completed == 12
    engine.confirm_lap("1", key(folder, stray), "ana", "the 12th was a stray read", 5_000)
    after = {r.bib: r for r in engine.results().races[0].results}["1"]
    assert after.status == "FIN" and after.laps_completed == 13 and after.finish_ms == stray
    assert after.laps[-1].confirmed
    (flag,) = after.flags
    assert flag.status == "confirmed" and flag.evidence["counted"] is True
    assert flag.decision.reason == "the 12th was a stray read"
    assert result_json(after, folder.event.timezone)["laps"][-1]["confirmed"] is True
    engine.confirm_lap("1", key(folder, stray), "ana", "no: a stray read after all", 6_000, False)
    again = {r.bib: r for r in engine.results().races[0].results}["1"]
    assert again.laps_completed == 12 and again.flags[0].status == "dismissed"


def test_a_missed_lap_read_is_flagged_and_the_director_puts_it_back(folder: EventFolder):
    g = gun(folder, "5K")
    track = Track()
    times = track.laps(2, g + FIRST, LAP, 13, skip=(6,))
    engine, results = run(folder, track.rows)
    r = results["2"]
    assert r.status == "RUN" and r.laps_completed == 12 and r.laps_to_go == 1
    (flag,) = r.flags
    assert (flag.code, str(flag.point)) == ("MISSED_LAP", key(folder, times[6]))
    evidence = flag.evidence
    assert evidence["lap"] == 6 and evidence["ratio"] == 2.0 and evidence["likely_unread"] == 1
    assert evidence["usual_lap_time"] == "0:02:10.0" and evidence["lap_time"] == "0:04:20.0"
    assert flag.confidence == 0.9  # twice the usual lap
    engine.decide_flag("2", "MISSED_LAP", flag.point, "confirmed", "ana", "seen on video")
    after = {r.bib: r for r in engine.results().races[0].results}["2"]
    assert after.status == "FIN" and after.laps_completed == 13 and after.finish_ms == times[12]
    assert after.laps[5].inferred and after.laps[5].time_ms == times[5]
    (kept,) = after.flags  # no longer raised, but the director's word stands
    assert kept.status == "confirmed" and kept.evidence == {"raised": False}


def test_a_slow_lap_under_the_ratio_is_no_missed_lap(folder: EventFolder):
    g = gun(folder, "5K")
    track = Track()
    first = g + FIRST
    times = [first + i * LAP for i in range(13)]
    times = [t + (int(1.55 * LAP) - LAP if i >= 6 else 0) for i, t in enumerate(times)]
    for t in times:
        track.cross(1, t)
    _, results = run(folder, track.rows)
    assert results["1"].flags == () and results["1"].status == "FIN"


def test_a_missed_read_of_a_short_first_lap_compares_per_metre(folder: EventFolder):
    g = gun(folder, "5K")
    track = Track()
    track.laps(1, g + FIRST, LAP, 13, skip=(1,))  # the 200 m and the next 400 m as one
    _, results = run(folder, track.rows)
    (flag,) = results["1"].flags
    assert flag.code == "MISSED_LAP" and flag.evidence["lap"] == 1
    assert flag.evidence["ratio"] == 3.0 and flag.evidence["likely_unread"] == 1
    assert flag.evidence["usual_lap_time"] == "0:01:05.0" and flag.confidence == 0.9


# ---- the start ----------------------------------------------------------------------


def test_start_on_the_line_first_crossing_after_the_gun_is_the_start(folder: EventFolder):
    h = gun(folder, "1H")
    track = Track()
    track.cross(11, h - 5 * MIN)  # warming up before the gun: nothing
    track.cross(11, h + 4 * SECOND)  # the start
    track.laps(11, h + 4 * SECOND + LAP, LAP, 3)
    _, results = run(folder, track.rows)
    r = results["11"]
    assert r.start_ms == h + 4 * SECOND and r.laps_completed == 3
    assert r.laps[0].lap_time_ms == LAP and r.laps[0].distance_m == 400
    assert r.chip_time_ms == 3 * LAP and r.gun_time_ms == 3 * LAP + 4 * SECOND


def test_start_on_the_line_unread_the_first_lap_counts_from_the_gun(folder: EventFolder):
    h = gun(folder, "1H")
    track = Track()
    track.laps(11, h + 4 * SECOND + LAP, LAP, 3)  # the start crossing was not read
    _, results = run(folder, track.rows)
    r = results["11"]
    assert r.start_ms is None and r.laps_completed == 3
    assert r.laps[0].lap_time_ms == LAP + 4 * SECOND


# ---- timed races --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset_ms", "counted"), [(-100, True), (0, True), (1, False), (2_000, False)]
)
def test_the_crossing_after_the_end_of_time_does_not_count(
    folder: EventFolder, offset_ms: int, counted: bool
) -> None:
    h = gun(folder, "1H")
    end = h + 60 * MIN
    track = Track()
    track.cross(11, h + 2 * SECOND)
    track.laps(11, end - 26 * LAP, LAP, 26)  # the 26th just at the end of time
    track.cross(11, end + offset_ms + LAP)
    for bib, t in ((12, h + 2 * SECOND), (12, end + offset_ms)):
        track.cross(bib, t)
    track.laps(12, end + offset_ms - 26 * LAP, LAP, 26)
    _, results = run(folder, track.rows)
    assert results["11"].laps_completed == 26
    assert results["12"].laps_completed == (27 if counted else 26)
    assert results["12"].distance_m == (27 if counted else 26) * 400


def test_timed_race_ranks_by_laps_then_time_and_adds_the_final_part_lap(folder: EventFolder):
    h = gun(folder, "1H")
    track = Track()
    for bib, lap in ((11, 140 * SECOND), (12, 135 * SECOND), (13, 150 * SECOND)):
        track.cross(bib, h + 3 * SECOND)
        track.laps(bib, h + 3 * SECOND + lap, lap, 40)  # running on past the horn
    engine, results = run(folder, track.rows)
    # 11: 25 laps (the 25th at 58:23); 12: 26 laps; 13: 23 laps
    assert [results[b].laps_completed for b in ("11", "12", "13")] == [25, 26, 23]
    assert [results[b].place for b in ("12", "11", "13")] == [1, 2, 3]
    assert results["11"].status == "FIN" and results["11"].end_ms == h + 60 * MIN
    assert results["11"].chip_time_ms == 25 * 140 * SECOND
    engine.set_partial("11", 152.4)
    r = {r.bib: r for r in engine.results().races[1].results}["11"]
    assert r.final_partial_m == 152 and r.distance_m == 25 * 400 + 152
    data = result_json(r, folder.event.timezone)
    assert data["final_partial_m"] == 152 and data["laps_to_go"] is None
    with pytest.raises(DecisionError):
        engine.set_partial("11", 400)
    with pytest.raises(DecisionError):
        engine.set_partial("1", 100)  # the 5000 m is not timed
    assert r.records == () and r.on_record_pace == ()


def test_equal_laps_and_time_share_a_place(folder: EventFolder):
    h = gun(folder, "1H")
    track = Track()
    for bib in (11, 12):
        track.cross(bib, h + 3 * SECOND + bib)
        track.laps(bib, h + 3 * SECOND + LAP + bib, LAP, 10)
    _, results = run(folder, track.rows)
    assert results["11"].place == results["12"].place == 1


# ---- places, lapped runners ---------------------------------------------------------


def test_a_lapped_runner_is_shown_as_lapped_not_as_ahead(folder: EventFolder):
    g = gun(folder, "5K")
    track = Track()
    track.laps(1, g + FIRST, 100 * SECOND, 9)  # fast: 9 crossings by 14:25
    track.laps(2, g + FIRST, 128 * SECOND, 7)  # 7 crossings, the last at 13:53
    track.laps(3, g + FIRST, 200 * SECOND, 5)  # lapped: the 5th at 14:25, after the leader's 9th
    engine, results = run(folder, track.rows)
    assert [r.bib for r in engine.results().races[0].results] == ["1", "2", "3", "4"]
    assert results["1"].laps_behind == 0 and results["2"].laps_behind == 1
    assert results["3"].laps_behind == 4 and results["3"].lapped
    assert result_json(results["3"], folder.event.timezone)["laps_behind"] == 4


def test_lapped_finishers_are_placed_by_time(folder: EventFolder):
    g = gun(folder, "5K")
    track = Track()
    track.laps(1, g + FIRST, 100 * SECOND, 13)
    track.laps(2, g + FIRST, 140 * SECOND, 13)
    track.laps(3, g + FIRST, 120 * SECOND, 10)
    _, results = run(folder, track.rows)
    assert (results["1"].place, results["2"].place, results["3"].place) == (1, 2, None)
    assert results["2"].laps_behind == 0  # finished: the line shows no laps down


# ---- spotters -----------------------------------------------------------------------


def test_spotters_are_known_never_ranked_and_raise_nothing(folder: EventFolder):
    g = gun(folder, "5K")
    track = Track()
    times = track.laps(1, g + FIRST, LAP, 13)
    for t in times:  # the spotter runs forwards beside the runner, every lap
        track.cross(9, t + 300, facing="front")
    engine, results = run(folder, track.rows)
    assert "9" not in results and "19" not in results
    assert engine.results().unknown_chips == []
    assert results["1"].flags == () and results["1"].laps_completed == 13
    assert "9" not in engine.people and "9" in engine.spotters
    with pytest.raises(ActionError, match="unknown bib"):
        check(engine, "status", "9", {"status": "DQ"})


def test_a_spotters_crossings_give_no_lap_to_anyone(folder: EventFolder):
    g = gun(folder, "5K")
    track = Track()
    track.laps(1, g + FIRST, LAP, 12, skip=(4,))
    track.laps(9, g + FIRST, LAP, 13)  # the spotter was read where bib 1 was not
    _, results = run(folder, track.rows)
    assert results["1"].laps_completed == 11 and results["1"].status == "RUN"


# ---- validation per lap -------------------------------------------------------------


def test_forward_facing_at_the_lap_lines_panel(folder: EventFolder):
    g = gun(folder, "5K")
    track = Track()
    times = [g + FIRST + i * LAP for i in range(13)]
    for i, t in enumerate(times):
        track.cross(1, t, facing="front" if i == 7 else "back")
    _, results = run(folder, track.rows)
    (flag,) = results["1"].flags
    assert (flag.code, str(flag.point)) == ("FORWARD_FACING", key(folder, times[7]))
    assert flag.evidence["lap"] == 8 and flag.evidence["segment_from"] == key(folder, times[6])


def test_implausible_pace_per_lap(tmp_path: Path):
    people = [person(1, "5K", sex="F"), person(2, "5K")]
    folder = track_folder(tmp_path, people=people)
    g = gun(folder, "5K")
    track = Track()
    times = [g + FIRST + i * 130 * SECOND for i in range(13)]
    times = [t - (30 * SECOND if i >= 5 else 0) for i, t in enumerate(times)]  # lap 6 in 100 s
    for bib in (1, 2):
        for t in times:
            track.cross(bib, t)
    _, results = run(folder, track.rows)
    (flag,) = results["1"].flags
    assert (flag.code, str(flag.point)) == ("IMPLAUSIBLE_PACE", key(folder, times[5]))
    assert flag.evidence["lap"] == 6 and flag.evidence["segment_time"] == "0:01:40.0"
    # the women's half marathon record scaled to 400 m, less 3 %
    assert flag.evidence["allowed_time"] == "0:01:58.3"
    assert results["2"].flags == ()  # a man's lap allowance (the 5000 m best) is 1:17.2


def test_default_min_lap_is_the_fastest_lap_the_records_allow(folder: EventFolder):
    engine = Engine(folder)
    # The 5000 m race from the 5000 m best (19:16.99), the hour from the 10 km best
    # (39:20, the record time nearest an hour), each scaled to 400 m, less 3 %.
    assert engine.min_lap_ms == {"5K": 77_157, "1H": 75_486}
    data = results_json("x", engine.results(), 0, folder.event.timezone)
    race = data["races"][0]
    assert (race["laps"], race["lap_m"], race["duration"], race["min_lap_s"]) == (
        13,
        400.0,
        None,
        77.157,
    )
    assert data["races"][1]["duration"] == "1:00:00.0" and data["races"][1]["laps"] is None


# ---- director actions ---------------------------------------------------------------


def test_lap_and_partial_actions(folder: EventFolder):
    h = gun(folder, "1H")
    track = Track()
    track.cross(11, h + 3 * SECOND)
    times = track.laps(11, h + 3 * SECOND + LAP, LAP, 10)
    stray = times[4] + 15 * SECOND
    track.cross(11, stray)
    engine, results = run(folder, track.rows)
    assert codes(results["11"]) == [("SHORT_LAP", key(folder, stray))]
    payload = {"point": key(folder, stray), "lap": True}
    with pytest.raises(ActionError, match="say why"):
        check(engine, "lap", "11", payload, reason=" ")
    with pytest.raises(ActionError, match="not a timed race"):
        check(engine, "partial", "1", {"metres": 10})
    with pytest.raises(ActionError, match="0 to 400 m"):
        check(engine, "partial", "11", {"metres": 400})
    with pytest.raises(ActionError, match="the SHORT_LAP flag's point"):
        check(engine, "lap", "11", {"lap": True})
    check(engine, "lap", "11", payload, reason="lap 5 was a stray read")
    apply(engine, "lap", "11", payload, "ana", "lap 5 was a stray read", 1_000)
    apply(engine, "partial", "11", {"metres": 37}, "ana", "tape", 2_000)
    r = {r.bib: r for r in engine.results().races[1].results}["11"]
    assert r.laps_completed == 11 and r.final_partial_m == 37
    apply(engine, "partial", "11", {"metres": None}, "ana", "wrong runner", 3_000)
    r = {r.bib: r for r in engine.results().races[1].results}["11"]
    assert r.final_partial_m is None


def test_road_results_keep_their_shape(tmp_path: Path):
    from tests.timing.builders import write_folder
    from timing.folder import load_folder

    folder = load_folder(write_folder(tmp_path))
    engine = Engine(folder)
    data = results_json("x", engine.results(), 0, folder.event.timezone)
    race = data["races"][0]
    assert set(race) == {"id", "name", "distance_m", "skipped_checks", "results_state", "results"}
    assert set(race["results"][0]) == {
        "bib", "name", "sex", "category", "club", "nation", "status", "gun_time",
        "chip_time", "place", "place_sex", "place_category", "splits", "flags", "records",
        "projected_finish", "on_record_pace",
    }  # fmt: skip


# ---- the event folder ---------------------------------------------------------------


def problems(path: Path) -> list[str]:
    from timing.errors import FolderError
    from timing.folder import load_folder

    with pytest.raises(FolderError) as caught:
        load_folder(path)
    return [str(p) for p in caught.value.problems]


def test_track_folder_loads(folder: EventFolder):
    five, hour = folder.event.races
    assert (five.laps, five.lap_m, five.duration_ms, five.min_lap_ms) == (13, 400, None, None)
    assert five.is_lap_race and not five.is_timed and five.start_point is None
    assert hour.is_timed and hour.distance_m == 400 and hour.duration_ms == 3_600_000
    assert hour.start_point is not None and hour.lap_point is not None
    spotter = next(p for p in folder.participants if p.bib == "9")
    assert spotter.is_spotter and spotter.guides == "1" and spotter.extra == {}
    assert next(p for p in folder.participants if p.bib == "1").role == "runner"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("laps = 13\n", "laps = 12\n", "12 crossings of a 400 m lap cannot make 5000 m: the "
         "first crossing would be 600 m from the start (it must be within one lap)"),
        ("laps = 13\n", "laps = 0\n", "races[0].laps: 0 must be a whole number of crossings"),
        ("lap_m = 400\nchips", "chips", "races[0].laps: a lap race needs lap_m"),
        ("laps = 13\n", "", "races[0].lap_m: lap_m needs laps (a distance race) or duration"),
        ("laps = 13\n", 'laps = 13\nduration = "1:00:00"\n', "races[0].duration: give laps"),
        ('duration = "1:00:00"', 'duration = "an hour"', "races[1].duration: 'an hour' is not"),
        ('duration = "1:00:00"', 'duration = "1:00:00"\ncutoff = "2:00:00"', "has no cutoff"),
        ('ranking = "chip"\n', 'ranking = "chip"\nmin_lap_s = -4\n', "races[0].min_lap_s: -4"),
        ("distance_m = 400\nreader", "distance_m = 800\nreader", "at most one lap (400 m)"),
    ],
)  # fmt: skip
def test_lap_race_problems(tmp_path: Path, old: str, new: str, message: str):
    toml = event_toml()
    assert old in toml
    found = problems(write_track(tmp_path, toml=toml.replace(old, new, 1)))
    assert any(message in p for p in found), found


def test_laps_on_a_race_without_a_lap_line(tmp_path: Path):
    toml = (
        event_toml()
        .replace(
            'id = "LAP"\ndistance_m = 5000\nreader = "LAP"\nantennas = [1, 2]\noncoming = [3]\n',
            'id = "START"\ndistance_m = 0\nreader = "LAP"\nantennas = [1, 2]\n',
        )
        .replace("distance_m = 5000\nlaps", "distance_m = 0\nlaps")
    )
    found = problems(write_track(tmp_path, toml=toml))
    assert any("laps on a race without a lap line" in p for p in found), found


def test_min_lap_s_on_a_road_race(tmp_path: Path):
    from tests.timing.builders import EVENT_TOML, write_folder

    toml = EVENT_TOML.replace('cutoff = "4:00:00"\n', 'cutoff = "4:00:00"\nmin_lap_s = 60\n')
    found = problems(write_folder(tmp_path, toml=toml))
    assert any("min_lap_s applies to lap races only" in p for p in found), found


def test_a_given_min_lap_s(tmp_path: Path):
    folder = track_folder(tmp_path, toml=event_toml({"min_lap_s": 70.5}))
    assert folder.event.races[0].min_lap_ms == 70_500
    assert Engine(folder).min_lap_ms["5K"] == 70_500


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"guides": "77"}, "participants.csv:6: guides: spotter 9 guides an unknown bib '77'"),
        ({"race": ""}, "participants.csv:6: race: a spotter must be in a race"),
        ({"guides": "19"}, "spotter 9 guides bib 19, another spotter"),
        ({"guides": "11"}, "spotter 9 is in race '5K' but bib 11 runs race '1H'"),
        ({"role": "coach"}, "role: 'coach' must be runner or spotter"),
    ],
)
def test_spotter_problems(tmp_path: Path, change: dict, message: str):
    people = default_people()
    people[4] = {**people[4], **change}  # bib 9, line 6
    found = problems(write_track(tmp_path, people=people))
    assert any(message in p for p in found), found


def test_only_a_spotter_guides(tmp_path: Path):
    people = default_people()
    people[1] = {**people[1], "guides": "1"}
    found = problems(write_track(tmp_path, people=people))
    assert "participants.csv:3: guides: only a spotter guides a runner (role is 'runner')" in found


def test_a_spotter_may_leave_sex_and_age_empty(tmp_path: Path):
    people = default_people()
    people[4] = {**people[4], "sex": "", "birth_date": ""}
    folder = track_folder(tmp_path, people=people)
    assert next(p for p in folder.participants if p.bib == "9").age is None


def test_a_lap_unread_just_before_the_end_of_time(folder: EventFolder):
    h = gun(folder, "1H")
    track = Track()
    track.cross(11, h + 2 * SECOND)
    # 27 laps, the 27th (at 58:32) unread, and the crossing after the end of time
    times = track.laps(11, h + 2 * SECOND + LAP, LAP, 28, skip=(27,))
    assert times[26] < h + 60 * MIN < times[27]
    engine, results = run(folder, track.rows)
    r = results["11"]
    assert r.laps_completed == 26
    (flag,) = r.flags
    assert flag.code == "MISSED_LAP" and str(flag.point) == key(folder, times[27])
    assert flag.evidence["after_end"] is True and flag.evidence["lap"] == 27
    engine.decide_flag("11", "MISSED_LAP", flag.point, "confirm", "ana", "on video")
    after = {r.bib: r for r in engine.results().races[1].results}["11"]
    assert after.laps_completed == 27 and after.laps[-1].inferred
    assert after.laps[-1].time_ms == times[26] and after.finish_ms == times[26]


def test_a_manual_passing_at_the_lap_line_is_a_lap(folder: EventFolder):
    g = gun(folder, "5K")
    track = Track()
    times = track.laps(1, g + FIRST, LAP, 13, skip=(7,))
    engine = Engine(folder)
    engine.add_reads(track.rows)
    engine.add_manual_passing("1", "LAP", times[6] + 500)
    engine.add_manual_passing("1", "LAP", times[9] + 40 * SECOND)  # a slip: never short
    r = {r.bib: r for r in engine.results().races[0].results}["1"]
    assert r.laps_completed == 13 and r.status == "FIN"
    assert r.laps[6].manual and r.laps[10].manual and r.splits[6].manual
    assert result_json(r, folder.event.timezone)["laps"][6]["manual"] is True


def test_a_start_point_on_a_line_of_its_own(tmp_path: Path):
    toml = event_toml().replace(
        'id = "START"\ndistance_m = 0\nreader = "LAP"\nantennas = [1, 2]\n',
        'id = "START"\ndistance_m = 0\nreader = "LAP"\nantennas = [4]\n',
    )
    folder = track_folder(tmp_path, toml=toml)
    h = gun(folder, "1H")
    track = Track()
    track.burst("F0011", 4, h + 90 * SECOND)  # a late start, off the line
    track.laps(11, h + 90 * SECOND + LAP, LAP, 3)
    _, results = run(folder, track.rows)
    r = results["11"]
    assert r.start_ms == h + 90 * SECOND and r.laps_completed == 3
    assert r.laps[0].lap_time_ms == LAP


def test_lap_codes_are_no_offence_to_dq_on(tmp_path: Path):
    toml = event_toml() + '\n[rules]\ndq_on = ["WRONG_WAY", "SHORT_LAP"]\n'
    found = problems(write_track(tmp_path, toml=toml))
    assert any("rules.dq_on: SHORT_LAP: confirming one corrects the lap count" in p for p in found)


def test_records_in_a_lap_race_and_a_corrected_count(tmp_path: Path):
    path = write_track(tmp_path)
    (path / "records.csv").write_text(
        "scope,distance_m,sex,category,time,holder,nation,date,venue,source\n"
        "course,5000,M,,0:30:00,Old Holder,GBR,2025-06-21,Track,2025 results\n"
        "course,400,M,,0:01:00,Lap Holder,GBR,2025-06-21,Track,2025 results\n",
        encoding="utf-8",
    )
    from timing.folder import load_folder

    folder = load_folder(path)
    g, h = gun(folder, "5K"), gun(folder, "1H")
    track = Track()
    times = track.laps(1, g + FIRST, LAP, 12)
    stray = times[-1] + 20 * SECOND
    track.cross(1, stray)
    track.cross(11, h + 2 * SECOND)
    track.laps(11, h + 2 * SECOND + LAP, LAP, 20)
    engine, results = run(folder, track.rows)
    # On course with a SHORT_LAP flag open: no "on record pace" while it is in doubt.
    assert results["1"].status == "RUN" and results["1"].on_record_pace == ()
    engine.confirm_lap("1", key(folder, stray), "ana", "lap 12 was a stray read")
    r = {r.bib: r for r in engine.results().races[0].results}["1"]
    (record,) = map(claim_json, r.records)
    assert record["verdict"] == "broken" and record["claim"] == "pending review"
    hour = {r.bib: r for r in engine.results().races[1].results}["11"]
    assert hour.records == () and hour.projected_finish_ms is None  # no 400 m "record"


def test_a_missed_lap_confirmed_on_the_last_lap_makes_the_unread_crossing_the_finish(
    folder: EventFolder,
):
    g = gun(folder, "5K")
    track = Track()
    times = track.laps(1, g + FIRST, LAP, 14, skip=(13,))  # the finish unread, then once more
    engine, results = run(folder, track.rows)
    r = results["1"]
    assert r.status == "FIN" and r.finish_ms == times[13]  # the cool-down crossing, as read
    (flag,) = r.flags
    assert flag.code == "MISSED_LAP" and str(flag.point) == key(folder, times[13])
    engine.decide_flag("1", "MISSED_LAP", flag.point, "confirmed", "ana", "finish unread")
    after = {r.bib: r for r in engine.results().races[0].results}["1"]
    assert after.laps_completed == 13 and after.laps[-1].inferred
    assert after.finish_ms == times[12]
