"""Revalidation for the spectator pages and their JSON twins, so a cache in front (a
reverse proxy, a CDN) can serve the crowd and a phone that reloads gets a 304.

A page is a function of the live state, which moves on with `LiveService.version`, and
of reader health (the "mat offline" banner), which does not: the ETag is the version
and a `STALE_S` time bucket, so no page is revalidated as unchanged for longer than
that. Browsers revalidate every time (max-age=0); shared caches may keep a page one
second (s-maxage=1), which is what lets one render serve every phone in that second.
A matching If-None-Match is answered before the page is rendered at all.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

STALE_S = 5
CACHE_CONTROL = b"public, max-age=0, s-maxage=1"
SPECTATOR_PATHS = ("/races/", "/athletes/", "/following", "/search", "/api/races/",
                   "/api/athletes/", "/api/event", "/api/search")  # fmt: skip


def is_spectator_page(path: str) -> bool:
    return path == "/" or path.startswith(SPECTATOR_PATHS)


class SpectatorCache:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not is_spectator_page(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        live = scope["app"].state.live
        etag = f'W/"{live.version}.{int(time.time()) // STALE_S}"'.encode()
        asked = dict(scope["headers"]).get(b"if-none-match", b"")
        if etag in asked:
            headers = [(b"etag", etag), (b"cache-control", CACHE_CONTROL)]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_tagged(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"etag", b"cache-control")
                ]
                headers += [(b"etag", etag), (b"cache-control", CACHE_CONTROL)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_tagged)
