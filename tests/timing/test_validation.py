"""Each validation rule at its edges, and the director's decisions on flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.timing.validation_race import MIN, Reads, chips_of, codes, make_folder, results
from timing.engine import Engine
from timing.flags import DecisionError
from timing.folder import EventFolder
from timing.report import flag_json, result_json
from timing.times import format_duration
from timing.validation import SkippedCheck

# The women's backwards half marathon record, 2:16:03, scaled to 5 km by Riegel.
F_RECORD_5K_MS = 8_163_000 * (5000 / 21097.5) ** 1.06


@pytest.fixture
def folder(tmp_path: Path) -> EventFolder:
    return make_folder(tmp_path)


def flags_of(result, code: str) -> list[dict]:
    return [f for f in result.flags if f.code == code]


# ---- a clean race ---------------------------------------------------------------------


def test_a_clean_backwards_race_raises_nothing(folder: EventFolder) -> None:
    reads = Reads(folder)
    for bib in (101, 102, 103, 104):
        reads.race(bib)
    for result in results(folder, reads.rows).values():
        assert result.status == "FIN" and result.flags == ()


# ---- WRONG_WAY ------------------------------------------------------------------------


def test_wrong_way_when_downstream_line_comes_first(folder: EventFolder) -> None:
    reads = Reads(folder)
    reads.race(101, skip=("10k",))
    when = reads.race(102, skip=("10k",))
    reads.cross(101, "10k", when["10k"])
    reads.cross(102, "10k", when["10k"], wrong_way=True)
    found = results(folder, reads.rows)
    assert codes(found["101"]) == []
    (flag,) = flags_of(found["102"], "WRONG_WAY")
    assert str(flag.point) == "10k" and flag.confidence == 0.95
    assert flag.evidence["downstream_minus_upstream_s"] == {"front": -1.5, "back": -1.5}
    assert flag.status == "open" and flag.decision is None


def test_wrong_way_from_one_chip_is_less_sure(folder: EventFolder) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("finish",))
    reads.cross(101, "finish", when["finish"], wrong_way=True, missing=(("front", "upstream"),))
    (flag,) = flags_of(results(folder, reads.rows)["101"], "WRONG_WAY")
    assert flag.confidence == 0.75 and flag.evidence["chips_read_at_both_lines"] == 1


@pytest.mark.parametrize(("gap_ms", "flagged"), [(-199, False), (-200, True)])
def test_wrong_way_needs_the_minimum_gap(folder: EventFolder, gap_ms: int, flagged: bool) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("10k",))
    t = when["10k"]
    for chip in chips_of(101).values():
        reads.burst("MID", chip, 1, t)
        reads.burst("MID", chip, 2, t + gap_ms)
    assert bool(flags_of(results(folder, reads.rows)["101"], "WRONG_WAY")) is flagged


def test_chips_that_disagree_on_direction_raise_no_wrong_way(folder: EventFolder) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("10k",))
    t = when["10k"]
    chips = chips_of(101)
    reads.burst("MID", chips["front"], 1, t)
    reads.burst("MID", chips["front"], 2, t + 1500)
    reads.burst("MID", chips["back"], 2, t + 100)
    reads.burst("MID", chips["back"], 1, t + 1600)
    assert flags_of(results(folder, reads.rows)["101"], "WRONG_WAY") == []


# ---- IMPLAUSIBLE_PACE -----------------------------------------------------------------


@pytest.mark.parametrize(("delta_ms", "flagged"), [(-1, True), (1, False)])
def test_pace_allowance_edge(folder: EventFolder, delta_ms: int, flagged: bool) -> None:
    allowed = F_RECORD_5K_MS * 0.97  # the default 3 % tolerance
    segment_s = {"5k": (allowed + delta_ms) / 1000}
    reads = Reads(folder)
    reads.race(101, segment_s=segment_s)  # a woman: the women's half record applies
    found = flags_of(results(folder, reads.rows)["101"], "IMPLAUSIBLE_PACE")
    assert bool(found) is flagged
    if flagged:
        (flag,) = found
        assert str(flag.point) == "5k" and flag.evidence["from"] == "start"
        assert flag.evidence["record"]["holder"] == "Shantelle Gaston-Hird"
        assert flag.evidence["allowed_time"] == format_duration(int(allowed))


def test_pace_uses_the_record_of_the_runners_sex(folder: EventFolder) -> None:
    # 27 minutes for 5 km: well inside a woman's allowance, but a man's record (the
    # men's half, 1:40:29) allows 5 km in about 22 minutes.
    reads = Reads(folder)
    reads.race(101, segment_s={"5k": 27 * 60})
    reads.race(102, segment_s={"5k": 27 * 60})
    found = results(folder, reads.rows)
    assert codes(found["101"]) == [("IMPLAUSIBLE_PACE", "5k")]
    assert codes(found["102"]) == []


def test_pace_tolerance_is_configurable(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, extra="[validation]\npace_tolerance = 0.0\n")
    reads = Reads(folder)
    reads.race(101, segment_s={"5k": F_RECORD_5K_MS * 0.98 / 1000})  # 2 % under
    assert codes(results(folder, reads.rows)["101"]) == [("IMPLAUSIBLE_PACE", "5k")]


def test_without_world_records_the_pace_check_is_skipped(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, extra="[records]\nworld_bests = false\n")
    reads = Reads(folder)
    reads.race(101, segment_s={"5k": 10 * 60})
    engine = Engine(folder)
    engine.add_reads(reads.rows)
    race = engine.results().races[0]
    assert codes(race.results[0]) == []
    assert SkippedCheck("IMPLAUSIBLE_PACE", "no world record in the record book") in (
        race.skipped_checks
    )


# ---- MISSED_SPLIT ---------------------------------------------------------------------


def test_missed_split_with_normal_paces_is_likely_a_missed_read(folder: EventFolder) -> None:
    reads = Reads(folder)
    reads.race(101, skip=("10k",), panel=False)
    (flag,) = flags_of(results(folder, reads.rows)["101"], "MISSED_SPLIT")
    assert str(flag.point) == "10k" and flag.evidence["likely"] == "missed read"
    assert flag.evidence["between"] == ["5k", "15k"]
    assert flag.evidence["pace_ratio"] == 1.0 and flag.confidence < 0.5


@pytest.mark.parametrize(("ratio", "likely"), [(0.849, "shortcut"), (0.851, "missed read")])
def test_missed_split_shortcut_edge(folder: EventFolder, ratio: float, likely: str) -> None:
    # Both segments around 10k at `ratio` of the runner's pace on 5k and on 15k-finish.
    reads = Reads(folder)
    short = {"10k": 420 * 5 * ratio, "15k": 420 * 5 * ratio}
    reads.race(101, skip=("10k",), segment_s=short, panel=False)
    (flag,) = flags_of(results(folder, reads.rows)["101"], "MISSED_SPLIT")
    assert flag.evidence["likely"] == likely
    assert (flag.confidence >= 0.6) is (likely == "shortcut")


def test_a_manual_passing_clears_a_missed_split(folder: EventFolder) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("10k",), panel=False)
    engine = Engine(folder)
    assert codes(results(folder, reads.rows, engine)["101"]) == [("MISSED_SPLIT", "10k")]
    engine.add_manual_passing("101", "10k", when["10k"])
    assert codes(results(folder, [], engine)["101"]) == []


def test_a_read_at_the_panel_clears_a_missed_split(folder: EventFolder) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("10k",))
    reads.burst("MID", chips_of(101)["back"], 3, when["10k"] - 1000)  # only the panel read it
    assert codes(results(folder, reads.rows)["101"]) == []


def test_no_missed_split_for_the_finish_or_the_start(folder: EventFolder) -> None:
    reads = Reads(folder)
    reads.race(101, skip=("start", "finish"))
    result = results(folder, reads.rows)["101"]
    assert result.status == "RUN" and flags_of(result, "MISSED_SPLIT") == []


# ---- FORWARD_FACING -------------------------------------------------------------------


def test_forward_facing_at_a_panel(folder: EventFolder) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("10k",))
    reads.cross(101, "10k", when["10k"], facing="front")
    (flag,) = flags_of(results(folder, reads.rows)["101"], "FORWARD_FACING")
    assert str(flag.point) == "10k" and flag.confidence == 0.95
    evidence = flag.evidence
    assert evidence["segment_from"] == "5k"
    assert evidence["panel"]["front"] == {"reads": 10, "peak_rssi": -52.0}
    assert evidence["panel"]["back"] == {"reads": 1, "peak_rssi": -75.0}
    assert [o["first"] for o in evidence["mat_peak_order"]] == ["front", "front"]


def test_forward_facing_without_rssi_rests_on_read_counts(folder: EventFolder) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("10k",), rssi=False)
    reads.cross(101, "10k", when["10k"], facing="front", rssi=False)
    (flag,) = flags_of(results(folder, reads.rows)["101"], "FORWARD_FACING")
    assert flag.confidence == 0.7 and flag.evidence["mat_peak_order"] == []


@pytest.mark.parametrize(("reads_", "top", "flagged"), [(4, -52.0, True), (3, -52.0, False)])
def test_forward_facing_needs_enough_panel_reads(
    folder: EventFolder, reads_: int, top: float, flagged: bool
) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("10k",))
    reads.cross(101, "10k", when["10k"], facing="front", missing=(("front", "panel"),))
    reads.burst("MID", chips_of(101)["front"], 3, when["10k"] - 1000, n=reads_, top=top)
    assert bool(flags_of(results(folder, reads.rows)["101"], "FORWARD_FACING")) is flagged


@pytest.mark.parametrize(("back_top", "flagged"), [(-58.0, True), (-57.5, False)])
def test_forward_facing_needs_the_rssi_margin(
    folder: EventFolder, back_top: float, flagged: bool
) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("10k",))
    reads.cross(101, "10k", when["10k"], facing="front", missing=(("back", "panel"),))
    reads.burst("MID", chips_of(101)["back"], 3, when["10k"] - 900, n=1, top=back_top)
    assert bool(flags_of(results(folder, reads.rows)["101"], "FORWARD_FACING")) is flagged


def test_no_facing_verdict_when_one_chip_is_unread_at_the_point(folder: EventFolder) -> None:
    # The front chip dominates the panel, but the back chip was not read at the mats
    # either: it may be missing from the body, not shadowed by it.
    reads = Reads(folder)
    when = reads.race(101, skip=("10k",))
    gone = (("back", "upstream"), ("back", "downstream"))
    reads.cross(101, "10k", when["10k"], facing="front", missing=gone)
    assert flags_of(results(folder, reads.rows)["101"], "FORWARD_FACING") == []


def test_mat_order_against_the_panel_cancels_a_weak_facing_verdict(folder: EventFolder) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("10k",), rssi=False)
    t = when["10k"]
    chips = chips_of(101)
    reads.burst("MID", chips["front"], 3, t - 1000, n=10, rssi=False)  # the panel says front
    for antenna, at in ((1, t), (2, t + 1500)):  # ... the mats say back first (with RSSI)
        reads.burst("MID", chips["back"], antenna, at)
        reads.burst("MID", chips["front"], antenna, at + 40)
    assert flags_of(results(folder, reads.rows)["101"], "FORWARD_FACING") == []


def test_one_chip_race_skips_facing_and_separation(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, one_chip=True)
    reads = Reads(folder)
    reads.race(101, facing="front", chips=("front",))
    engine = Engine(folder)
    engine.add_reads(reads.rows)
    race = engine.results().races[0]
    assert codes(race.results[0]) == []
    skipped = {s.code: s.reason for s in race.skipped_checks}
    assert set(skipped) == {"FORWARD_FACING", "CHIP_SEPARATED"}
    assert skipped["FORWARD_FACING"].startswith("one-chip race")


# ---- CHIP_SEPARATED -------------------------------------------------------------------


@pytest.mark.parametrize(("apart_ms", "flagged"), [(5000, False), (5001, True)])
def test_chips_apart_at_one_point(folder: EventFolder, apart_ms: int, flagged: bool) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("15k",))
    chips = chips_of(101)
    reads.burst("K15", chips["back"], 1, when["15k"])
    reads.burst("K15", chips["front"], 1, when["15k"] + apart_ms)
    found = flags_of(results(folder, reads.rows)["101"], "CHIP_SEPARATED")
    assert bool(found) is flagged
    if flagged:
        assert str(found[0].point) == "15k" and found[0].evidence["kind"] == "apart"


def test_a_carried_chip_does_not_time_its_owner(folder: EventFolder) -> None:
    # 102's back chip is carried 20 minutes ahead by someone else from 10k on.
    reads = Reads(folder)
    own = reads.race(102, skip=("10k", "15k", "finish"))
    for point in ("10k", "15k", "finish"):
        reads.cross(102, point, own[point], chips=("front",))
        reads.cross(102, point, own[point] - 20 * MIN, chips=("back",))
    result = results(folder, reads.rows)["102"]
    (flag,) = flags_of(result, "CHIP_SEPARATED")
    assert str(flag.point) == "10k" and flag.evidence["timed_by"] == "front chip"
    assert result.finish_ms == own["finish"] + 40  # the front chip's own crossing
    assert flags_of(result, "IMPLAUSIBLE_PACE") == []


def test_a_chip_lost_before_the_finish(folder: EventFolder) -> None:
    reads = Reads(folder)
    reads.race(101, skip=("15k", "finish"))
    when = reads.race(103, skip=("15k", "finish"))
    for bib in (101, 103):
        for point in ("15k", "finish"):
            reads.cross(bib, point, when[point], chips=("front",))
    found = results(folder, reads.rows)
    (flag,) = flags_of(found["101"], "CHIP_SEPARATED")
    assert str(flag.point) == "15k"
    evidence = flag.evidence
    assert evidence["kind"] == "lost" and evidence["chip"] == "back"
    assert evidence["last_read_at"] == "10k" and evidence["unread_lines"] == 4
    assert evidence["line_misses_before"] == "0/9"  # start 2, 5k 2, 10k 2 x 2 + panel
    assert found["101"].status == "FIN"


def test_a_chip_unread_at_one_mat_line_is_not_lost(folder: EventFolder) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("finish",))
    reads.cross(101, "finish", when["finish"], missing=(("back", "upstream"),))
    reads.race(102, skip=("15k",))
    reads.cross(102, "15k", when["15k"], chips=("front",))  # back unread at one point only
    found = results(folder, reads.rows)
    assert codes(found["101"]) == [] and codes(found["102"]) == []


def test_a_sparsely_read_runner_does_not_lose_chips(folder: EventFolder) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("finish",), sparse=True)
    reads.cross(101, "finish", when["finish"], chips=("front",), sparse=True, panel=False)
    assert codes(results(folder, reads.rows)["101"]) == []
    # The same reads, well read: the back chip is lost.
    reads = Reads(folder)
    when = reads.race(101, skip=("finish",))
    reads.cross(101, "finish", when["finish"], chips=("front",), panel=False)
    assert codes(results(folder, reads.rows)["101"]) == [("CHIP_SEPARATED", "finish")]


def test_a_chip_never_read_is_not_separated(folder: EventFolder) -> None:
    reads = Reads(folder)
    reads.race(101, chips=("front",))
    assert codes(results(folder, reads.rows)["101"]) == []


# ---- decisions ------------------------------------------------------------------------


def wrong_way_race(folder: EventFolder) -> Reads:
    reads = Reads(folder)
    when = reads.race(101, skip=("10k",))
    reads.cross(101, "10k", when["10k"], wrong_way=True)
    return reads


def test_a_decision_survives_revalidation(folder: EventFolder) -> None:
    reads = wrong_way_race(folder)
    engine = Engine(folder)
    engine.add_reads(reads.rows[:-50])
    engine.results()
    engine.decide_flag("101", "WRONG_WAY", "10k", "dismissed", "ana", "marshal saw it", 1_000)
    engine.add_reads(reads.rows[-50:])
    (flag,) = flags_of(results(folder, [], engine)["101"], "WRONG_WAY")
    assert flag.status == "dismissed"
    assert flag_json(flag, folder.event.timezone)["decision"] == {
        "by": "ana",
        "at": "1970-01-01T01:00:01.000+01:00",
        "reason": "marshal saw it",
    }


@pytest.mark.parametrize(("dq_on", "status"), [("[]", "FIN"), ('["WRONG_WAY"]', "DQ")])
def test_confirmed_flag_disqualifies_only_when_the_rules_say(
    tmp_path: Path, dq_on: str, status: str
) -> None:
    folder = make_folder(tmp_path, extra=f"[rules]\ndq_on = {dq_on}\n")
    engine = Engine(folder)
    engine.add_reads(wrong_way_race(folder).rows)
    engine.decide_flag("101", "WRONG_WAY", "10k", "confirm", "ana", "video")
    result = results(folder, [], engine)["101"]
    assert result.status == status and flags_of(result, "WRONG_WAY")[0].status == "confirmed"
    engine.set_status("101", "DNF")  # the director's own status wins
    assert results(folder, [], engine)["101"].status == "DNF"


def test_a_confirmed_flag_stays_when_validation_no_longer_raises_it(folder: EventFolder) -> None:
    reads = Reads(folder)
    when = reads.race(101, skip=("10k",), panel=False)
    engine = Engine(folder)
    engine.add_reads(reads.rows)
    engine.decide_flag("101", "MISSED_SPLIT", "10k", "confirmed", "ana", "cut the corner")
    engine.add_manual_passing("101", "10k", when["10k"])
    (flag,) = results(folder, [], engine)["101"].flags
    assert flag.status == "confirmed" and flag.evidence == {"raised": False}


def test_bad_decisions_are_refused(folder: EventFolder) -> None:
    engine = Engine(folder)
    with pytest.raises(DecisionError, match="unknown flag code"):
        engine.decide_flag("101", "WALKING", "10k", "confirmed", "ana")
    with pytest.raises(DecisionError, match="a flag decision is one of"):
        engine.decide_flag("101", "WRONG_WAY", "10k", "maybe", "ana")
    with pytest.raises(DecisionError, match="unknown bib"):
        engine.decide_flag("999", "WRONG_WAY", "10k", "confirmed", "ana")


def test_flags_in_the_results_json(folder: EventFolder) -> None:
    data = result_json(results(folder, wrong_way_race(folder).rows)["101"], folder.event.timezone)
    (flag,) = data["flags"]
    assert set(flag) == {"code", "point", "status", "confidence", "evidence", "decision"}
    assert 0 <= flag["confidence"] <= 1
