"""The director's console, live: a websocket that sends the console's data whenever it
changes (reader health, crossings, unknown chips, flags, claims, quarantined lines), so
the page follows without a reload."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from timing.times import iso_local
from web.director_views import dashboard_data
from web.live import LiveService

INTERVAL_S = 0.5  # how often the socket looks for a change
HEALTH_S = 5.0  # reader health (agents' own reports) is sent at least this often


def console_data(live: LiveService) -> dict[str, Any]:
    """What the live console draws: the dashboard's data and the quarantined lines."""
    return {**dashboard_data(live), "quarantined_lines": quarantined_lines(live)}


def quarantined_lines(live: LiveService, last: int = 50) -> list[dict[str, Any]]:
    """The latest quarantined lines with reader, time of day and reason (re-read from the
    journal only when their count changes)."""
    count = live.store.count_quarantined()
    cached = live.quarantine_view
    if cached is not None and cached[0] == count:
        return cached[1]
    tz = live.folder.event.timezone
    rows = [
        {
            "reader": q.reader_id,
            "time": iso_local(q.received_ms, tz)[11:19],
            "reason": q.reason,
            "line": q.raw_line[:200],
        }
        for q in reversed(live.store.quarantined()[-last:])
    ]
    live.quarantine_view = (count, rows)
    return rows


@websocket("/ws/director")
async def director_updates(socket: WebSocket) -> None:
    """The console's data now, then again each time results or health change."""
    if not socket.scope.get("session", {}).get("director"):
        await socket.close(code=1008, reason="director login required")
        return
    live: LiveService = socket.app.state.live
    await socket.accept()
    sent_version, sent_at = -1, 0.0
    loop = asyncio.get_running_loop()
    listener = asyncio.create_task(_until_closed(socket))
    try:
        while not listener.done():
            version = live.version
            if version != sent_version or loop.time() - sent_at >= HEALTH_S:
                data = await asyncio.to_thread(console_data, live)
                await socket.send_text(json.dumps({"type": "console", **data}, default=str))
                sent_version, sent_at = version, loop.time()
            await asyncio.wait([listener], timeout=INTERVAL_S)
    except WebSocketDisconnect:
        return
    finally:
        listener.cancel()


async def _until_closed(socket: WebSocket) -> None:
    """The console only listens: this returns when the page goes away."""
    try:
        while True:
            await socket.receive_text()
    except WebSocketDisconnect:
        return
