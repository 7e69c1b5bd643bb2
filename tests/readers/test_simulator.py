"""The race simulator: truth, physical model of the reads, log lines, live streaming."""

from __future__ import annotations

import itertools
import json
import os
import select
import statistics
import threading
import time
import tty
from collections import defaultdict
from collections.abc import Iterable

import pytest

from readers.formats import get_format
from readers.read import ParseError, Read
from readers.simulator import (
    Behaviour,
    Simulation,
    demo_course,
    random_injections,
    simulate,
    stream_live,
)
from readers.simulator.reads import Sink
from readers.simulator.runners import MARATHON_M, RIEGEL
from tests.readers.sim_courses import RECORDS

SEED = 5
WINDOW_MS = 3000
# Marathon bibs are 1-80, half marathon bibs 81-200 in the 200-runner demo course.
INJECT = {
    "2": [Behaviour.forward_facing(1)],  # K5 -> K10, K10 has an oncoming panel
    "3": [Behaviour.wrong_way("K10")],
    "4": [Behaviour.missed_split("K15")],
    "5": [Behaviour.chip_separated("K15", carrier="6")],
    "7": [Behaviour.chip_separated("K21")],  # lost
    "8": [Behaviour.sparse()],
    "90": [Behaviour.forward_facing(3)],  # K15 -> FIN, FIN has an oncoming panel
}
PANELS = {"K10": (5,), "FIN": (5,)}


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(demo_course(seed=SEED, runners=200, records=RECORDS), SEED, inject=INJECT)


@pytest.fixture(scope="module")
def by_chip(sim: Simulation) -> dict[tuple[str, str], list[Read]]:
    """(reader, chip) -> reads, time-ordered."""
    out: dict[tuple[str, str], list[Read]] = defaultdict(list)
    for rid in sim.reader_ids:
        for r in sim.reads[rid]:
            out[rid, r.chip].append(r)
    return out


def near(
    sim: Simulation,
    by_chip: dict[tuple[str, str], list[Read]],
    reader: str,
    chip: str | None,
    t_true: int,
    antennas: Iterable[int],
) -> list[tuple[int, Read]]:
    """Reads of `chip` on `antennas` within the window, with their true-clock times."""
    if chip is None:
        return []
    off = sim.clock_offset_ms(reader)
    ants = set(antennas)
    out = []
    for r in by_chip.get((reader, chip), ()):
        t = r.time_ms + off
        if abs(t - t_true) <= WINDOW_MS and r.antenna in ants:
            out.append((t, r))
    return out


def clean_bibs(sim: Simulation) -> list[str]:
    return [bib for bib, t in sim.truth.items() if not t["behaviours"]]


def points_of(sim: Simulation, race: str) -> list:
    (r,) = [x for x in sim.course.races if x.id == race]
    return sorted(r.points, key=lambda p: p.distance_m)


def test_same_seed_same_race(sim: Simulation) -> None:
    again = simulate(demo_course(seed=SEED, runners=200, records=RECORDS), SEED, inject=INJECT)
    assert again.truth == sim.truth
    for rid in sim.reader_ids:
        assert list(again.lines(rid)) == list(sim.lines(rid))
    other = simulate(demo_course(seed=SEED, runners=200, records=RECORDS), SEED + 1, inject=INJECT)
    assert other.truth != sim.truth


def test_truth_has_every_point_unless_cut(sim: Simulation) -> None:
    for bib, truth in sim.truth.items():
        expected = [p.id for p in points_of(sim, truth["race"])]
        if bib == "4":
            expected.remove("K15")
        assert list(truth["points"]) == expected, bib
        times = list(truth["points"].values())
        assert times == sorted(times)
        assert truth["chip_time_ms"] == truth["finish_ms"] - truth["start_ms"]
        assert 0 < truth["start_ms"] - truth["gun_ms"] < 8 * 60_000
    assert "shortcut_m" in sim.truth["4"]


def test_cut_course_leaves_no_reads_and_is_quicker(sim, by_chip) -> None:
    t = sim.truth["4"]
    for side in ("front", "back"):
        assert not by_chip.get(("K15", t["chips"][side]))
    # The shortcut shows as a pace between K10 and K21 that the runner's own other
    # segments do not have.
    p = t["points"]
    cut_pace = (p["K21"] - p["K10"]) / 11.0975
    own_pace = (p["K10"] - p["K5"]) / 5.0
    assert cut_pace < 0.8 * own_pace


def test_reads_peak_at_the_true_crossing(sim, by_chip) -> None:
    checked = seen = 0
    errors = []
    for bib in clean_bibs(sim):
        truth = sim.truth[bib]
        for pt in points_of(sim, truth["race"]):
            t = truth["points"][pt.id]
            lines = [(pt.antennas, t), (pt.upstream, t)]
            if pt.downstream:
                lines.append((pt.downstream, truth["gates"][pt.id]["downstream"]))
            for ants, t_line in lines:
                if not ants:
                    continue
                for chip in truth["chips"].values():
                    checked += 1
                    reads = near(sim, by_chip, pt.reader, chip, t_line, ants)
                    if not reads:
                        continue  # a chip missed at a line now and then
                    seen += 1
                    best_t = max(reads, key=lambda x: (x[1].rssi, -x[0]))[0]
                    errors.append(abs(best_t - t_line))
    assert seen > 0.95 * checked
    assert max(errors) <= 100
    assert statistics.mean(errors) <= 40


def test_mat_reads_look_like_a_mat(sim, by_chip) -> None:
    counts = []
    for bib in clean_bibs(sim)[:50]:
        t = sim.truth[bib]
        reads = near(sim, by_chip, "K5", t["chips"]["front"], t["points"]["K5"], (1, 2))
        if reads:
            counts.append(len(reads))
            rssi = [r.rssi for _, r in reads]
            assert -75 <= max(rssi) <= -40
            gaps = [b[0] - a[0] for a, b in itertools.pairwise(reads)]
            assert all(g >= 0 for g in gaps)
    assert 8 <= statistics.median(counts) <= 30


def panel_evidence(sim, by_chip, truth, point: str, side: str) -> tuple[int, float]:
    reads = near(sim, by_chip, point, truth["chips"][side], truth["points"][point], PANELS[point])
    return len(reads), max((r.rssi for _, r in reads), default=-200.0)


def test_back_chip_dominates_the_oncoming_panel(sim, by_chip) -> None:
    crossings = with_back = 0
    for bib in clean_bibs(sim):
        truth = sim.truth[bib]
        for point in PANELS:
            crossings += 1
            back_n, back_peak = panel_evidence(sim, by_chip, truth, point, "back")
            front_n, front_peak = panel_evidence(sim, by_chip, truth, point, "front")
            if back_n == 0:
                continue
            with_back += 1
            assert back_n > front_n, (bib, point)
            assert back_peak > front_peak, (bib, point)
    assert with_back > 0.95 * crossings


@pytest.mark.parametrize(("bib", "point"), [("2", "K10"), ("90", "FIN")])
def test_front_chip_dominates_when_facing_forwards(sim, by_chip, bib: str, point: str) -> None:
    truth = sim.truth[bib]
    assert truth["forwards_at"] == [point]
    front_n, front_peak = panel_evidence(sim, by_chip, truth, point, "front")
    back_n, back_peak = panel_evidence(sim, by_chip, truth, point, "back")
    assert front_n > back_n
    assert front_peak > back_peak


def test_forward_segment_is_faster(sim) -> None:
    p = sim.truth["2"]["points"]
    assert (p["K10"] - p["K5"]) < 0.8 * (p["K15"] - p["K10"])


def first_read(reads: list[tuple[int, Read]]) -> int:
    return min(t for t, _ in reads)


def test_gate_upstream_before_downstream_unless_wrong_way(sim, by_chip) -> None:
    ordered = 0
    for bib, truth in sim.truth.items():
        if "K10" not in truth["points"] or (truth["behaviours"] and bib != "3"):
            continue
        gate = truth["gates"]["K10"]
        for chip in truth["chips"].values():
            up = near(sim, by_chip, "K10", chip, gate["upstream"], (1, 2))
            down = near(sim, by_chip, "K10", chip, gate["downstream"], (3, 4))
            if not up or not down:
                continue
            if bib == "3":
                assert gate["downstream"] < gate["upstream"]
                assert first_read(down) < first_read(up)
            else:
                assert 800 <= gate["downstream"] - gate["upstream"] <= 3500
                assert first_read(up) < first_read(down)
                ordered += 1
    assert ordered > 300


def test_separated_back_chip_travels_with_its_carrier_or_is_gone(sim, by_chip) -> None:
    owner, carrier = sim.truth["5"], sim.truth["6"]
    back = owner["chips"]["back"]
    assert owner["back_chip_gone_at"] == "K15"
    assert near(sim, by_chip, "K10", back, owner["points"]["K10"], (1, 2, 3, 4))
    for point in ("K15", "K21", "K30", "K40", "FIN"):
        reader = point
        assert not near(sim, by_chip, reader, back, owner["points"][point], (1, 2, 3, 4, 5))
        with_carrier = near(sim, by_chip, reader, back, carrier["points"][point], (1, 2, 3, 4))
        if with_carrier:
            t = carrier["points"][point]
            assert all(abs(when - t) < 2000 for when, _ in with_carrier)
    lost = sim.truth["7"]
    gone = lost["chips"]["back"]
    for point in ("K21", "K30", "K40", "FIN"):
        assert not by_chip.get((point, gone))
    assert by_chip.get(("K15", gone))


def test_sparse_runner_is_read_less(sim, by_chip) -> None:
    def total(bib: str) -> int:
        t = sim.truth[bib]
        return sum(
            len(by_chip.get((rid, c), ())) for rid in sim.reader_ids for c in t["chips"].values()
        )

    clean = [total(b) for b in clean_bibs(sim) if sim.truth[b]["race"] == "M"]
    assert total("8") < 0.6 * statistics.median(clean)


def test_reads_are_time_ordered_in_the_reader_clock(sim) -> None:
    for rid in sim.reader_ids:
        times = [r.time_ms for r in sim.reads[rid]]
        assert times == sorted(times)
    # K15's clock_offset_s is -2.4: its clock runs 2.4 s ahead, and adding the offset
    # to what it says gives the true time.
    truth = sim.truth["1"]
    raw = [r for r in sim.reads["K15"] if r.chip == truth["chips"]["front"]]
    best = max(raw, key=lambda r: r.rssi or -200.0)
    assert abs(best.time_ms - truth["points"]["K15"] - 2400) < 100


def test_stray_chips_are_unknown_and_read_near_mats(sim) -> None:
    known = {c for t in sim.truth.values() for c in t["chips"].values()}
    assert sim.stray_chips and not set(sim.stray_chips) & known
    strays = {r.chip for rid in sim.reader_ids for r in sim.reads[rid]} - known
    assert strays and strays <= set(sim.stray_chips)


def test_garbage_lines_never_parse(sim) -> None:
    fmt = get_format("retrotime-csv")
    assert sim.garbage_count > 0
    for rid in sim.reader_ids:
        ctx = sim.context(rid)
        for text in sim.garbage_lines(rid):
            assert "\n" not in text and "\r" not in text
            with pytest.raises(ParseError):
                fmt.parse(text, ctx)
    lines = sum(sim.read_count(rid) + len(sim.garbage_lines(rid)) for rid in sim.reader_ids)
    assert 0.001 < sim.garbage_count / lines < 0.01


def test_lines_parse_back_to_the_same_reads(sim) -> None:
    fmt = get_format("retrotime-csv")
    for rid in sim.reader_ids:
        ctx = sim.context(rid)
        reads = sim.reads[rid]
        parsed, garbage = [], []
        for line in sim.lines(rid):
            try:
                parsed.append(fmt.parse(line, ctx))
            except ParseError:
                garbage.append(line)
        assert parsed == reads
        assert garbage == sim.garbage_lines(rid)
        # The fast retrotime-csv writer says exactly what the format's emit says.
        emitted = [fmt.emit(r, ctx) for r in reads]
        assert [line for line in sim.lines(rid) if line not in set(garbage)] == emitted


def test_write_logs_and_truth(sim, tmp_path) -> None:
    paths = sim.write_logs(tmp_path / "logs")
    assert sorted(paths) == sorted(sim.reader_ids)
    for rid, path in paths.items():
        assert path.name == f"{rid}.log"
        assert path.read_text(encoding="utf-8").splitlines() == list(sim.lines(rid))
    doc = json.loads(sim.write_truth(tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert doc["runners"]["4"]["behaviours"] == [{"kind": "MISSED_SPLIT", "point": "K15"}]
    assert len(doc["runners"]) == 200
    assert doc["readers"]["K15"]["clock_offset_s"] == -2.4


def test_paces_are_backwards_paces() -> None:
    course = demo_course(seed=11, runners=2000, records=RECORDS)
    sim = simulate(course, 11)
    paces = [t["pace_s_per_km"] for t in sim.truth.values()]
    assert 7.5 * 60 <= statistics.median(paces) <= 9.5 * 60
    assert 4.8 * 60 <= min(paces) <= 6.5 * 60
    assert 11 * 60 <= max(paces) <= 13.5 * 60
    men = statistics.median(t["pace_s_per_km"] for t in sim.truth.values() if t["sex"] == "M")
    women = statistics.median(t["pace_s_per_km"] for t in sim.truth.values() if t["sex"] == "F")
    assert women > men
    # No clean segment beats the backwards record scaled to its length (Riegel).
    for truth in sim.truth.values():
        pts = points_of(sim, truth["race"])
        for a, b in itertools.pairwise(pts):
            d = b.distance_m - a.distance_m
            record_ms = RECORDS["M"].time_s * 1000 * (d / MARATHON_M) ** RIEGEL
            assert truth["points"][b.id] - truth["points"][a.id] > record_ms


def test_two_hundred_runners_is_quick() -> None:
    course = demo_course(seed=3, runners=200, records=RECORDS)
    t0 = time.perf_counter()
    sim = simulate(course, 3, inject=random_injections(course, 3, 0.1))
    assert time.perf_counter() - t0 < 2.0
    assert sim.read_count() > 200 * 6 * 2 * 8


def test_behaviour_kind_may_be_given_as_text() -> None:
    assert Behaviour("WRONG_WAY", point="K10") == Behaviour.wrong_way("K10")
    with pytest.raises(ValueError):
        Behaviour("WALKING")


def test_invalid_injections_are_refused() -> None:
    course = demo_course(seed=1, runners=20, records=RECORDS)
    with pytest.raises(ValueError, match="gate"):
        simulate(course, 1, inject={"1": [Behaviour.wrong_way("K5")]})
    with pytest.raises(ValueError, match="intermediate"):
        simulate(course, 1, inject={"1": [Behaviour.missed_split("FIN")]})
    with pytest.raises(ValueError, match="unknown bib"):
        simulate(course, 1, inject={"nobody": [Behaviour.sparse()]})


def test_times_are_quantised_to_the_format_resolution() -> None:
    sink = Sink(off_ms=0, res_ms=10, rssi_step=2, passing=False, poll_ms=50.0)
    for t in (1234.9, 1239.99, 1240.0, 1249.5):
        sink.add(t, 0, -55.4)
    times = [p >> 40 for p in sink.buf]
    assert times == [1230, 1230, 1240, 1240]
    assert {p & 0xFF for p in sink.buf} == {110}  # -55 dBm, whole dB


# -- live streaming over real pseudo-terminals ----------------------------------------------


def small_sim() -> Simulation:
    return simulate(demo_course(seed=2, runners=20, records=RECORDS), 2)


def read_until(fd: int, size: int, deadline: float) -> bytes:
    got = bytearray()
    while len(got) < size and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            got += os.read(fd, 65536)
    return bytes(got)


def expected_bytes(sim: Simulation, rid: str) -> bytes:
    return b"".join(line.encode() + b"\n" for line in sim.lines(rid))


def test_stream_live_to_a_pty_master_fd() -> None:
    sim = small_sim()
    want = expected_bytes(sim, "K10")
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        got: list[bytes] = []
        reader = threading.Thread(
            target=lambda: got.append(read_until(slave, len(want), time.monotonic() + 20))
        )
        reader.start()
        t0 = time.monotonic()
        stats = stream_live(sim, "K10", master, speed=200_000.0)
        reader.join(timeout=25)
        assert time.monotonic() - t0 < 20
        assert got and got[0] == want
        assert stats.lines_written == len(want.splitlines()) and stats.lines_dropped == 0
        assert os.get_blocking(master)  # the caller's fd is left as it was
    finally:
        os.close(master)
        os.close(slave)


def test_stream_live_to_a_pyserial_url() -> None:
    sim = small_sim()
    want = expected_bytes(sim, "FIN")
    master, slave = os.openpty()
    try:
        got: list[bytes] = []
        reader = threading.Thread(
            target=lambda: got.append(read_until(master, len(want), time.monotonic() + 20))
        )
        reader.start()
        stats = stream_live(sim, "FIN", os.ttyname(slave), speed=200_000.0, baudrate=921_600)
        reader.join(timeout=25)
        assert got and got[0] == want
        assert not stats.stopped
    finally:
        os.close(master)
        os.close(slave)


def test_stream_live_keeps_race_time_and_stops_on_request() -> None:
    sim = small_sim()
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        stop = threading.Event()
        threading.Timer(0.3, stop.set).start()
        t0 = time.monotonic()
        stats = stream_live(sim, "START", master, speed=60.0, stop_event=stop)
        elapsed = time.monotonic() - t0
        assert stats.stopped
        assert elapsed < 1.0
        # At 60x, 0.3 s of wall time is 18 s of race: only the first few starters.
        received = read_until(slave, 1 << 20, time.monotonic() + 0.5).splitlines()
        assert 0 < len(received) == stats.lines_written < sim.read_count("START")
        first = list(sim.timed_lines("START"))
        span = first[len(received) - 1][0] - first[0][0]
        assert span <= 0.3 * 60 * 1000 + 500
    finally:
        os.close(master)
        os.close(slave)
