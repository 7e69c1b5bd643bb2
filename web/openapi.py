"""What the OpenAPI schema says each operation answers, beside its success.

Some answers come from machinery every handler shares, not from the handler: the CSRF
check (403 on any state-changing request without the token), the JSON-only guard (415
on the API), the director's session (401 on the director API), Litestar's lookups of
path parameters (404), and pages, which are HTML and may redirect. They are documented
here, where that machinery is set up, from what each handler declares (its path, its
methods, the types it returns), so a new handler is documented as it is written.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from dataclasses import dataclass

from litestar import Litestar
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Schema
from litestar.response import Redirect, Template

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class ErrorBody:
    """Litestar's error answer: `{"status_code": 403, "detail": "..."}`."""

    status_code: int
    detail: str


def error(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorBody, description=description)


def html(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=str, media_type=MediaType.HTML, description=description)


REDIRECT = ResponseSpec(data_container=None, description="Redirect (see Location)")


def _returns(handler: HTTPRouteHandler) -> set[type]:
    hint = typing.get_type_hints(handler.fn).get("return")
    return set(typing.get_args(hint)) or {hint}


def shared_responses(handler: HTTPRouteHandler) -> dict[int, ResponseSpec]:
    """The answers `handler` gives through the shared machinery."""
    paths = handler.paths
    methods = set(handler.http_methods)
    returns = _returns(handler)
    found: dict[int, ResponseSpec] = {}
    if any("{" in p for p in paths):
        found[404] = error("No such race, athlete or page")
    if methods - SAFE_METHODS:
        found[403] = error("CSRF token missing or wrong (form field or X-CSRFToken header)")
        found[400] = error("The body is malformed or a field is wrong")
        if any(p.startswith("/api/") for p in paths):
            found[415] = error("The API takes application/json bodies only")
    if any(p.startswith("/api/director/") for p in paths):
        found[401] = error("Director login required")
    if Template in returns:
        found[handler.status_code] = html("An HTML page")
        if methods - SAFE_METHODS:  # a refused form: the page again, saying why
            found[400] = html("The form was refused: the page again, with the reason")
    if Redirect in returns:
        found[302] = REDIRECT
    return found


def document_responses(handlers: Iterable[object]) -> None:
    """Add the shared answers to each HTTP handler's `responses` (its own win)."""
    for handler in handlers:
        if isinstance(handler, HTTPRouteHandler):
            handler.responses = {**shared_responses(handler), **(handler.responses or {})}


def add_json_refusals(app: Litestar) -> None:
    """A form page refuses a body Litestar cannot parse with Litestar's JSON error, and
    an action it will not take with the page again: its 400 has both content types,
    which one `ResponseSpec` cannot say. Done on the schema the app serves (built once)."""
    body = Schema(
        type=OpenAPIType.OBJECT,
        properties={
            "status_code": Schema(type=OpenAPIType.INTEGER),
            "detail": Schema(type=OpenAPIType.STRING),
        },
    )
    for item in (app.openapi_schema.paths or {}).values():
        for operation in (item.post, item.put, item.patch, item.delete):
            refused = operation.responses.get("400") if operation and operation.responses else None
            if refused is not None and refused.content and "text/html" in refused.content:
                refused.content["application/json"] = OpenAPIMediaType(schema=body)
