"""Unexpected errors: each logged once, with its traceback and what it happened to,
and counted for the director's console.

Litestar turns an exception in a handler into a 500 (or a websocket close 4500) and
logs nothing by default; `log_unexpected` runs for each of them. Refusals (4xx,
validation, a client that hung up) are answers, not errors, and are not logged here.
"""

from __future__ import annotations

import asyncio
import logging

from litestar import Request, get
from litestar.exceptions import HTTPException, NotAuthorizedException, WebSocketException
from litestar.types import Scope

log = logging.getLogger(__name__)


class ErrorTally(logging.Handler):
    """Counts the records of level ERROR and above logged while the service runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.last = f"{record.name}: {record.getMessage()}"


async def log_unexpected(exc: BaseException, scope: Scope) -> None:
    """Litestar's after-exception hook."""
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return
    if isinstance(exc, WebSocketException):  # a disconnect or a deliberate close
        return
    method = scope.get("method") or "websocket"
    client = scope.get("client")
    log.error(
        "unexpected error in %s %s (client %s)",
        method,
        scope.get("path"),
        client[0] if client else "?",
        exc_info=exc,
    )


def log_task_end(task: asyncio.Task) -> None:
    """A background task that dies takes live updates with it: say so, with the cause."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("background task %r stopped", task.get_name(), exc_info=exc)


@get("/api/director/errors")
async def api_errors(request: Request) -> dict[str, int | str | None]:
    if not request.session.get("director"):
        raise NotAuthorizedException("director login required")
    tally: ErrorTally = request.app.state.errors
    return {"count": tally.count, "last": tally.last}
