"""Simulated devices answer the commands the agent's sessions send, as the real ones do."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from readers.formats import get_format
from readers.read import Read
from readers.simulator.decoders import RaceResultDecoder, Streaming, UltraReader, device_for
from tests.readers.serial_helpers import CTX, T0_MS

RR = get_format("raceresult")
ULTRA = get_format("ultra")


def clock() -> int:
    return T0_MS


def passings(n: int) -> list[str]:
    return [
        RR.emit(Read("FIN", f"chip{i}", 1, T0_MS + i * 1000, -60.0, 100 + i), CTX) for i in range(n)
    ]


def test_race_result_decoder_keeps_passings_until_pulled() -> None:
    dev = device_for(RR, CTX, clock)
    assert isinstance(dev, RaceResultDecoder)
    assert [dev.due(p) for p in passings(3)] == [b"", b"", b""]  # kept, not sent
    session = RR.session(CTX)
    out = dev.command(session.connected())
    replies = out.decode().split("\r\n")
    assert replies[0] == "SETPROTOCOL;2.0"
    assert replies[1].startswith("GETSTATUS;2026-04-12;") and replies[1].split(";")[5] == "1"
    assert replies[2] == "PASSINGS;3;1"
    # The decoder numbers its passings itself, 1, 2, 3 in file 1.
    fetched = dev.command(b"2:5\r\n").decode().split("\r\n")
    assert [line.split(";")[:2] for line in fetched[:2]] == [["2", "chip1"], ["3", "chip2"]]
    assert fetched[2:] == ["", ""]  # the empty line ends the list
    assert dev.command(b"SETPUSHPASSINGS;1;0\r\n") == b"SETPUSHPASSINGS;OK\r\n"
    assert dev.due(passings(4)[3]).startswith(b"#P;4;chip3;")
    assert dev.command(b"STARTOPERATION\r\nPASSINGS\r\n").endswith(b"PASSINGS;0;2\r\n")


def test_race_result_session_and_decoder_catch_up_after_a_restart() -> None:
    dev = device_for(RR, CTX, clock)
    for p in passings(5):
        dev.due(p)
    first = RR.session(CTX)
    got = _talk(first, dev, first.connected())
    assert [r.chip for r in got] == [f"chip{i}" for i in range(5)]
    for p in passings(8)[5:]:
        dev.due(p)
    restarted = RR.session(CTX)
    restarted.restore(first.checkpoint() or {})
    assert [r.chip for r in _talk(restarted, dev, restarted.connected())] == [
        "chip5", "chip6", "chip7",
    ]  # fmt: skip


def _talk(session, dev, first: bytes) -> list[Read]:
    reads, pending = [], first
    for _ in range(20):
        if not pending:
            break
        answer, pending = dev.command(pending), b""
        for line in answer.decode().split("\r\n")[:-1]:
            read, reply = session.feed(line)
            pending += reply
            if read is not None:
                reads.append(read)
    return reads


def test_ultra_sends_live_keeps_its_log_and_answers_rewinds() -> None:
    dev = device_for(ULTRA, CTX, clock)
    assert isinstance(dev, UltraReader)
    lines = [
        ULTRA.emit(Read("FIN", "058", 1, T0_MS + i * 500, -60.0, i + 1), CTX) for i in range(6)
    ]
    assert [dev.due(line) for line in lines] == [line.encode() + b"\n" for line in lines]
    assert dev.command(b"?") == b"S=10\n"
    rewound = dev.command(b"R6\x00\x002\r") + dev.command(b"4\r")  # a command split in two
    assert [r.split(b",")[11] for r in rewound.splitlines()] == [b"2", b"3", b"4"]
    assert {r.split(b",")[6] for r in rewound.splitlines()} == {b"1"}  # flagged rewind
    assert dev.command(b"r").decode().startswith("14:20:0 12-4-2026")
    assert dev.command(b"S?") == b"S=00\n"


def test_other_readers_just_stream() -> None:
    dev = device_for(get_format("retrotime-csv"), CTX, clock)
    assert type(dev) is Streaming and not dev.keeps_reads
    assert dev.due("FIN,1,1,x,1") == b"FIN,1,1,x,1\n" and dev.command(b"anything") == b""


@given(
    actions=st.lists(
        st.sampled_from(["deliver", "drop", "commit", "kill"]), min_size=1, max_size=80
    )
)
@settings(max_examples=200, deadline=None)
def test_ultra_session_and_reader_hold_each_read_once_whatever_is_lost(actions: list[str]) -> None:
    """Live lines dropped, agents killed before they commit, restarts from the journalled
    checkpoint: after one more connect the journal holds every read of the log once,
    from the first it ever held (what came before an agent first journalled anything is
    the reader's past, not asked for)."""
    dev = UltraReader(ULTRA, CTX, clock)
    journal: list[Read] = []  # committed
    checkpoint: dict | None = None
    session, pending = ULTRA.session(CTX), []

    def run(data: bytes) -> None:
        for _ in range(50):  # commands and answers until quiet
            if not data:
                return
            answer, data = dev.command(data), b""
            for line in answer.decode().splitlines():
                read, reply = session.feed(line)
                pending.extend([read] if read is not None else [])
                data += reply

    def connect() -> None:
        nonlocal session, pending
        session, pending = ULTRA.session(CTX), []
        if checkpoint is not None:
            session.restore(checkpoint)
        run(session.connected())

    connect()
    for n, action in enumerate(actions, start=1):
        live = dev.due(ULTRA.emit(Read("FIN", f"c{n}", 1, T0_MS + n * 100, -60.0, n), CTX))
        if action == "kill":  # the line arrives while no agent runs: lost; so is pending
            connect()
            continue
        if action != "drop":
            read, reply = session.feed(live.decode().strip())
            pending.extend([read] if read is not None else [])
            run(reply)
        if action == "commit":
            journal.extend(pending)
            pending, checkpoint = [], session.checkpoint()
    journal.extend(pending)
    checkpoint = session.checkpoint()
    connect()  # one more connection after the race: asks for what is still missing
    journal.extend(pending)
    seqs = sorted(r.reader_seq or 0 for r in journal)
    assert seqs == list(range(seqs[0], len(actions) + 1) if seqs else [])


@given(actions=st.lists(st.sampled_from(["pass", "poll", "commit", "kill"]), max_size=80))
@settings(max_examples=200, deadline=None)
def test_race_result_session_and_decoder_hold_each_passing_once(actions: list[str]) -> None:
    """Agents killed before they commit and restarted from the journalled checkpoint:
    the journal ends with every passing of the decoder's file once."""
    dev = RaceResultDecoder(RR, CTX, clock)
    journal: list[Read] = []
    checkpoint: dict | None = None
    session, pending, now = RR.session(CTX), [], 0.0

    def run(data: bytes) -> None:
        for _ in range(50):
            if not data:
                return
            answer, data = dev.command(data), b""
            for line in answer.decode().split("\r\n")[:-1]:
                read, reply = session.feed(line)
                pending.extend([read] if read is not None else [])
                data += reply

    def connect() -> None:
        nonlocal session, pending
        session, pending = RR.session(CTX), []
        if checkpoint is not None:
            session.restore(checkpoint)
        run(session.connected())

    connect()
    passed = 0
    for action in actions:
        now += 1.0
        if action == "pass":
            passed += 1
            dev.due(RR.emit(Read("FIN", f"c{passed}", 1, T0_MS + passed, -60.0, passed), CTX))
        elif action == "poll":
            run(session.tick(now))
        elif action == "kill":
            connect()
        else:
            journal.extend(pending)
            pending, checkpoint = [], session.checkpoint()
    run(session.tick(now + 1.0))
    journal.extend(pending)
    checkpoint = session.checkpoint()
    connect()
    journal.extend(pending)
    assert sorted(r.reader_seq or 0 for r in journal) == list(range(1, passed + 1))
    assert [r.chip for r in sorted(journal, key=lambda r: r.reader_seq or 0)] == [
        f"c{n}" for n in range(1, passed + 1)
    ]
