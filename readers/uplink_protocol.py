"""The reader uplink protocol (docs/uplink.md, version 1), written once and without I/O.

Like the `websockets` library's and h11's protocol cores: the agent's side
(`ClientProtocol`) and the service's side (`ServerProtocol`) are state machines that
take received text and return text to send, over the messages of
`readers/uplink_messages.py`. No sockets, no clocks (times are passed in), no
storage: the agent (`readers/uplink_client.py`), the service (`web/uplink.py`) and the
tests' server are thin shells around them.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from readers.uplink_messages import (
    ANSWER_TIMEOUT_S,
    MAX_BATCH,
    PROTOCOL,
    WINDOW,
    Ack,
    Close,
    Error,
    Health,
    Hello,
    Malformed,
    Message,
    Quarantine,
    Reads,
    Refused,
    UplinkError,
    Welcome,
    decode,
    encode,
)

# -- clocks ----------------------------------------------------------------------------------


class ClockOffset:
    """NTP-style offset of the service's clock from ours: server - (t0 + t1) / 2.

    Each request/answer pair is a sample; the one with the smallest round trip among
    the recent ones is the least distorted by queueing, so it is the estimate.
    """

    def __init__(self, keep: int = 16) -> None:
        self._samples: deque[tuple[int, int]] = deque(maxlen=keep)  # (rtt, offset)

    def add(self, t0_ms: int, server_ms: int, t1_ms: int) -> None:
        rtt = max(0, t1_ms - t0_ms)
        self._samples.append((rtt, server_ms - (t0_ms + t1_ms) // 2))

    def best(self) -> tuple[int, int] | None:
        """(offset_ms, rtt_ms), or None before the first sample."""
        if not self._samples:
            return None
        rtt, offset = min(self._samples)
        return offset, rtt


# -- the agent's side -------------------------------------------------------------------------


class WireEntry(Protocol):
    """A journalled entry as the client sends it (readers.journal.Entry)."""

    @property
    def seq(self) -> int: ...
    @property
    def is_read(self) -> bool: ...
    def wire(self) -> dict[str, Any]: ...


class State(Enum):
    START = "start"
    AWAIT_WELCOME = "await welcome"
    AWAIT_HELLO = "await hello"
    OPEN = "open"


@dataclass
class ClientProtocol:
    """One connection, agent side: hello, welcome, then entries in order and acks.

    `sent` and `acked` start at the welcome's `H` (the service's count is the truth);
    each data or health message sent waits for one ack, whose server time is paired
    with the send time as a clock sample.
    """

    hello: Hello
    window: int = WINDOW
    batch: int = MAX_BATCH
    clock: ClockOffset = field(default_factory=ClockOffset)
    state: State = State.START
    sent: int = 0
    acked: int = 0
    _inflight: deque[int] = field(default_factory=deque)  # send times awaiting an ack

    def start(self, now_ms: int) -> str:
        if self.state is not State.START:
            raise RuntimeError("hello was already sent")
        self.state = State.AWAIT_WELCOME
        self._inflight.append(now_ms)
        return encode(self.hello)

    def receive(self, data: str | bytes, now_ms: int) -> Welcome | Ack | Error:
        msg = decode(data)
        if isinstance(msg, Error):
            return msg
        if self.state is State.AWAIT_WELCOME:
            if not isinstance(msg, Welcome):
                raise Malformed(f"expected welcome, got {type(msg).__name__.lower()}")
            if msg.seq > self.hello.last_seq:
                last = self.hello.last_seq
                raise Malformed(f"service holds seq {msg.seq}, journal ends at {last}")
            self.clock.add(self._inflight.popleft(), msg.server_time_ms, now_ms)
            self.state, self.sent, self.acked = State.OPEN, msg.seq, msg.seq
            return msg
        if not isinstance(msg, Ack):
            raise Malformed(f"unexpected message type {type(msg).__name__.lower()!r}")
        if msg.seq > self.sent:
            raise Malformed(f"ack of seq {msg.seq}, only {self.sent} sent")
        if self._inflight:
            self.clock.add(self._inflight.popleft(), msg.server_time_ms, now_ms)
        if msg.seq == self.sent:
            self._inflight.clear()  # everything acknowledged, however it was grouped
        self.acked = max(self.acked, msg.seq)
        return msg

    def room(self) -> int:
        """How many more entries may be sent now."""
        if self.state is not State.OPEN:
            return 0
        return max(0, min(self.batch, self.window - (self.sent - self.acked)))

    def send_entries(self, entries: Sequence[WireEntry], now_ms: int) -> list[str]:
        """The next entries (from `sent + 1`, in order) as `reads`/`quarantine` frames."""
        if self.state is not State.OPEN:
            raise RuntimeError("no welcome yet")
        frames = []
        for is_read, group in itertools.groupby(entries, key=lambda e: e.is_read):
            run = list(group)
            if [e.seq for e in run] != list(range(self.sent + 1, self.sent + 1 + len(run))):
                raise ValueError(f"entries must follow seq {self.sent} without gaps")
            wire = [e.wire() for e in run]
            frames.append(encode(Reads(wire) if is_read else Quarantine(wire)))
            self.sent = run[-1].seq
            self._inflight.append(now_ms)
        return frames

    def send_health(self, body: dict[str, Any], now_ms: int) -> str:
        if self.state is not State.OPEN:
            raise RuntimeError("no welcome yet")
        self._inflight.append(now_ms)
        return encode(Health({k: v for k, v in body.items() if k != "type"}))

    def overdue(self, now_ms: int, timeout_s: float = ANSWER_TIMEOUT_S) -> bool:
        """A welcome or an ack has been awaited longer than `timeout_s`."""
        return bool(self._inflight) and now_ms - self._inflight[0] > timeout_s * 1000


# -- the service's side ---------------------------------------------------------------------


@dataclass
class ServerProtocol:
    """One connection, service side: `hello` first, then data messages, one ack each.

    `receive` returns the message to act on; the shell checks the token, stores, and
    answers with `welcome(H)` and `ack(H)`. Acks are owed one per data or health
    message, in order.
    """

    state: State = State.AWAIT_HELLO
    hello: Hello | None = None
    owed: int = 0  # data and health messages received and not yet acked
    highest: int = 0  # the highest seq this connection may ack: welcome or received

    def receive(self, data: str | bytes) -> Message:
        msg = decode(data)
        if self.state is State.AWAIT_HELLO:
            if not isinstance(msg, Hello):
                raise Malformed("hello must come first")
            if msg.protocol != PROTOCOL:
                raise Refused("unsupported protocol")
            self.hello = msg
            return msg
        if isinstance(msg, Reads | Quarantine):
            seqs = [e["seq"] for e in (msg.reads if isinstance(msg, Reads) else msg.lines)]
            if seqs != sorted(seqs):
                raise Malformed("entries must be in ascending seq")
            self.highest = max(self.highest, seqs[-1])
        elif isinstance(msg, Health):
            pass
        elif isinstance(msg, Error):
            return msg
        else:
            raise Malformed(f"unexpected message type {type(msg).__name__.lower()!r}")
        self.owed += 1
        return msg

    def welcome(self, held: int, now_ms: int) -> str:
        if self.state is not State.AWAIT_HELLO or self.hello is None:
            raise RuntimeError("welcome answers a hello")
        self.state, self.highest = State.OPEN, held
        return encode(Welcome(held, now_ms))

    def ack(self, held: int, now_ms: int) -> str:
        if self.owed <= 0:
            raise RuntimeError("every ack answers one message")
        self.owed -= 1
        return encode(Ack(min(held, self.highest), now_ms))


def error_frame(exc: UplinkError) -> str | None:
    """The `error` to send before closing, for a malformed message (1007) only."""
    return encode(Error(exc.reason)) if exc.code == Close.INVALID_DATA else None


C = TypeVar("C")


class Connections(Generic[C]):
    """One connection per stream: a second hello for a connected stream replaces it."""

    def __init__(self) -> None:
        self._live: dict[tuple[str, str], C] = {}

    def claim(self, stream: tuple[str, str], conn: C) -> C | None:
        """Register `conn`; return the older connection, which the caller closes 1001."""
        older = self._live.get(stream)
        self._live[stream] = conn
        return older if older is not conn else None

    def release(self, stream: tuple[str, str], conn: C) -> bool:
        """Unregister `conn`; False if a newer connection had replaced it already."""
        if self._live.get(stream) is conn:
            del self._live[stream]
            return True
        return False
