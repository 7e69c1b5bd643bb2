"""The server side of the reader uplink (docs/uplink.md, protocol 1).

A thin shell around `readers.uplink_protocol.ServerProtocol`: a connection's messages
are read as they come (up to `PIPELINE` waiting to be stored) and acknowledged in
order; each `reads`, `quarantine` or `health` is committed before its `ack`. Garbage
closes the connection with 1007 and never reaches the engine. A read the database
cannot hold is quarantined with the reason and acknowledged like any other entry, so
it never blocks the stream behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import weakref
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from sqlalchemy.exc import SQLAlchemyError

from readers.uplink_messages import (
    HELLO_TIMEOUT_S,
    Close,
    Error,
    GoingAway,
    Health,
    Hello,
    Quarantine,
    Reads,
    Refused,
    UplinkError,
    split_storable,
)
from readers.uplink_protocol import Connections, ServerProtocol, error_frame
from timing.store import now_ms
from web.live import LiveService

log = logging.getLogger(__name__)
PIPELINE = 64  # a connection's messages read ahead of their acks

# One registry of connected streams per service (tests build several apps per process).
_connections: weakref.WeakKeyDictionary[LiveService, Connections[WebSocket]] = (
    weakref.WeakKeyDictionary()
)


class StorageFailed(UplinkError):
    """The journal refused a write we cannot work around: close 1011, the agent resends."""

    code = Close.INTERNAL_ERROR


@websocket("/uplink")
async def uplink(socket: WebSocket) -> None:
    live: LiveService = socket.app.state.live
    connections = _connections.setdefault(live, Connections())
    await socket.accept()
    proto = ServerProtocol()
    reader, stream = "?", None
    try:
        hello = await _hello(socket, proto, live)
        reader, stream = hello.reader, (hello.reader, hello.journal_id)
        older = connections.claim(stream, socket)
        if older is not None:
            log.info("uplink: reader %s reconnected; closing its older connection", reader)
            await _close_quietly(older, GoingAway("replaced by a new connection"))
        await _serve(socket, proto, live, hello)
    except UplinkError as exc:
        failed = exc.code == Close.INTERNAL_ERROR  # logged once, with the driver's traceback
        log.log(
            logging.ERROR if failed else logging.WARNING,
            "uplink %s: %s",
            reader,
            exc.reason,
            exc_info=exc.__cause__ if failed else None,
        )
        await _close_quietly(socket, exc)
    except WebSocketDisconnect:
        pass
    finally:
        # A replaced connection leaves the reader connected through the newer one.
        if stream is not None and connections.release(stream, socket):
            live.health[reader].connected = False


async def _hello(socket: WebSocket, proto: ServerProtocol, live: LiveService) -> Hello:
    try:
        data = await asyncio.wait_for(socket.receive_data(mode="text"), HELLO_TIMEOUT_S)
    except TimeoutError:
        raise GoingAway("no hello") from None
    hello = proto.receive(data)
    assert isinstance(hello, Hello)  # the protocol takes nothing else first
    if hello.reader not in live.health:
        raise Refused("unknown reader")
    expected = socket.app.state.settings.tokens.get(hello.reader)
    if expected is None or not hmac.compare_digest(expected, hello.token):
        raise Refused("bad token")
    return hello


async def _serve(socket: WebSocket, proto: ServerProtocol, live: LiveService, hello: Hello) -> None:
    reader, journal_id = hello.reader, hello.journal_id
    stream = await live.stream(reader, journal_id)
    health = live.health[reader]
    health.connected, health.agent_version = True, hello.agent_version
    health.last_message_ms = now_ms()
    await socket.send_text(proto.welcome(stream.held, now_ms()))
    log.info("uplink: reader %s connected (journal %s, held %d)", reader, journal_id, stream.held)
    # Messages are read while earlier ones are being stored: a busy agent's messages
    # share the writer's transactions (group commit). Acks leave in message order.
    acks: asyncio.Queue[asyncio.Task[int] | None] = asyncio.Queue(PIPELINE)
    sender = asyncio.create_task(_send_acks(socket, proto, acks, live, hello))
    try:
        while True:
            try:
                data = await socket.receive_data(mode="text")
            except WebSocketDisconnect:
                if sender.done() and not sender.cancelled() and sender.exception():
                    raise sender.exception()  # noqa: B904 (why the acks stopped, with its cause)
                raise
            if sender.done():
                sender.result()  # a storage failure ends the connection
            msg = proto.receive(data)
            if isinstance(msg, Error):
                log.warning("uplink %s: the agent reports: %s", reader, msg.reason)
                continue
            if isinstance(msg, Reads):
                store = _store_reads(live, reader, journal_id, msg.reads)
            elif isinstance(msg, Quarantine):
                store = _store_lines(live, reader, journal_id, msg.lines)
            else:
                assert isinstance(msg, Health)
                health.health = msg.body
                await acks.put(None)  # its ack: what is held once the messages before are
                continue
            await acks.put(asyncio.create_task(store))
    finally:
        if not sender.done():
            sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


async def _send_acks(
    socket: WebSocket, proto: ServerProtocol, acks: asyncio.Queue[asyncio.Task[int] | None],
    live: LiveService, hello: Hello,
) -> None:  # fmt: skip
    health = live.health[hello.reader]
    while True:
        task = await acks.get()
        try:
            held = await (task if task is not None else _held(live, hello))
        except UplinkError as exc:
            await _close_quietly(socket, exc)  # the reading loop then ends
            raise
        except Exception:
            await _close_quietly(socket, StorageFailed("storage failed"))
            raise
        health.last_message_ms = now_ms()
        await socket.send_text(proto.ack(held, now_ms()))


async def _held(live: LiveService, hello: Hello) -> int:
    return (await live.stream(hello.reader, hello.journal_id)).held


async def _store_reads(
    live: LiveService, reader: str, journal_id: str, entries: list[dict[str, Any]]
) -> int:
    reads, unstorable = split_storable(entries)
    held = 0
    if unstorable:
        log.warning("uplink %s: %d unstorable reads quarantined", reader, len(unstorable))
        held = await _store_lines(live, reader, journal_id, unstorable)
    if not reads:
        return held
    try:
        return await live.ingest_reads(reader, journal_id, reads)
    except (SQLAlchemyError, OverflowError, ValueError) as exc:
        log.warning("uplink %s: %d reads failed to store (%s); one by one now",
                    reader, len(reads), exc)  # fmt: skip
        first_error = exc
    for entry in reads:  # find the read the database refuses; quarantine it, keep the rest
        try:
            held = await live.ingest_reads(reader, journal_id, [entry])
        except (SQLAlchemyError, OverflowError, ValueError) as exc:
            why = f"the service could not store this read: {str(exc).splitlines()[0][:200]}"
            line = {k: entry[k] for k in ("seq", "raw", "received_ms")} | {"reason": why}
            held = await _store_lines(live, reader, journal_id, [line])
    log.info("uplink %s: stored after %s", reader, type(first_error).__name__)
    return held


async def _store_lines(
    live: LiveService, reader: str, journal_id: str, lines: list[dict[str, Any]]
) -> int:
    try:
        return await live.ingest_quarantine(reader, journal_id, lines)
    except (SQLAlchemyError, OverflowError, ValueError) as exc:
        log.warning("uplink %s: quarantined lines could not be stored as sent (%s)", reader, exc)
    # Text a database cannot take (a lone surrogate from a hostile agent): kept escaped.
    safe = [{**e, "raw": _printable(e["raw"]), "reason": _printable(e["reason"])} for e in lines]
    try:
        return await live.ingest_quarantine(reader, journal_id, safe)
    except (SQLAlchemyError, OverflowError, ValueError) as exc:
        raise StorageFailed(f"storage failed: {type(exc).__name__}") from exc


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


async def _close_quietly(socket: WebSocket, exc: UplinkError) -> None:
    frame = error_frame(exc)
    try:
        if frame is not None:
            await socket.send_text(frame)
        await socket.close(code=exc.code, reason=exc.reason[:120])
    except (WebSocketDisconnect, RuntimeError):  # the peer is gone already
        pass
