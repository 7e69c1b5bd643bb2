"""The director's decisions on the engine: statuses until a race closes, undo, edits,
voids, chip replacement, previews, and record reviews."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.timing.builders import EVENT_TOML, write_folder
from tests.timing.test_engine import HOUR, MIN, Feed, _race_rows, _snapshot, full_race, gun
from timing.actions import ActionError, check, replay_actions, take
from timing.engine import Engine
from timing.folder import EventFolder, load_folder
from timing.preview import compare, describe
from timing.report import claim_json
from timing.review import Question, vet
from timing.store import DirectorAction


@pytest.fixture
def folder(tmp_path: Path) -> EventFolder:
    return load_folder(write_folder(tmp_path))


class Journal:
    """Director actions numbered as the store numbers them, applied as the service does."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rows: list[DirectorAction] = []

    def act(self, kind: str, target: str, payload: dict, reason: str = "why") -> int:
        check(self.engine, kind, target, payload, reason)
        payload = vet(self.engine, kind, target, payload, reason, self.rows)
        action = DirectorAction(
            id=len(self.rows) + 1,
            at_ms=1_000 * (len(self.rows) + 1),
            who="ana",
            kind=kind,
            target=target,
            payload=json.dumps(payload, sort_keys=True),
            reason=reason,
        )
        assert take(self.engine, action, self.rows) == []
        self.rows.append(action)
        return action.id or 0


def by_bib(engine: Engine) -> dict:
    return {r.bib: r for rr in engine.results().races for r in rr.results}


def test_a_runner_on_course_is_run_until_the_race_closes(folder: EventFolder) -> None:
    feed = Feed()
    g = gun(folder)
    feed.crossing(101, "START", g + 5_000)
    feed.crossing(101, "MID", g + HOUR)
    engine = Engine(folder)
    engine.add_reads(feed.rows)
    assert by_bib(engine)["101"].status == "RUN"
    assert by_bib(engine)["103"].status == "DNS"  # never seen
    engine.set_clock(g + 4 * HOUR - 1)
    assert by_bib(engine)["101"].status == "RUN"
    engine.set_clock(g + 4 * HOUR)  # the 4:00:00 cutoff passes on the event clock
    assert by_bib(engine)["101"].status == "DNF"


def test_closing_a_race_is_journalled_and_undone(folder: EventFolder) -> None:
    feed = Feed()
    feed.crossing(101, "START", gun(folder) + 5_000)
    engine = Engine(folder)
    engine.add_reads(feed.rows)
    journal = Journal(engine)
    closed = journal.act("close", "half", {"race": "half"})
    assert by_bib(engine)["101"].status == "DNF"
    journal.act("undo", str(closed), {"action": closed})
    assert by_bib(engine)["101"].status == "RUN"
    final = Engine(folder)  # complete logs of a finished race
    final.add_reads(feed.rows)
    final.set_final()
    assert by_bib(final)["101"].status == "DNF"


def test_a_journalled_action_that_no_longer_applies_is_skipped(folder: EventFolder) -> None:
    engine = Engine(folder)
    rows = [
        DirectorAction(id=1, at_ms=1, who="ana", kind="status", target="999",
                       payload='{"status": "DQ"}', reason="bib removed since"),
        DirectorAction(id=2, at_ms=2, who="ana", kind="flag", target="101",
                       payload='{"code": "WRONG_WAY", "point": "10k", "status": "dismis"}'),
        DirectorAction(id=3, at_ms=3, who="ana", kind="status", target="102",
                       payload='{"status": "DQ"}', reason="cut the course"),
    ]  # fmt: skip
    skipped = replay_actions(engine, rows)
    assert [(s.id, s.kind) for s in skipped] == [(1, "status"), (2, "flag")]
    assert "unknown bib" in skipped[0].reason and "dismis" in skipped[1].reason
    assert by_bib(engine)["102"].status == "DQ"  # the rest still apply


def test_a_misspelt_flag_decision_is_refused_before_the_journal(folder: EventFolder) -> None:
    engine = Engine(folder)
    with pytest.raises(ActionError, match="dismis"):
        check(engine, "flag", "101", {"code": "WRONG_WAY", "point": "10k", "status": "dismis"})
    with pytest.raises(ActionError, match="reason"):
        vet(engine, "status", "101", {"status": "DNS"}, "  ", [])


def test_manual_passings_are_undone_edited_and_redone(folder: EventFolder) -> None:
    g = gun(folder)
    feed = Feed()
    feed.crossing(101, "START", g + 5_000)
    engine = Engine(folder)
    engine.add_reads(feed.rows)
    journal = Journal(engine)
    first = journal.act("manual_passing", "101", {"point": "finish", "time_ms": g + HOUR})
    assert by_bib(engine)["101"].gun_time_ms == HOUR
    edit = journal.act(
        "manual_passing", "101", {"point": "finish", "time_ms": g + HOUR + MIN, "replaces": first}
    )
    assert by_bib(engine)["101"].gun_time_ms == HOUR + MIN  # one passing, corrected
    undo = journal.act("undo", str(edit), {"action": edit})
    assert by_bib(engine)["101"].gun_time_ms == HOUR  # the edit undone: the first is back
    journal.act("undo", str(first), {"action": first})
    assert by_bib(engine)["101"].status == "RUN"  # voided: on course again
    with pytest.raises(ActionError, match="already out of effect"):
        journal.act("undo", str(first), {"action": first})
    journal.act("undo", str(undo), {"action": undo})  # an undo undone: the edit is back
    assert by_bib(engine)["101"].gun_time_ms == HOUR + MIN
    batch = Engine(folder)
    batch.add_reads(feed.rows)
    replay_actions(batch, journal.rows)
    assert by_bib(batch)["101"].gun_time_ms == HOUR + MIN  # live and rebuilt agree


def test_a_voided_crossing_changes_the_result_and_keeps_its_reads(folder: EventFolder) -> None:
    g = gun(folder)
    feed = Feed()
    full_race(feed, 101, g + 10_000, HOUR)
    engine = Engine(folder)
    engine.add_reads(feed.rows)
    finish = by_bib(engine)["101"].passings[-1]
    read_id = finish.crossings[0].read_ids[0]
    journal = Journal(engine)
    void = journal.act(
        "void_crossing", "101", {"chip": finish.crossings[0].chip, "read_id": read_id}
    )
    # Both chips crossed the finish: voiding one leaves the other timing the runner.
    assert by_bib(engine)["101"].status == "FIN"
    other = by_bib(engine)["101"].passings[-1].crossings[0]
    journal.act("void_crossing", "101", {"chip": other.chip, "read_id": other.read_ids[0]})
    assert by_bib(engine)["101"].status == "RUN"
    assert engine.read_count == len(feed.rows)  # the raw reads stay
    journal.act("undo", str(void), {"action": void})
    assert by_bib(engine)["101"].status == "FIN"


def test_a_replaced_chip_goes_back_to_the_unknown_chips(folder: EventFolder) -> None:
    g = gun(folder)
    feed = Feed()
    full_race(feed, 101, g + 10_000, HOUR)
    feed.burst("FIN", "SPARE9", 1, g + HOUR + 20_000)
    engine = Engine(folder)
    engine.add_reads(feed.rows)
    journal = Journal(engine)
    with pytest.raises(Question) as asked:
        journal.act("assign_chip", "101", {"chip": "SPARE9"})
    assert asked.value.field == "side" and asked.value.choices == ["front", "back", "add"]
    assert "F0101 (front)" in str(asked.value)
    assigned = journal.act("assign_chip", "101", {"chip": "SPARE9", "side": "front"})
    unknown = {u.chip: u.reads for u in engine.results().unknown_chips}
    assert unknown == {"F0101": 20}  # its reads are not lost: an unknown chip again
    journal.act("undo", str(assigned), {"action": assigned})
    assert [u.chip for u in engine.results().unknown_chips] == ["SPARE9"]
    journal.act("assign_chip", "101", {"chip": "SPARE9", "side": "add"})
    assert engine.results().unknown_chips == []
    assert by_bib(engine)["101"].status == "FIN"  # its own chips still count


def test_a_gun_preview_says_what_it_will_change_and_changes_nothing(folder: EventFolder) -> None:
    g = gun(folder)
    feed = Feed()
    for bib in (101, 102, 103):
        full_race(feed, bib, g + 10_000, HOUR + bib)
    engine = Engine(folder)
    engine.add_reads(feed.rows)
    before = {b: r.status for b, r in by_bib(engine).items()}
    fork = engine.fork()
    payload = {"race": "half", "wave": "A", "time_ms": g + 233 * 24 * HOUR}  # months late
    fork.set_gun("half", "A", payload["time_ms"])
    preview = compare(engine, fork, describe(engine, "gun", "half/A", payload))
    assert "moves the gun of Half Marathon wave A by +8 months" in preview.summary
    assert "3 runners' times change" in preview.summary and "3 become DNS" in preview.summary
    assert {b: r.status for b, r in by_bib(engine).items()} == before  # nothing applied


def test_a_record_is_confirmed_one_at_a_time_and_never_with_open_flags(tmp_path: Path) -> None:
    from tests.timing.test_records import COURSE, steady
    from tests.timing.validation_race import Reads, make_folder

    folder = make_folder(tmp_path, records=COURSE)
    reads = Reads(folder)
    reads.race(101, segment_s=steady(2 * 3600 + 29 * 60), skip=("10k",), panel=False)
    engine = Engine(folder)
    engine.add_reads(reads.rows)
    journal = Journal(engine)
    (course,) = map(claim_json, by_bib(engine)["101"].records)
    assert course["claim"] == "pending review"
    with pytest.raises(ActionError, match="open flags: MISSED_SPLIT at 10k"):
        journal.act("record", "101", {"decision": "confirm", "scopes": ["course"]})
    journal.act(
        "flag", "101", {"code": "MISSED_SPLIT", "point": "10k", "status": "dismissed"}, "unplugged"
    )
    with pytest.raises(ActionError, match="one record at a time"):
        journal.act("record", "101", {"decision": "confirm", "scopes": []})
    journal.act("record", "101", {"decision": "confirm", "scopes": ["course"]})
    (course,) = map(claim_json, by_bib(engine)["101"].records)
    assert course["claim"] == "confirmed"


def _journal(rows: list[tuple], rng) -> list[DirectorAction]:
    """Decisions a director makes mid-race: manual passings, an edit of one, voided
    crossings, statuses, a closed race, and undos of some of them."""
    g = rows[0][4] if rows else 0
    chosen: list[tuple[str, str, dict]] = []
    for _ in range(rng.randrange(1, 8)):
        bib = str(rng.choice((101, 102, 103, 104)))
        roll = rng.random()
        if roll < 0.3:
            point = rng.choice(("start", "10k", "finish"))
            chosen.append(
                ("manual_passing", bib, {"point": point, "time_ms": g + rng.randrange(0, 3 * HOUR)})
            )
        elif roll < 0.5 and rows:
            rid, _reader, chip, *_ = rng.choice([r for r in rows if r[2][1:].isdigit()])
            chosen.append(("void_crossing", str(int(chip[1:])), {"chip": chip, "read_id": rid}))
        elif roll < 0.6:
            chosen.append(("status", bib, {"status": rng.choice(("DNS", "DQ", ""))}))
        elif roll < 0.7:
            chosen.append(("close", "half", {"race": "half", "closed": rng.random() < 0.7}))
        elif chosen:
            n = rng.randrange(len(chosen)) + 1
            kind, target, payload = chosen[n - 1]
            if kind == "manual_passing" and rng.random() < 0.5:
                edit = {**payload, "time_ms": payload["time_ms"] + 60_000, "replaces": n}
                chosen.append((kind, target, edit))
            else:
                chosen.append(("undo", str(n), {"action": n}))
    return [
        DirectorAction(
            id=i, at_ms=i, who="ana", kind=k, target=t, payload=json.dumps(p), reason="r"
        )
        for i, (k, t, p) in enumerate(chosen, start=1)
    ]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    order=st.randoms(use_true_random=False),
    checkpoints=st.lists(st.integers(0, 200), max_size=6),
    act_at=st.lists(st.integers(0, 200), min_size=8, max_size=8),
)
def test_live_equals_batch_with_undo_voids_and_edits(
    tmp_path_factory, seed: int, order, checkpoints: list[int], act_at: list[int]
) -> None:
    """Reads fed one at a time, shuffled, with the director's decisions, undos, edits of
    manual passings and voided crossings taken mid-stream, end where a batch rebuild of
    the same reads and journal ends."""
    import random

    path = write_folder(tmp_path_factory.mktemp("ev"), toml=EVENT_TOML)
    folder = load_folder(path)
    rows = _race_rows(folder, seed)
    journal = _journal(rows, random.Random(seed))
    batch = Engine(folder)
    batch.add_reads(rows)
    replay_actions(batch, journal)
    live = Engine(folder)
    shuffled = rows[:]
    order.shuffle(shuffled)
    when = sorted(act_at)
    taken = 0
    for i, row in enumerate(shuffled):
        live.add_reads([row])
        while taken < len(journal) and taken < len(when) and when[taken] <= i:
            take(live, journal[taken], journal[:taken])
            taken += 1
        if i in checkpoints:
            live.results()
    for k in range(taken, len(journal)):
        take(live, journal[k], journal[:k])
    assert _snapshot(live) == _snapshot(batch)


RIVERSIDE = Path(__file__).parents[2] / "examples" / "riverside"


def marathon_gun(folder: EventFolder) -> int:
    return next(r for r in folder.event.races if r.id == "full").waves[0].gun_ms


def _marathon_158(feed: Feed, folder: EventFolder) -> dict[str, int]:
    """Bib 158's chips over every point of the marathon (5k and 26k share the K5 mat,
    half and finish the FIN mat) at a steady 4:20 pace."""
    g = marathon_gun(folder)
    at = {"start": 10_000}
    race = next(r for r in folder.event.races if r.id == "full")
    for point in race.points[1:]:
        at[point.id] = 10_000 + round(point.distance_m / 42195 * 4 * HOUR + 20 * MIN)
    for point in race.points:
        t = g + at[point.id]
        for chip in ("058003800158", "058003700158"):  # back chip leads
            if point.is_gate:
                feed.burst(point.reader, chip, point.upstream[0], t)
                feed.burst(point.reader, chip, point.downstream[0], t + 1_500)
            else:
                feed.burst(point.reader, chip, point.antennas[0], t)
            t += 200
    return at


def test_a_manual_passing_typed_too_early_shifts_no_chip_crossing() -> None:
    folder = load_folder(RIVERSIDE)
    g = marathon_gun(folder)
    feed = Feed()
    at = _marathon_158(feed, folder)
    engine = Engine(folder)
    engine.add_reads(feed.rows)
    clean = {s.point: s.chip_time_ms for s in by_bib(engine)["158"].splits}
    engine.add_manual_passing("158", "5k", g + 23 * MIN)  # 23 minutes after the gun
    result = by_bib(engine)["158"]
    splits = {s.point: s.chip_time_ms for s in result.splits}
    assert set(splits) == set(clean)
    assert {p: t for p, t in splits.items() if p != "5k"} == {
        p: t for p, t in clean.items() if p != "5k"
    }  # 26k still at 26 km, the finish still the finish: nothing shifted
    assert abs(splits["26k"] - (at["26k"] - at["start"])) < 2_000
    assert result.status == "FIN" and result.chip_time_ms == clean["finish"]
    assert [c.point for c in result.contradictions] == ["5k"]
    assert not any(r.verdict == "broken" for r in result.records)


def test_a_crossing_that_fits_no_point_is_unexplained_and_makes_no_split() -> None:
    folder = load_folder(RIVERSIDE)
    g = marathon_gun(folder)
    feed = Feed()
    _marathon_158(feed, folder)
    engine = Engine(folder)
    engine.add_reads(feed.rows)
    clean = [(s.point, s.chip_time_ms) for s in by_bib(engine)["158"].splits]
    # A stray read of the K5 mat 4 minutes after the gun: too soon for 5 km or 26 km.
    feed2 = Feed()
    feed2.rows = [(10_000 + i, *row[1:]) for i, row in enumerate(feed.rows)]
    feed2.burst("K5", "058003700158", 1, g + 4 * MIN)
    stray = Engine(folder)
    stray.add_reads(feed2.rows)
    result = by_bib(stray)["158"]
    assert [(s.point, s.chip_time_ms) for s in result.splits] == clean
    assert len(result.unexplained) == 1 and result.unexplained[0].line[0] == "K5"


def test_a_manual_passing_contradicting_a_chip_passing_asks_which_counts() -> None:
    folder = load_folder(RIVERSIDE)
    g = marathon_gun(folder)
    feed = Feed()
    at = _marathon_158(feed, folder)
    engine = Engine(folder)
    engine.add_reads(feed.rows)
    journal = Journal(engine)
    payload = {"point": "finish", "time_ms": g + at["finish"] - 5 * MIN}
    with pytest.raises(Question) as asked:
        journal.act("manual_passing", "158", payload)
    assert asked.value.field == "prefer" and "Marathon · finish" in str(asked.value)
    chip_time = by_bib(engine)["158"].chip_time_ms
    assert chip_time is not None and abs(chip_time - (at["finish"] - at["start"])) < 2_000
    chip = journal.act("manual_passing", "158", {**payload, "prefer": "chip"})
    assert by_bib(engine)["158"].chip_time_ms == chip_time  # the chip's counts
    journal.act("undo", str(chip), {"action": chip})
    journal.act("manual_passing", "158", {**payload, "prefer": "manual"})
    assert by_bib(engine)["158"].chip_time_ms == chip_time - 5 * MIN - 200
