"""The uplink's messages (docs/uplink.md, version 1): types, checks, text frames.

`decode` turns a received frame into a message or raises `Malformed`; `encode` is
its inverse. Errors carry the close code the connection closes with: `Malformed`
1007 (send `error` first), `Refused` 1008, `GoingAway` 1001. The state machines
that use them are in `readers/uplink_protocol.py`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from readers.read import ReaderError

PROTOCOL = 1
MAX_BATCH = 500  # entries per message
WINDOW = 5000  # entries sent and not yet acknowledged
HELLO_TIMEOUT_S = 10.0  # a service closes 1001 when no hello came by then
ANSWER_TIMEOUT_S = 30.0  # no welcome or ack for this long: the agent closes 1001
PING_INTERVAL_S = 10.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

# What a journal on SQLite or PostgreSQL holds (BIGINT, INTEGER) and what a page can show:
# a value outside these bounds makes an entry unstorable, never a stuck uplink.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
TIME_MS_MAX = 253_402_300_799_999  # 9999-12-31 23:59:59.999 UTC, the last datetime
RSSI_LIMIT = 1000.0  # dBm; real readers say -100..0, some passive scales 0..255


class Close(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    INTERNAL_ERROR = 1011


class UplinkError(ReaderError):
    """This connection ends: close with `code`, `reason` for the log and the peer."""

    code = Close.INVALID_DATA

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Malformed(UplinkError):
    """A message that breaks the protocol: `error`, then close 1007."""


class Refused(UplinkError):
    """The service refuses the agent: bad token, unknown reader, unsupported protocol."""

    code = Close.POLICY_VIOLATION


class GoingAway(UplinkError):
    """No hello, no welcome or ack in time, a connection replaced: close 1001."""

    code = Close.GOING_AWAY


# -- messages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    reader: str
    token: str
    journal_id: str
    agent_version: str = ""
    acked_seq: int = 0
    last_seq: int = 0
    agent_time_ms: int = 0
    protocol: int = PROTOCOL


@dataclass(frozen=True)
class Welcome:
    seq: int
    server_time_ms: int


@dataclass(frozen=True)
class Reads:
    reads: list[dict[str, Any]]


@dataclass(frozen=True)
class Quarantine:
    lines: list[dict[str, Any]]


@dataclass(frozen=True)
class Health:
    body: dict[str, Any]  # the fields of docs/uplink.md's table, `type` left out


@dataclass(frozen=True)
class Ack:
    seq: int
    server_time_ms: int


@dataclass(frozen=True)
class Error:
    reason: str


Message = Hello | Welcome | Reads | Quarantine | Health | Ack | Error

_INT, _STR, _NUM, _BOOL = "int", "str", "number", "bool"


def _get(obj: dict[str, Any], key: str, kind: str, *, null: bool = False, low: int | None = None):
    value = obj.get(key)
    if value is None and null:
        return None
    ok = {
        _INT: isinstance(value, int) and not isinstance(value, bool),
        _STR: isinstance(value, str),
        _NUM: isinstance(value, int | float) and not isinstance(value, bool),
        _BOOL: isinstance(value, bool),
    }[kind]
    if not ok:
        what = {_INT: "an integer", _STR: "a string", _NUM: "a number", _BOOL: "true or false"}
        raise Malformed(f"{key} must be {what[kind]}" + (" or null" if null else ""))
    if low is not None and value < low:
        raise Malformed(f"{key} must be an integer >= {low}")
    if kind == _INT and abs(value) > INT64_MAX:
        raise Malformed(f"{key} {str(value)[:30]} is outside 64 bits")
    return value


def check_read(entry: Any) -> dict[str, Any]:
    """A `reads` entry with every field of the right type (docs/uplink.md)."""
    if not isinstance(entry, dict):
        raise Malformed("a read must be an object")
    out = {
        "seq": _get(entry, "seq", _INT, low=1),
        "chip": _get(entry, "chip", _STR),
        "antenna": _get(entry, "antenna", _INT, low=1),
        "time_ms": _get(entry, "time_ms", _INT),
        "rssi": _get(entry, "rssi", _NUM, null=True),
        "reader_seq": _get(entry, "reader_seq", _INT, null=True),
        "raw": _get(entry, "raw", _STR),
        "received_ms": _get(entry, "received_ms", _INT),
    }
    if not out["chip"]:
        raise Malformed("chip must not be empty")
    return out


def check_line(entry: Any) -> dict[str, Any]:
    """A `quarantine` entry with every field of the right type."""
    if not isinstance(entry, dict):
        raise Malformed("a quarantined line must be an object")
    return {
        "seq": _get(entry, "seq", _INT, low=1),
        "raw": _get(entry, "raw", _STR),
        "reason": _get(entry, "reason", _STR),
        "received_ms": _get(entry, "received_ms", _INT),
    }


def unstorable(antenna: int, time_ms: int, rssi: float | None, reader_seq: int | None) -> str:
    """Why a well-typed read cannot be stored or shown ("" when it can)."""
    if not 1 <= antenna <= INT32_MAX:
        return f"antenna {str(antenna)[:30]} is not 1-{INT32_MAX}"
    if not 0 <= time_ms <= TIME_MS_MAX:
        return f"time {str(time_ms)[:30]} ms is not between 1970 and 9999"
    if rssi is not None and not (math.isfinite(rssi) and abs(rssi) <= RSSI_LIMIT):
        return f"rssi {str(rssi)[:30]} is not a number within ±{RSSI_LIMIT:g}"
    if reader_seq is not None and not 0 <= reader_seq <= INT64_MAX:
        return f"reader index {str(reader_seq)[:30]} is not 0-{INT64_MAX}"
    return ""


def split_storable(reads: Iterable[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """Checked reads into (storable reads, quarantine lines for the others, with why)."""
    good, bad = [], []
    for r in reads:
        why = unstorable(r["antenna"], r["time_ms"], r["rssi"], r["reader_seq"])
        if why:
            line = {"seq": r["seq"], "raw": r["raw"], "received_ms": r["received_ms"]}
            bad.append(line | {"reason": f"unstorable read: {why}"})
        else:
            good.append(r)
    return good, bad


def _entries(msg: dict[str, Any], key: str) -> list[Any]:
    items = msg.get(key)
    if not isinstance(items, list) or not items:
        raise Malformed(f"{key} must be a non-empty list")
    return items


def _no_constant(name: str) -> None:
    raise Malformed(f"{name} is not a JSON number")  # Python's json takes NaN by default


def decode(data: str | bytes) -> Message:
    """One received frame as a message; raises Malformed when it is not one."""
    if not isinstance(data, str):
        raise Malformed("binary frames are not part of the protocol")
    try:
        msg = json.loads(data, parse_constant=_no_constant)
    except ValueError:
        raise Malformed("not JSON") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise Malformed("a message is a JSON object with a string `type`")
    kind = msg["type"]
    if kind == "hello":
        return Hello(
            reader=_get(msg, "reader", _STR), token=_get(msg, "token", _STR),
            journal_id=_get(msg, "journal_id", _STR),
            agent_version=_get(msg, "agent_version", _STR),
            acked_seq=_get(msg, "acked_seq", _INT), last_seq=_get(msg, "last_seq", _INT),
            agent_time_ms=_get(msg, "agent_time_ms", _INT), protocol=_get(msg, "protocol", _INT),
        )  # fmt: skip
    if kind in ("welcome", "ack"):
        cls = Welcome if kind == "welcome" else Ack
        return cls(_get(msg, "seq", _INT, low=0), _get(msg, "server_time_ms", _INT))
    if kind == "reads":
        return Reads([check_read(e) for e in _entries(msg, "reads")])
    if kind == "quarantine":
        return Quarantine([check_line(e) for e in _entries(msg, "lines")])
    if kind == "health":
        return Health(_check_health(msg))
    if kind == "error":
        return Error(str(msg.get("reason", "")))
    raise Malformed(f"unknown message type {kind[:40]!r}")


_HEALTH_FIELDS = {
    "agent_time_ms": (_INT, False), "reads_per_min": (_INT, False), "backlog": (_INT, False),
    "last_seq": (_INT, False), "acked_seq": (_INT, False), "quarantined": (_INT, False),
    "last_read_ms": (_INT, True), "clock_offset_ms": (_INT, True), "rtt_ms": (_INT, True),
    "reader_offset_ms": (_INT, True), "source_connected": (_BOOL, False),
    "source_lines": (_INT, False), "source_reads": (_INT, False),
    "source_quarantined": (_INT, False), "source_reconnects": (_INT, False),
    "source_error": (_STR, True),
}  # fmt: skip


def _check_health(msg: dict[str, Any]) -> dict[str, Any]:
    _get(msg, "agent_time_ms", _INT)
    for key, (kind, null) in _HEALTH_FIELDS.items():
        if key in msg:
            _get(msg, key, kind, null=null)
    return {k: v for k, v in msg.items() if k != "type"}


def encode(msg: Message) -> str:
    """A message as the text frame that carries it."""
    if isinstance(msg, Hello):
        body: dict[str, Any] = {"type": "hello", "protocol": msg.protocol, "reader": msg.reader,
                                "token": msg.token, "agent_version": msg.agent_version,
                                "journal_id": msg.journal_id, "acked_seq": msg.acked_seq,
                                "last_seq": msg.last_seq,
                                "agent_time_ms": msg.agent_time_ms}  # fmt: skip
    elif isinstance(msg, Welcome | Ack):
        kind = "welcome" if isinstance(msg, Welcome) else "ack"
        body = {"type": kind, "seq": msg.seq, "server_time_ms": msg.server_time_ms}
    elif isinstance(msg, Reads):
        body = {"type": "reads", "reads": msg.reads}
    elif isinstance(msg, Quarantine):
        body = {"type": "quarantine", "lines": msg.lines}
    elif isinstance(msg, Health):
        body = {"type": "health", **msg.body}
    else:
        body = {"type": "error", "reason": msg.reason}
    return json.dumps(body, separators=(",", ":"), allow_nan=False)
