"""The uplink protocol core in memory: the agent's and the service's state machines wired
to each other (as h11's tests pair a client with a server), no sockets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readers.journal import Entry
from readers.uplink_messages import (
    INT32_MAX,
    Ack,
    Close,
    Health,
    Hello,
    Malformed,
    Quarantine,
    Reads,
    Refused,
    Welcome,
    decode,
    encode,
    split_storable,
)
from readers.uplink_protocol import (
    ClientProtocol,
    Connections,
    ServerProtocol,
    State,
    error_frame,
)


def entry(seq: int, read: bool = True) -> Entry:
    if read:
        return Entry(seq, 1_000 + seq, f"line {seq}", f"chip{seq}", 1, 5_000 + seq, -60.0, seq)
    return Entry(seq, 1_000 + seq, f"noise {seq}", reason="expected 5 fields")


def hello(last_seq: int = 0, acked: int = 0) -> Hello:
    return Hello("FIN", "tok", "j1", "test", acked, last_seq, 0)


@dataclass
class Service:
    """What a service stores: each (seq) once, and every delivery counted."""

    stored: dict[int, dict] = field(default_factory=dict)
    deliveries: int = 0

    def held(self) -> int:
        n = 0
        while n + 1 in self.stored:
            n += 1
        return n

    def store(self, entries: list[dict]) -> None:
        self.deliveries += len(entries)
        for e in entries:
            self.stored.setdefault(e["seq"], e)


def converse(journal: list[Entry], service: Service, frames_before_drop: int, window: int) -> None:
    """One connection between an agent with `journal` and `service`, dropped after the
    given number of agent frames (the service stores each frame it gets)."""
    client = ClientProtocol(hello(len(journal)), window=window, batch=7)
    server = ServerProtocol()
    assert isinstance(server.receive(client.start(0)), Hello)
    client.receive(server.welcome(service.held(), 1), 2)
    sent = 0
    while sent < frames_before_drop and client.sent < len(journal):
        room = client.room()
        frames = client.send_entries(journal[client.sent : client.sent + room], 3)
        for frame in frames:
            if sent == frames_before_drop:
                return  # the link dropped: later frames never arrive, nor their acks
            msg = server.receive(frame)
            service.store(msg.reads if isinstance(msg, Reads) else msg.lines)
            sent += 1
            client.receive(server.ack(service.held(), 4), 5)


@given(
    kinds=st.lists(st.booleans(), min_size=1, max_size=60),
    drops=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=8),
    window=st.integers(min_value=1, max_value=20),
)
@settings(max_examples=300, deadline=None)
def test_any_drops_every_entry_held_once_and_none_sent_twice(
    kinds: list[bool], drops: list[int], window: int
) -> None:
    journal = [entry(i, read) for i, read in enumerate(kinds, start=1)]
    service = Service()
    for frames in [*drops, 10_000]:  # the last connection stays up
        converse(journal, service, frames, window)
    assert sorted(service.stored) == list(range(1, len(journal) + 1))
    assert service.deliveries == len(journal)  # the welcome's count is the truth
    assert [service.stored[e.seq]["raw"] for e in journal] == [e.raw for e in journal]


def test_runs_of_reads_and_quarantined_lines_are_separate_messages() -> None:
    client = ClientProtocol(hello(4), window=10)
    client.start(0)
    client.receive(encode(Welcome(0, 10)), 6)  # a round trip of 6 ms
    frames = client.send_entries([entry(1), entry(2), entry(3, False), entry(4)], 5)
    assert [json.loads(f)["type"] for f in frames] == ["reads", "quarantine", "reads"]
    assert client.sent == 4 and client.room() == 6  # 10 in flight at most
    client.receive(encode(Ack(4, 20)), 9)
    # The quicker round trip (4 ms) gives the offset: 20 - (5 + 9) / 2.
    assert client.acked == 4 and client.clock.best() == (13, 4)
    with pytest.raises(ValueError, match="without gaps"):
        client.send_entries([entry(6)], 10)


def test_client_refuses_what_a_correct_service_never_sends() -> None:
    client = ClientProtocol(hello(3))
    client.start(0)
    with pytest.raises(Malformed, match="expected welcome"):
        client.receive(encode(Ack(0, 1)), 1)
    client = ClientProtocol(hello(3))
    client.start(0)
    with pytest.raises(Malformed, match="service holds seq 5, journal ends at 3"):
        client.receive(encode(Welcome(5, 1)), 1)
    client.receive(encode(Welcome(1, 1)), 1)
    with pytest.raises(Malformed, match="ack of seq 2, only 1 sent"):
        client.receive(encode(Ack(2, 1)), 1)
    assert client.overdue(now_ms=0) is False


def test_server_wants_hello_first_and_speaks_protocol_1() -> None:
    with pytest.raises(Malformed, match="hello must come first") as first:
        ServerProtocol().receive(encode(Reads([entry(1).wire()])))
    assert first.value.code == Close.INVALID_DATA
    assert json.loads(error_frame(first.value) or "") == {
        "type": "error",
        "reason": "hello must come first",
    }
    with pytest.raises(Refused, match="unsupported protocol") as refused:
        ServerProtocol().receive(json.dumps({**json.loads(encode(hello())), "protocol": 2}))
    assert refused.value.code == Close.POLICY_VIOLATION and error_frame(refused.value) is None
    server = ServerProtocol()
    server.receive(encode(hello()))
    server.welcome(0, 1)
    assert server.state is State.OPEN
    with pytest.raises(RuntimeError, match="one message"):
        server.ack(0, 1)  # an ack answers a message
    msg = server.receive(encode(Health({"agent_time_ms": 5, "backlog": 0})))
    assert isinstance(msg, Health) and msg.body == {"agent_time_ms": 5, "backlog": 0}
    assert json.loads(server.ack(99, 2)) == {"type": "ack", "seq": 0, "server_time_ms": 2}


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"{}", "binary frames are not part of the protocol"),
        ("[1]", "a message is a JSON object with a string `type`"),
        ("{nope", "not JSON"),
        ('{"type": "dance"}', "unknown message type 'dance'"),
        ('{"type": "reads", "reads": []}', "reads must be a non-empty list"),
        ('{"type": "ack", "seq": true, "server_time_ms": 1}', "seq must be an integer"),
        ('{"type": "ack", "seq": 1.0, "server_time_ms": 1}', "seq must be an integer"),
        ('{"type": "ack", "seq": 1e400, "server_time_ms": 1}', "seq must be an integer"),
        ('{"type": "ack", "seq": NaN, "server_time_ms": 1}', "NaN is not a JSON number"),
        ('{"type": "ack", "seq": 99999999999999999999, "server_time_ms": 1}', "outside 64 bits"),
        ('{"type": "quarantine", "lines": [{"seq": 0}]}', "seq must be an integer >= 1"),
        ('{"type": "health", "agent_time_ms": 1, "source_connected": 1}', "true or false"),
    ],
)
def test_malformed_frames_say_why(frame: str | bytes, reason: str) -> None:
    with pytest.raises(Malformed) as exc:
        decode(frame)
    assert reason in exc.value.reason


def test_a_read_nothing_can_store_becomes_a_quarantined_line_with_its_reason() -> None:
    good = entry(1).wire()
    bad = [
        {**entry(2).wire(), "antenna": INT32_MAX + 1},
        {**entry(3).wire(), "time_ms": 10**15 * 1000},
        {**entry(4).wire(), "rssi": 1e300},
        {**entry(5).wire(), "reader_seq": -1},
    ]
    msg = decode(encode(Reads([good, *bad])))
    assert isinstance(msg, Reads)
    reads, lines = split_storable(msg.reads)
    assert reads == [good]
    assert [line["seq"] for line in lines] == [2, 3, 4, 5]
    assert lines[0] == {
        "seq": 2,
        "raw": "line 2",
        "received_ms": 1002,
        "reason": "unstorable read: antenna 2147483648 is not 1-2147483647",
    }
    assert "between 1970 and 9999" in lines[1]["reason"] and "rssi" in lines[2]["reason"]
    assert isinstance(decode(encode(Quarantine(lines))), Quarantine)


def test_one_connection_per_stream() -> None:
    live: Connections[str] = Connections()
    assert live.claim(("FIN", "j1"), "first") is None
    assert live.claim(("FIN", "j2"), "other journal") is None
    assert live.claim(("FIN", "j1"), "second") == "first"  # closed 1001 by the caller
    live.release(("FIN", "j1"), "first")  # the old handler ending does not unregister
    assert live.claim(("FIN", "j1"), "third") == "second"
