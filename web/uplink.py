"""The server side of the reader uplink (docs/uplink.md, protocol 1).

Messages of a connection are handled one at a time, in order; each `reads`,
`quarantine` or `health` is committed before its `ack`. Garbage closes the
connection with 1007 and never reaches the engine.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from timing.store import now_ms
from web.live import LiveService

log = logging.getLogger(__name__)
PROTOCOL = 1
HELLO_TIMEOUT_S = 10.0


class Malformed(ValueError):
    """A message that breaks the protocol: answered with `error` and close 1007."""


def _int(entry: dict[str, Any], key: str, minimum: int | None = None) -> int:
    value = entry.get(key)
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or (minimum is not None and value < minimum)
    ):
        raise Malformed(f"{key} must be an integer" + (f" >= {minimum}" if minimum else ""))
    return value


def _str(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        raise Malformed(f"{key} must be a string")
    return value


def check_read(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise Malformed("a read must be an object")
    _int(entry, "seq", 1)
    _int(entry, "antenna", 1)
    _int(entry, "time_ms")
    _int(entry, "received_ms")
    if not _str(entry, "chip"):
        raise Malformed("chip must not be empty")
    _str(entry, "raw")
    rssi = entry.get("rssi")
    if rssi is not None and (isinstance(rssi, bool) or not isinstance(rssi, int | float)):
        raise Malformed("rssi must be a number or null")
    if entry.get("reader_seq") is not None:
        _int(entry, "reader_seq")
    entry.setdefault("reader_seq", None)
    return entry


def check_line(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise Malformed("a quarantined line must be an object")
    _int(entry, "seq", 1)
    _int(entry, "received_ms")
    _str(entry, "raw")
    _str(entry, "reason")
    return entry


def parse(text: Any) -> dict[str, Any]:
    if not isinstance(text, str):
        raise Malformed("binary frames are not part of the protocol")
    try:
        message = json.loads(text)
    except ValueError:
        raise Malformed("not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise Malformed("a message is a JSON object with a string `type`")
    return message


@websocket("/uplink")
async def uplink(socket: WebSocket) -> None:
    live: LiveService = socket.app.state.live
    tokens: dict[str, str] = socket.app.state.settings.tokens
    await socket.accept()
    reader = "?"
    try:
        hello = parse(await asyncio.wait_for(socket.receive_data(mode="text"), HELLO_TIMEOUT_S))
        if hello["type"] != "hello":
            raise Malformed("hello must come first")
        reader, journal_id = _str(hello, "reader"), _str(hello, "journal_id")
        if _int(hello, "protocol") != PROTOCOL:
            await socket.close(code=1008, reason="unsupported protocol")
            return
        expected = tokens.get(reader)
        if reader not in live.health:
            await socket.close(code=1008, reason="unknown reader")
            return
        if expected is None or not hmac.compare_digest(expected, _str(hello, "token")):
            log.warning("uplink: bad token for reader %s", reader)
            await socket.close(code=1008, reason="bad token")
            return
        stream = await live.stream(reader, journal_id)
        health = live.health[reader]
        health.connected, health.agent_version = True, str(hello.get("agent_version", ""))
        health.last_message_ms = now_ms()
        await socket.send_json({"type": "welcome", "seq": stream.held, "server_time_ms": now_ms()})
        log.info(
            "uplink: reader %s connected (journal %s, held %d)", reader, journal_id, stream.held
        )
        while True:
            message = parse(await socket.receive_data(mode="text"))
            kind = message["type"]
            if kind == "reads":
                entries = message.get("reads")
                if not isinstance(entries, list) or not entries:
                    raise Malformed("reads must be a non-empty list")
                held = await live.ingest_reads(reader, journal_id, [check_read(e) for e in entries])
            elif kind == "quarantine":
                lines = message.get("lines")
                if not isinstance(lines, list) or not lines:
                    raise Malformed("lines must be a non-empty list")
                held = await live.ingest_quarantine(
                    reader, journal_id, [check_line(e) for e in lines]
                )
            elif kind == "health":
                health.health = {k: v for k, v in message.items() if k != "type"}
                held = (await live.stream(reader, journal_id)).held
            else:
                raise Malformed(f"unknown message type {kind!r}")
            health.last_message_ms = now_ms()
            await socket.send_json({"type": "ack", "seq": held, "server_time_ms": now_ms()})
    except Malformed as exc:
        log.warning("uplink %s: %s", reader, exc)
        await socket.send_json({"type": "error", "reason": str(exc)})
        await socket.close(code=1007, reason=str(exc)[:120])
    except (WebSocketDisconnect, TimeoutError):
        pass
    finally:
        if reader in live.health:
            live.health[reader].connected = False
