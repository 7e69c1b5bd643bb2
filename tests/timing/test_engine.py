"""The engine: crossings, passings, times, status and places as a timer sees them."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.timing.builders import EVENT_TOML, write_folder
from timing.engine import Engine
from timing.folder import EventFolder, load_folder
from timing.report import result_json

MIN = 60_000
HOUR = 60 * MIN


@pytest.fixture
def folder(tmp_path: Path) -> EventFolder:
    return load_folder(write_folder(tmp_path))


class Feed:
    """Reads as a reader would send them, numbered like the journal numbers them."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def burst(
        self,
        reader: str,
        chip: str,
        antenna: int,
        t: int,
        n: int = 5,
        peak: int = 2,
        step: int = 100,
        rssi: bool = True,
    ) -> None:
        for k in range(n):
            strength = -50.0 - 3 * abs(k - peak) if rssi else None
            self.rows.append((len(self.rows) + 1, reader, chip, antenna, t + k * step, strength))

    def crossing(self, bib: int, reader: str, t: int, antenna: int = 1) -> None:
        """Both chips of a backwards runner over one line, peaks `t` (back) and `t`+200."""
        self.burst(reader, f"B{bib:04d}", antenna, t - 200)
        self.burst(reader, f"F{bib:04d}", antenna, t)


def run(folder: EventFolder, rows: list[tuple]):
    engine = Engine(folder)
    engine.add_reads(rows)
    return {r.bib: r for rr in engine.results().races for r in rr.results}


def gun(folder: EventFolder, wave: str = "A") -> int:
    race = folder.event.races[0]
    return next(w.gun_ms for w in race.waves if w.id == wave)


def full_race(feed: Feed, bib: int, t0: int, finish_after: int) -> None:
    feed.crossing(bib, "START", t0)
    feed.crossing(bib, "MID", t0 + finish_after // 2 - 1500, antenna=1)  # MID runs 1.5 s slow
    feed.crossing(bib, "MID", t0 + finish_after // 2 - 1500 + 1500, antenna=2)
    feed.crossing(bib, "FIN", t0 + finish_after)


def test_crossing_time_is_peak_rssi_and_keeps_read_ids(folder: EventFolder) -> None:
    feed = Feed()
    g = gun(folder)
    feed.burst("START", "F0101", 1, g + 10_000, n=7, peak=4)
    engine = Engine(folder)
    engine.add_reads(feed.rows)
    engine.results()
    (crossing,) = engine.chip_crossings("F0101")
    assert crossing.time_ms == g + 10_400 and crossing.reads == 7
    assert crossing.read_ids == tuple(range(1, 8)) and crossing.peak_rssi == -50.0


def test_without_rssi_the_first_read_counts(folder: EventFolder) -> None:
    feed = Feed()
    feed.burst("FIN", "F0101", 1, gun(folder) + HOUR, rssi=False)
    engine = Engine(folder)
    engine.add_reads(feed.rows)
    engine.results()
    assert engine.chip_crossings("F0101")[0].time_ms == gun(folder) + HOUR


@pytest.mark.parametrize(("gap", "crossings"), [(3000, 1), (3001, 2)])
def test_dedupe_window_edge(folder: EventFolder, gap: int, crossings: int) -> None:
    t = gun(folder) + HOUR
    rows = [(1, "FIN", "F0101", 1, t, None), (2, "FIN", "F0101", 2, t + gap, None)]
    engine = Engine(folder)
    engine.add_reads(rows)
    engine.results()
    assert len(engine.chip_crossings("F0101")) == crossings


def test_chip_time_from_start_mat_gun_time_from_wave(folder: EventFolder) -> None:
    feed = Feed()
    g = gun(folder, "B")
    full_race(feed, 104, g + 95_000, 2 * HOUR)
    result = run(folder, feed.rows)["104"]
    assert result.status == "FIN"
    # The back chip peaks 0.2 s before the front one: the earliest crossing counts.
    assert result.passings[0].time_ms == g + 95_000
    assert result.chip_time_ms == 2 * HOUR
    assert result.gun_time_ms == 2 * HOUR + 95_000
    data = result_json(result, folder.event.timezone)
    assert data["chip_time"] == "2:00:00.0" and data["gun_time"] == "2:01:35.0"
    assert [s["point"] for s in data["splits"]] == ["10k", "finish"]
    assert data["splits"][0]["pace_min_per_km"] == pytest.approx(6.0, abs=0.01)


def test_reads_before_the_gun_are_not_passings(folder: EventFolder) -> None:
    feed = Feed()
    g = gun(folder)
    feed.crossing(101, "START", g - 60_000)  # warming up over the mat
    feed.crossing(101, "FIN", g + HOUR)
    result = run(folder, feed.rows)["101"]
    assert result.start_ms is None and result.chip_time_ms == HOUR


def test_a_point_passed_later_is_not_passed_again(folder: EventFolder) -> None:
    feed = Feed()
    g = gun(folder)
    full_race(feed, 101, g + 10_000, HOUR)
    feed.crossing(101, "MID", g + 2 * HOUR)  # walking back past the 10 km gate afterwards
    result = run(folder, feed.rows)["101"]
    assert [s.point for s in result.splits] == ["10k", "finish"]
    assert result.status == "FIN"


def test_dns_dnf_cutoff(folder: EventFolder) -> None:
    feed = Feed()
    g = gun(folder)
    feed.crossing(101, "START", g + 5_000)
    feed.crossing(101, "MID", g + HOUR)  # never finishes
    full_race(feed, 102, g + 5_000, 4 * HOUR + MIN)  # past the 4:00:00 cutoff
    results = run(folder, feed.rows)
    assert results["101"].status == "DNF" and results["101"].place is None
    assert results["102"].status == "DNF"
    assert results["103"].status == "DNS"


def test_ties_share_a_place(folder: EventFolder) -> None:
    feed = Feed()
    g = gun(folder)
    full_race(feed, 101, g + 10_000, HOUR + 10)
    full_race(feed, 102, g + 10_000, HOUR + 90)  # same tenth: 1:00:00.0
    full_race(feed, 103, g + 10_000, HOUR + 500)
    results = run(folder, feed.rows)
    assert [results[b].place for b in ("101", "102", "103")] == [1, 1, 3]
    assert results["103"].place_sex == 2 and results["102"].place_sex == 1
    assert results["103"].place_category == 1


def test_gun_ranking(folder: EventFolder, tmp_path: Path) -> None:
    toml = (folder.path / "event.toml").read_text().replace('ranking = "chip"', 'ranking = "gun"')
    gun_folder = load_folder(write_folder(tmp_path / "gun", toml=toml))
    feed = Feed()
    g = gun(gun_folder)
    full_race(feed, 101, g + 60_000, HOUR)  # faster chip time, slower gun time
    full_race(feed, 102, g + 1_000, HOUR + 30_000)
    results = run(gun_folder, feed.rows)
    assert (results["102"].place, results["101"].place) == (1, 2)


def test_unknown_chips_kept_and_assignable(folder: EventFolder) -> None:
    feed = Feed()
    g = gun(folder)
    full_race(feed, 101, g + 10_000, HOUR)
    feed.burst("FIN", "SPARE9", 1, g + HOUR + 20_000)
    engine = Engine(folder)
    engine.add_reads(feed.rows)
    unknown = engine.results().unknown_chips
    assert [(u.chip, u.reads) for u in unknown] == [("SPARE9", 5)]
    engine.assign_chip("SPARE9", "103")
    after = engine.results()
    assert after.unknown_chips == []
    # Only the finish saw the spare chip: a finish with gun time as chip time.
    assert {r.bib: r for r in after.races[0].results}["103"].chip_time_ms == HOUR + 20_200


def test_manual_passing_and_director_status(folder: EventFolder) -> None:
    feed = Feed()
    g = gun(folder)
    feed.crossing(101, "START", g + 5_000)
    engine = Engine(folder)
    engine.add_reads(feed.rows)
    engine.add_manual_passing("101", "finish", g + HOUR)
    engine.set_status("102", "DQ")
    results = {r.bib: r for r in engine.results().races[0].results}
    assert results["101"].status == "FIN" and results["101"].splits[-1].manual
    assert results["102"].status == "DQ"


def _race_rows(folder: EventFolder, seed: int) -> list[tuple]:
    """A random race of the four runners, with what validation flags: the 10 km gate
    crossed along, the wrong way or on one line only, facing either way at its panel;
    back chips seen apart from the front ones at the finish; paces from plausible to
    far under the record (a 1-3 hour half marathon)."""
    import random

    rng = random.Random(seed)
    feed = Feed()
    for bib in (101, 102, 103, 104):
        g = gun(folder, "B" if bib == 104 else "A")
        t0 = g + rng.randrange(0, 120_000)
        total = rng.randrange(HOUR, 3 * HOUR)
        if rng.random() < 0.8:
            feed.crossing(bib, "START", t0)
        if rng.random() < 0.8:
            mid = t0 + total // 2 - 1500  # MID runs 1.5 s slow
            how = rng.choice(["along", "wrong way", "one line", "forwards"])
            first, second = (2, 1) if how == "wrong way" else (1, 2)
            feed.crossing(bib, "MID", mid, antenna=first)
            if how != "one line":
                feed.crossing(bib, "MID", mid + 1500, antenna=second)
            lead, trail = ("F", "B") if how == "forwards" else ("B", "F")
            feed.burst("MID", f"{lead}{bib:04d}", 3, mid - 1000, n=8, peak=4)
            feed.burst("MID", f"{trail}{bib:04d}", 3, mid - 900, n=1, peak=3)
        if rng.random() < 0.8:
            finish = t0 + total
            if rng.random() < 0.3:  # the back chip a minute behind its runner
                feed.burst("FIN", f"F{bib:04d}", 1, finish)
                feed.burst("FIN", f"B{bib:04d}", 1, finish + 60_000)
            else:
                feed.crossing(bib, "FIN", finish)
    feed.burst("FIN", "STRAY1", 1, gun(folder) + HOUR)
    return feed.rows


def _decide(engine: Engine) -> None:
    """Director decisions, some on flags the reads may never raise."""
    engine.decide_flag("101", "WRONG_WAY", "10k", "confirmed", "ana", "video", 1_000)
    engine.decide_flag("102", "IMPLAUSIBLE_PACE", "finish", "dismissed", "ana", "", 2_000)
    engine.decide_flag("104", "FORWARD_FACING", "10k", "confirmed", "bo", "photo", 3_000)
    engine.confirm_record("103", "ana", "checked", 4_000)


def _snapshot(engine: Engine) -> list:
    results = engine.results()
    tz = engine.event.timezone
    return [[result_json(r, tz) for r in rr.results] for rr in results.races] + [
        [rr.skipped_checks for rr in results.races],
        [(u.chip, u.reads) for u in results.unknown_chips],
        results.crossings,
    ]


RECORDS = (
    "scope,distance_m,sex,category,time,holder,nation,date,venue,source\n"
    "course,21097.5,F,,2:00:00,Maya Okafor,GBR,2025-04-13,Riverside,2025 results\n"
    "course,21097.5,M,,2:10:00,Tom Reyes,GBR,2025-04-13,Riverside,2025 results\n"
)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    order=st.randoms(use_true_random=False),
    checkpoints=st.lists(st.integers(0, 200), max_size=6),
    act_at=st.integers(0, 200),
)
def test_live_equals_batch(
    tmp_path_factory, seed: int, order, checkpoints: list[int], act_at: int
) -> None:
    """Reads fed one at a time, shuffled, with results taken along the way and the
    director's decisions given mid-stream, end where a batch replay of the same reads
    and decisions ends: flags, records and the record watch included."""
    toml = EVENT_TOML + '\n[rules]\ndq_on = ["WRONG_WAY"]\n'
    path = write_folder(tmp_path_factory.mktemp("ev"), toml=toml)
    (path / "records.csv").write_text(RECORDS, encoding="utf-8")
    folder = load_folder(path)
    rows = _race_rows(folder, seed)
    batch = Engine(folder)
    _decide(batch)
    batch.add_reads(rows)
    live = Engine(folder)
    shuffled = rows[:]
    order.shuffle(shuffled)
    for i, row in enumerate(shuffled):
        live.add_reads([row])
        if i == act_at:
            _decide(live)
        if i in checkpoints:
            live.results()
    if act_at >= len(shuffled):
        _decide(live)
    assert _snapshot(live) == _snapshot(batch)


def test_live_equals_batch_covers_flags_and_records(tmp_path: Path) -> None:
    """The random races above do raise every kind of verdict the snapshot compares."""
    path = write_folder(tmp_path, toml=EVENT_TOML + '\n[rules]\ndq_on = ["WRONG_WAY"]\n')
    (path / "records.csv").write_text(RECORDS, encoding="utf-8")
    folder = load_folder(path)
    seen: set[str] = set()
    for seed in range(40):
        engine = Engine(folder)
        _decide(engine)
        engine.add_reads(_race_rows(folder, seed))
        for r in engine.results().races[0].results:
            seen.update(f.code for f in r.flags)
            seen.update(f"record {x.verdict}" for x in r.records)
            seen.update(f"claim {x.claim}" for x in r.records)
            seen.update(f"flag {f.status}" for f in r.flags)
            seen.update(["DQ"] if r.status == "DQ" else [])
            seen.update(["projected"] if r.projected_finish_ms else [])
    expected = {
        "WRONG_WAY", "FORWARD_FACING", "IMPLAUSIBLE_PACE", "MISSED_SPLIT", "CHIP_SEPARATED",
        "record broken", "record within margin", "claim pending review", "claim confirmed",
        "flag open", "flag confirmed", "flag dismissed", "DQ", "projected",
    }  # fmt: skip
    assert expected <= seen, expected - seen


# ---- lap races ------------------------------------------------------------------------


def _track_rows(folder: EventFolder, seed: int) -> tuple[list[tuple], list[tuple]]:
    """A random track meet: laps at a varying pace, reads missed, double reads within
    the dedupe window, extra crossings soon after a lap, a panel facing either way,
    crossings either side of the end of the timed race, spotters beside their runners.
    Returns the reads and the director's decisions on the crossings they make."""
    import random

    from tests.timing.track_event import Track, gun, key

    rng = random.Random(seed)
    track = Track()
    decisions: list[tuple] = []
    for bib, race in ((1, "5K"), (2, "5K"), (3, "5K"), (11, "1H"), (12, "1H")):
        g = gun(folder, race)
        lap = rng.randrange(95_000, 200_000)
        t = g + (rng.randrange(2_000, 8_000) if race == "1H" else lap // 2)
        if race == "1H" and rng.random() < 0.8:
            track.cross(bib, g + rng.randrange(1_000, 6_000))  # the start on the line
        count = 13 if race == "5K" else 3_600_000 // lap + 2
        for _ in range(count + rng.choice([0, 0, 1])):
            if rng.random() < 0.08:
                decisions.append((bib, "MISSED_LAP", key(folder, t + lap), "confirmed"))
            else:
                facing = "front" if rng.random() < 0.05 else "back"
                track.cross(bib, t, facing=facing, panel=rng.random() < 0.9)
            if rng.random() < 0.05:
                track.cross(bib, t + rng.randrange(1_000, 2_600))  # a double read
            if rng.random() < 0.08:
                extra = t + rng.randrange(8_000, 30_000)
                track.cross(bib, extra)
                if rng.random() < 0.5:
                    decisions.append((bib, "SHORT_LAP", key(folder, extra), "confirmed"))
            if bib in (1, 11) and rng.random() < 0.7:
                track.cross(bib + 8, t + 400, facing="front")  # the spotter beside them
            t += round(lap * rng.uniform(0.9, 1.1))
    track.burst("STRAY1", 1, gun(folder, "5K") + 600_000)
    return track.rows, decisions


def _decide_laps(engine: Engine, decisions: list[tuple]) -> None:
    for bib, code, point, status in decisions:
        engine.decide_flag(str(bib), code, point, status, "ana", "video", 1_000)
    engine.set_partial("11", 123)
    engine.decide_flag("2", "SHORT_LAP", "LAP@10:00:00.0", "dismissed", "bo", "", 2_000)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shuffle=st.integers(0, 2**32),
    checkpoints=st.lists(st.integers(0, 400), max_size=6),
    act_at=st.integers(0, 400),
)
def test_live_equals_batch_in_lap_races(
    tmp_path_factory, seed: int, shuffle: int, checkpoints: list[int], act_at: int
) -> None:
    """The same property on a track meet: laps, short and missed laps, the end of a
    timed race, confirmed laps and a final part lap, spotters."""
    from tests.timing.track_event import track_folder

    folder = track_folder(tmp_path_factory.mktemp("track"))
    rows, decisions = _track_rows(folder, seed)
    batch = Engine(folder)
    _decide_laps(batch, decisions)
    batch.add_reads(rows)
    import random

    live = Engine(folder)
    shuffled = rows[:]
    random.Random(shuffle).shuffle(shuffled)
    step = max(1, len(shuffled) // 400)  # a few hundred feeds of one to a few reads
    fed = 0
    for i in range(0, len(shuffled), step):
        live.add_reads(shuffled[i : i + step])
        if fed == act_at:
            _decide_laps(live, decisions)
        if fed in checkpoints:
            live.results()
        fed += 1
    if act_at >= fed:
        _decide_laps(live, decisions)
    assert _snapshot(live) == _snapshot(batch)


def test_live_equals_batch_in_lap_races_covers_what_it_compares(tmp_path: Path) -> None:
    from tests.timing.track_event import track_folder

    folder = track_folder(tmp_path)
    seen: set[str] = set()
    for seed in range(30):
        engine = Engine(folder)
        rows, decisions = _track_rows(folder, seed)
        _decide_laps(engine, decisions)
        engine.add_reads(rows)
        for rr in engine.results().races:
            for r in rr.results:
                seen.update(f"{f.code} {f.status}" for f in r.flags)
                seen.update(["lapped"] if r.lapped else [])
                seen.update(["inferred"] if any(lap.inferred for lap in r.laps) else [])
                seen.update(["confirmed lap"] if any(lap.confirmed for lap in r.laps) else [])
                seen.update([f"{rr.race.id} {r.status}"])
    expected = {
        "SHORT_LAP open", "SHORT_LAP confirmed", "MISSED_LAP open", "MISSED_LAP confirmed",
        "FORWARD_FACING open", "lapped", "inferred", "confirmed lap", "5K FIN", "5K RUN",
        "1H FIN",
    }  # fmt: skip
    assert expected <= seen, expected - seen
