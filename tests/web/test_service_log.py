"""`retrotime serve` as a timer runs it: every unexpected error reaches the service log
once, with its traceback and what it happened to, and the director's console counts them."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.net import free_port
from tests.web.conftest import PASSWORD, csrf, hello, make_settings


class Serve:
    def __init__(self, tmp_path: Path, *options: str) -> None:
        self.settings = make_settings(tmp_path)
        self.db = Path(self.settings.database_url.removeprefix("sqlite:///"))
        self.port = free_port()
        self.log = tmp_path / "service.log"
        env = {**os.environ, "RETROTIME_DIRECTOR_PASSWORD": PASSWORD}
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "web.cli", "serve", str(self.settings.event_dir)),
                *("--port", str(self.port), "--database-url", self.settings.database_url),
                *options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
            env=env,
        )
        deadline = time.monotonic() + 20
        while True:
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the service did not start"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        tokens = self.settings.event_dir / "tokens.toml"
        self.tokens = tomllib.loads(tokens.read_text())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

    def text(self, needle: str, seconds: float = 5.0) -> str:
        """The service log, once `needle` is in it (the log is written by a thread)."""
        deadline = time.monotonic() + seconds
        while needle not in (text := self.log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return text


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    service = Serve(tmp_path)
    try:
        yield service
    finally:
        service.stop()


def hide_table(db: Path, table: str, hidden: bool) -> None:
    """What a broken or full disk does to a journal: the table cannot be written."""
    names = (table, f"{table}_hidden") if hidden else (f"{table}_hidden", table)
    with sqlite3.connect(db) as con:
        con.execute(f"ALTER TABLE {names[0]} RENAME TO {names[1]}")


def test_unexpected_errors_are_logged_once_and_counted(serve: Serve) -> None:
    http = httpx.Client(base_url=f"http://127.0.0.1:{serve.port}", timeout=10)
    wrong = http.post("/director/login", data={"password": "no", "_csrf_token": csrf(http)})
    assert wrong.status_code == 401
    assert "director login refused: wrong password" in serve.text("login refused")
    http.post("/director/login", data={"password": PASSWORD, "_csrf_token": csrf(http)})
    assert http.get("/api/director/errors").json()["count"] == 0

    with connect(f"ws://127.0.0.1:{serve.port}/uplink", open_timeout=5) as ws:
        ws.send(json.dumps(hello("FIN", serve.tokens["FIN"])))
        assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
        hide_table(serve.db, "quarantined_lines", hidden=True)
        assert http.get("/api/director/dashboard").status_code == 500
        line = {"seq": 1, "raw": "garbage", "reason": "bad line", "received_ms": 1}
        ws.send(json.dumps({"type": "quarantine", "lines": [line]}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011  # storage failed
    hide_table(serve.db, "quarantined_lines", hidden=False)

    log = serve.text("websocket /uplink")
    assert log.count("ERROR - ") == 2, log  # each error once, with its traceback
    assert log.count("Traceback (most recent call last)") >= 2
    assert log.count("unexpected error in GET /api/director/dashboard") == 1
    assert log.count("uplink FIN: storage failed") == 1
    assert log.count("no such table: quarantined_lines") >= 2
    assert http.get("/api/director/errors").json()["count"] == 2
    console = http.get("/director")
    assert console.status_code == 200
    assert "Unexpected errors: 2" in console.text
    assert http.get("/").status_code == 200  # the service goes on


def test_serve_behind_tls_sends_secure_short_lived_cookies(tmp_path: Path) -> None:
    service = Serve(tmp_path, "--secure-cookies", "--session-minutes", "30")
    try:
        http = httpx.Client(base_url=f"http://127.0.0.1:{service.port}", timeout=10)
        page = http.get("/director/login")
        assert "Secure" in page.headers["set-cookie"]
        token = page.cookies["csrftoken"]
        response = http.post(
            "/director/login",
            data={"password": PASSWORD, "_csrf_token": token},
            headers={"cookie": f"csrftoken={token}"},  # what a browser sends over HTTPS
        )
        cookie = response.headers["set-cookie"]
        assert response.status_code == 302
        assert "Secure" in cookie and "Max-Age=1800" in cookie
    finally:
        service.stop()
