"""The OpenAPI schema says what the service really answers: schemathesis (bounded)
fuzzes every operation of a real server, without login and with a director session, and
checks each status code, content type and body against the schema, and that nothing
answers 5xx. The longer run is in docs/security.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.net import ServerThread, free_port
from tests.web.conftest import PASSWORD, csrf, make_settings
from web.app import create_app

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
# The Allow check is left out: Litestar 2 lists only the first handler's method in the
# automatic OPTIONS answer of a path with two handlers (litestar-org/litestar#4169).


def schemathesis(port: int, workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run"),
        f"http://127.0.0.1:{port}/schema/openapi.json",
        *("--checks", CHECKS, "--max-examples", "8", "--seed", "17", "--workers", "1"),
        *("--phases", "examples,coverage,fuzzing"),
        *extra,
    ]
    # In a folder of its own: schemathesis keeps a cache where it runs.
    return subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=workdir)


@pytest.fixture
def server(tmp_path: Path):
    port = free_port()
    with ServerThread(create_app(make_settings(tmp_path)), port):
        yield port


def test_anonymous_answers_match_the_schema(server: int, tmp_path: Path) -> None:
    run = schemathesis(server, tmp_path)
    assert run.returncode == 0, run.stdout[-6000:]
    assert re.search(r"\d+ passed", run.stdout)


def test_director_answers_match_the_schema(server: int, tmp_path: Path) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{server}") as http:
        http.post("/director/login", data={"password": PASSWORD, "_csrf_token": csrf(http)})
        session, token = http.cookies["session"], http.cookies["csrftoken"]
    run = schemathesis(
        server,
        tmp_path,
        *("-H", f"Cookie: session={session}; csrftoken={token}", "-H", f"X-CSRFToken: {token}"),
        *("--exclude-path", "/director/logout"),  # it would end the session under test
    )
    assert run.returncode == 0, run.stdout[-6000:]
    # The session held: only the login form itself may answer nothing but 401/403.
    refused = run.stdout.partition("Authentication failed")[2].partition("💡")[0]
    assert "/api/director/" not in refused, refused
    with httpx.Client(base_url=f"http://127.0.0.1:{server}") as http:
        http.cookies.set("session", session)
        assert http.get("/api/director/dashboard").status_code == 200
