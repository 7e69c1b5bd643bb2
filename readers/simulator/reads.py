"""Tag reads at every line a runner crosses, as packed integers per reader.

A chip in a mat's field is read every 30-100 ms for a second or so; its RSSI rises
to a peak over the line (about -45 to -70 dBm) and falls. The body absorbs UHF, so
an `oncoming` panel mostly reads the chip on the leading side of the body (the
back chip of a backwards runner), and at a mat the leading chip peaks a little
earlier. Strays are spectators' chips near the mats.

Millions of reads are kept as one int each rather than as objects:

    time (reader clock, ms after the simulation base) << 40
    | chip index << 20 | antenna << 8 | -RSSI in half dB

so one `list.sort()` of ints orders a reader's reads by time (ties by chip).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

from readers.simulator.runners import Plan

T_SHIFT = 40
CHIP_SHIFT = 20
ANT_SHIFT = 8
CHIP_MASK = (1 << 20) - 1
ANT_MASK = (1 << 12) - 1
RSSI_MASK = 0xFF

# Peak RSSI at a mat, dBm, and its fall-off across the field (dB at the field's edge).
MAT_PEAK = (-70.0, -45.0)
MAT_EDGE_DROP_DB = 18.0
PANEL_PEAK = (-62.0, -50.0)
PANEL_SLOPE_DB_PER_M = 3.0
PANEL_FROM_M, PANEL_TO_M, PANEL_BEST_M = -6.0, 0.3, -1.5  # before (-) / after the line
LEAD_M = 0.06  # how far the leading chip is ahead of the body centre line


@dataclass(frozen=True, slots=True)
class ReadModel:
    """How well chips are read. `sparse` runners use the second set."""

    miss_line: float = 0.01  # a chip not read at all at one line
    p_read: float = 0.9  # each poll of a chip in the field reads it
    noise_db: float = 1.0
    sparse_miss_line: float = 0.12
    sparse_p_read: float = 0.35
    sparse_noise_db: float = 4.0


@dataclass(slots=True)
class Sink:
    """One reader's reads as they are generated, with its clock and resolution."""

    off_ms: int  # reader_time = true_time - off_ms
    res_ms: int  # time resolution of the format (1 ms, 10 ms for hundredths)
    rssi_step: int  # RSSI resolution in half dB (1: 0.5 dB, 2: whole dB)
    passing: bool  # the decoder reports one passing per crossing, not raw reads
    poll_ms: float  # this reader's basic polling interval per chip
    buf: list[int] = field(default_factory=list)

    def add(self, t: float, hi: int, rssi: float) -> None:
        tq = int(t) - self.off_ms
        if self.res_ms > 1:
            tq -= tq % self.res_ms
        step = self.rssi_step
        code = int(-rssi * 2.0 / step + 0.5) * step
        self.buf.append(tq << T_SHIFT | hi | (code if code <= RSSI_MASK else RSSI_MASK))


# Standard normal quantiles: one uniform draw and a lookup instead of `random.gauss`,
# which costs several times more and is called for every read.
_Z = tuple(NormalDist().inv_cdf((i + 0.5) / 1024) for i in range(1024))


def normal(rng: random.Random, sigma: float) -> float:
    return sigma * _Z[int(rng.random() * 1024)]


def _neighbour(ants: Sequence[int], prim: int) -> int:
    i = list(ants).index(prim)
    return ants[i + 1] if i + 1 < len(ants) else ants[i - 1]


def mat_line(
    sink: Sink,
    rng: random.Random,
    t_peak: float,
    speed: float,
    ants: Sequence[int],
    chip_hi: int,
    peak_db: float,
    p_read: float,
    noise: float,
    clean: bool,
) -> None:
    """A chip crossing one mat line whose field peaks at `t_peak` (true ms after base)."""
    rnd = rng.random
    half = (0.7 + 0.5 * rnd()) / speed * 1000.0  # half the time in the field
    # About 8-30 polls per crossing: a reader only gets round to each chip so often.
    iv = min(max(sink.poll_ms * (0.8 + 0.7 * rnd()), half / 15.0), half / 4.0)
    prim = ants[int(rnd() * len(ants))]
    hi = chip_hi | prim << ANT_SHIFT
    hi_n = chip_hi | _neighbour(ants, prim) << ANT_SHIFT if len(ants) > 1 else hi
    # One poll lands within ~12 ms of the peak: the strongest read marks the crossing.
    t0 = t_peak + (rnd() - 0.5) * 24.0
    top = peak_db + normal(rng, noise)
    if sink.passing:
        sink.add(t0, hi, top)
        return
    if clean or rnd() < p_read:
        sink.add(t0, hi, top)
    # The loop below is where all the time goes: Sink.add is inlined, names are local.
    out = sink.buf.append
    res = sink.res_ms
    step = sink.rssi_step
    scale = 2.0 / step
    t0r = t0 - sink.off_ms
    cap = top - (step * 0.5 + 0.01)  # strictly below the peak read once quantised
    curve = MAT_EDGE_DROP_DB / (half * half)
    n = int(half / iv)
    jit = 0.4 * iv
    z = _Z
    shift = T_SHIFT
    mask = RSSI_MASK
    two = hi_n != hi
    for k in (*range(-n, 0), *range(1, n + 1)):
        if rnd() >= p_read:
            continue
        dt = k * iv + (rnd() - 0.5) * jit
        r = peak_db - curve * dt * dt + noise * z[int(rnd() * 1024)]
        h = hi
        if two and rnd() < 0.2:  # the next mat antenna catches the edge of it
            h = hi_n
            r -= 4.0
        if clean and r > cap:
            r = cap - rnd()
        tq = int(t0r + dt)
        if res > 1:
            tq -= tq % res
        code = int(-r * scale + 0.5) * step
        out(tq << shift | h | (code if code <= mask else mask))


def panel_leading(
    sink: Sink,
    rng: random.Random,
    t_line: float,
    speed: float,
    ants: Sequence[int],
    chip_hi: int,
    p_read: float,
    noise: float,
) -> float:
    """The chip on the leading side, seen by a panel facing approaching runners.

    Returns its peak RSSI so the trailing chip can be kept below it.
    """
    rnd = rng.random
    peak = PANEL_PEAK[0] + (PANEL_PEAK[1] - PANEL_PEAK[0]) * rnd()
    hi = chip_hi | ants[int(rnd() * len(ants))] << ANT_SHIFT
    ms_per_m = 1000.0 / speed
    if sink.passing:
        sink.add(t_line + PANEL_BEST_M * ms_per_m, hi, peak)
        return peak
    window = (PANEL_TO_M - PANEL_FROM_M) * ms_per_m
    iv = max(sink.poll_ms * (0.8 + 0.7 * rnd()), window / 25.0)
    phase = rnd() * iv
    start = t_line + PANEL_FROM_M * ms_per_m + phase
    add = sink.add
    for i in range(int((window - phase) / iv) + 1):
        if rnd() >= p_read:
            continue
        t = start + i * iv
        x = (t - t_line) / ms_per_m
        add(t, hi, peak - PANEL_SLOPE_DB_PER_M * abs(x - PANEL_BEST_M) + normal(rng, noise))
    return peak


def panel_weak(
    sink: Sink,
    rng: random.Random,
    t_line: float,
    speed: float,
    ants: Sequence[int],
    chip_hi: int,
    below_db: float,
) -> None:
    """A shadowed chip at a panel: 0-3 faint reads, well below `below_db`."""
    rnd = rng.random
    hi = chip_hi | ants[int(rnd() * len(ants))] << ANT_SHIFT
    ms_per_m = 1000.0 / speed
    count = int(rnd() * 4.0)
    if sink.passing:
        count = min(count, 1)
    for _ in range(count):
        x = PANEL_FROM_M * 0.7 + (PANEL_TO_M - PANEL_FROM_M * 0.7) * rnd()
        sink.add(t_line + x * ms_per_m, hi, below_db - 12.0 - 8.0 * rnd())


def runner_reads(
    plan: Plan,
    sinks: Mapping[str, Sink],
    rng: random.Random,
    model: ReadModel,
    chip_index: Mapping[str, int],
    carried: Sequence[tuple[int, float]],
    base: int,
) -> None:
    """All of one runner's reads: each chip at each line of each point crossed.

    `carried` are other runners' back chips this runner carries, from a distance on.
    In track races a clean runner's chips are read at every crossing (never missed at
    a line), so the laps can be recovered exactly; a sparse runner's are not.
    """
    runner = plan.runner
    front = chip_index[runner.chip_front] << CHIP_SHIFT
    has_back = "back" in plan.race.chips and runner.chip_back is not None
    back = chip_index[runner.chip_back or ""] << CHIP_SHIFT if has_back else -1
    if plan.sparse:
        miss, p_read, noise = model.sparse_miss_line, model.sparse_p_read, model.sparse_noise_db
    else:
        miss, p_read, noise = model.miss_line, model.p_read, model.noise_db
        if plan.track is not None:
            miss = 0.0
    clean = not plan.sparse
    rnd = rng.random
    lo, span = MAT_PEAK[0], MAT_PEAK[1] - MAT_PEAK[0]
    for k, t_true, v, forward, wrong_way, read, _ in plan.passes:
        if not read:
            continue
        pt = plan.points[k]
        t = t_true - base
        sink = sinks[pt.reader]
        worn = [(front, False)]  # (chip bits, worn on the back)
        if back >= 0 and (plan.back_gone_from is None or k < plan.back_gone_from):
            worn.append((back, True))
        worn.extend((hi, True) for hi, d in carried if pt.distance_m >= d)
        lead = min(LEAD_M / v * 1000.0, 30.0)
        down = pt.gap_m / v * 1000.0
        if wrong_way:  # the downstream line comes first
            down = -down
        for hi, on_back in worn:
            leading = on_back != forward  # the back leads a backwards runner
            tc = t - lead if leading else t + lead
            pr = p_read if leading else 0.9 * p_read
            for ants, dt in ((pt.antennas, 0.0), (pt.upstream, 0.0), (pt.downstream, down)):
                if ants and rnd() >= miss:
                    peak = lo + span * rnd() - (0.0 if leading else 2.0)
                    mat_line(sink, rng, tc + dt, v, ants, hi, peak, pr, noise, clean)
        if pt.oncoming:
            ants = pt.oncoming
            below = PANEL_PEAK[0]
            if not wrong_way:  # a wrong-way runner comes at the panel from behind
                for hi, on_back in worn:
                    if on_back != forward and rnd() >= miss:
                        peak = panel_leading(sink, rng, t, v, ants, hi, p_read, noise)
                        below = min(below, peak)
            for hi, on_back in worn:
                if wrong_way or on_back == forward:
                    panel_weak(sink, rng, t, v, ants, hi, below)


def downstream_ms(plan: Plan, k: int) -> float:
    """Downstream line after the upstream one (before it when crossing the wrong way)."""
    dt = plan.points[k].gap_m / plan.speeds[k] * 1000.0
    return -dt if plan.wrong_way[k] else dt


def stray_event(
    sink: Sink, rng: random.Random, t: float, ants: Sequence[int], chip_hi: int
) -> None:
    """A spectator's chip near a mat: walking across it, or lingering beside it."""
    rnd = rng.random
    hi = chip_hi | ants[int(rnd() * len(ants))] << ANT_SHIFT
    if sink.passing:
        sink.add(t, hi, -72.0 - 6.0 * rnd())
        return
    if rnd() < 0.25:
        # Standing by the mat: faint reads for many seconds (a "chip lying near the mat").
        iv = 150.0 + 450.0 * rnd()
        for i in range(int((8000.0 + 22000.0 * rnd()) / iv)):
            if rnd() < 0.7:
                sink.add(t + i * iv, hi, -71.0 - 9.0 * rnd())
        return
    mat_line(sink, rng, t, 1.2, ants, chip_hi, -60.0 - 15.0 * rnd(), 0.6, 2.0, False)
