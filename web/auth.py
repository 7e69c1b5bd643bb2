"""Director login and sessions.

Guessing is throttled by client and by account (the director password): each wrong
password counts in every window of `login_limits_*`, and a full window answers 429
with Retry-After; longer windows give longer waits. The password hash runs in a worker
thread, one at a time, so guessers never hold up the event loop that serves
spectators. A login always gets a new session id (an id planted before login is
dropped), and refused attempts are logged and kept for the audit page.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Annotated, Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.types import Empty, Message, ScopeSession

from timing.store import now_ms
from timing.times import iso_local
from web.openapi import html
from web.settings import Settings, verify_password

log = logging.getLogger(__name__)
LoginForm = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
ACCOUNT = "director"  # one password, one account, whatever name the director types
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RENEW = "retrotime.renew_session"
NEW_ID = "retrotime.new_session_id"
TRUSTED_CLIENTS = 256  # clients that logged in lately, exempt from the account limit
HELD_CLIENTS = 4096  # clients told to wait, remembered so each wait is logged once
NAME_MAX = 80  # a director name as recorded in logs and the audit (a body may be MBs)


class RenewingSessionBackend(ServerSideSessionBackend):
    """Server-side sessions whose id is replaced when a request asks for it (login):
    the old id's data is deleted, the cookie carries a fresh random id. Only sessions
    with something in them are stored."""

    def get_session_id(self, connection: ASGIConnection) -> str:
        state = connection.scope["state"]
        if state.get(RENEW):
            if NEW_ID not in state:
                state[NEW_ID] = self.generate_session_id()
            return state[NEW_ID]
        return super().get_session_id(connection)

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection
    ) -> None:
        if scope_session is not Empty and not scope_session:
            # Nothing to keep: no store entry and no cookie for every anonymous request
            # (or for every made-up session id a client sends).
            return
        old = connection.cookies.get(self.config.key)
        if connection.scope["state"].get(RENEW) and old and old != "null":
            await self.delete(old, store=self.config.get_store_from_app(connection.scope["app"]))
        await super().store_in_message(scope_session, message, connection)


@dataclass
class SessionConfig(ServerSideSessionConfig):
    _backend_class = RenewingSessionBackend


def session_config(settings: Settings) -> SessionConfig:
    return SessionConfig(
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        max_age=settings.session_idle_s,
        renew_on_access=True,  # an idle timeout: a session in use stays alive
    )


@dataclass(frozen=True, slots=True)
class Refusal:
    at_ms: int
    client: str
    name: str
    why: str


class LoginGuard:
    """Counts wrong passwords per client and per account; decides who may try now."""

    def __init__(self, settings: Settings) -> None:
        self.password_hash = settings.password_hash
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.limits: dict[str, list[RateLimitItem]] = {
            "client": parse_many(settings.login_limits_client),
            "account": parse_many(settings.login_limits_account),
        }
        self.hashing = asyncio.Semaphore(1)  # one hash at a time leaves a core to serve
        self.trusted: OrderedDict[str, None] = OrderedDict()
        self.refused: deque[Refusal] = deque(maxlen=500)
        self.refused_total = 0
        self.held_until: dict[str, float] = {}  # client -> end of the wait it was told

    def _keys(self, client: str) -> list[tuple[str, str]]:
        keys = [("client", client)]
        if client not in self.trusted:  # a guesser cannot lock out a known laptop
            keys.append(("account", ACCOUNT))
        return keys

    async def wait_s(self, client: str) -> tuple[int, str] | None:
        """(seconds to wait, whose limit) if this client may not try now."""
        waits = []
        for scope, key in self._keys(client):
            for item in self.limits[scope]:
                stats = await self.limiter.get_window_stats(item, scope, key)
                if stats.remaining <= 0:
                    waits.append((max(1, math.ceil(stats.reset_time - time.time())), scope))
        return max(waits) if waits else None

    async def attempt(self, client: str, password: str) -> tuple[bool, tuple[int, str] | None]:
        """(password right, throttled) for one login attempt."""
        async with self.hashing:
            throttled = await self.wait_s(client)
            if throttled:
                return False, throttled
            right = await asyncio.to_thread(verify_password, password, self.password_hash)
            if not right:  # counted before the next attempt is let in
                for scope, key in self._keys(client):
                    for item in self.limits[scope]:
                        await self.limiter.hit(item, scope, key)
        if right:
            for item in self.limits["client"]:
                await self.limiter.clear(item, "client", client)
            self.trusted[client] = None
            self.trusted.move_to_end(client)
            while len(self.trusted) > TRUSTED_CLIENTS:
                self.trusted.popitem(last=False)
        return right, None

    def refuse(self, client: str, name: str, why: str, wait_s: int | None = None) -> None:
        """Count a refused attempt; log and list it, except further attempts of a client
        already told to wait: a flood of those would fill the log and the disk."""
        self.refused_total += 1
        now = time.monotonic()
        if wait_s is not None:
            if self.held_until.get(client, 0.0) > now:
                return
            if len(self.held_until) >= HELD_CLIENTS:
                self.held_until = {c: t for c, t in self.held_until.items() if t > now}
                if len(self.held_until) >= HELD_CLIENTS:
                    return  # a flood from that many addresses: counted, not each logged
            self.held_until[client] = now + wait_s
        log.warning("director login refused: %s (client %s, name %r)", why, client, name)
        self.refused.appendleft(Refusal(now_ms(), client, name, why))


def guard_of(request: Request) -> LoginGuard:
    return request.app.state.login_guard


def client_of(request: Request) -> str:
    # Behind a reverse proxy uvicorn puts the forwarded client here (FORWARDED_ALLOW_IPS).
    return request.client.host if request.client else "unknown"


def refused_logins(request: Request) -> dict[str, Any]:
    """The refused login attempts, newest first, for the audit page and its JSON twin."""
    guard = guard_of(request)
    tz = request.app.state.live.folder.event.timezone
    return {
        "total": guard.refused_total,
        "latest": [
            {"at": iso_local(r.at_ms, tz), "client": r.client, "name": r.name, "why": r.why}
            for r in guard.refused
        ],
    }


@get("/director/login", name="login")
async def login_page(request: Request) -> Template:
    return Template("director/login.html", context={"error": None})


@post(
    "/director/login",
    status_code=200,
    responses={
        401: html("Wrong password: the login page again"),
        429: html("Too many wrong passwords: wait Retry-After seconds"),
    },
)
async def login(request: Request, data: LoginForm) -> Template | Redirect:
    guard, client = guard_of(request), client_of(request)
    name = data.get("name", "").strip()[:NAME_MAX] or "director"
    right, throttled = await guard.attempt(client, data.get("password", ""))
    if throttled:
        wait, scope = throttled
        guard.refuse(client, name, f"too many wrong passwords ({scope}), {wait} s to wait", wait)
        return Template(
            "director/login.html",
            context={"error": f"too many wrong passwords: try again in {wait} s"},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    if not right:
        guard.refuse(client, name, "wrong password")
        return Template("director/login.html", context={"error": "wrong password"}, status_code=401)
    request.scope["state"][RENEW] = True
    request.set_session({"director": name})
    log.info("director login: %r from %s", name, client)
    return Redirect("/director")


@post("/director/logout")
async def logout(request: Request) -> Redirect:
    request.clear_session()
    return Redirect("/")


@get("/api/director/logins")
async def api_refused_logins(request: Request) -> dict[str, Any]:
    if not request.session.get("director"):
        raise NotAuthorizedException("director login required")
    return refused_logins(request)


AUTH_ROUTES = [login_page, login, logout, api_refused_logins]


def json_api_guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """A state-changing API call takes JSON only: a `text/plain` or form body is what any
    web page can send cross-site without asking the browser first."""
    if connection.scope["type"] != "http" or not connection.scope["path"].startswith("/api/"):
        return
    if connection.scope["method"] in SAFE_METHODS:
        return
    media_type = connection.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(status_code=415, detail="the API takes application/json bodies only")
