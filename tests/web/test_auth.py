"""Director login: throttling, the hash off the event loop, session renewal, cookies,
and CSRF with JSON only on the director's API."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from pathlib import Path

import httpx
from litestar.testing import TestClient

from tests.net import ServerThread, free_port
from tests.web.conftest import PASSWORD, csrf, login, make_settings
from web.app import create_app
from web.settings import Settings, hash_password


def throttled_settings(tmp_path: Path, client: str, account: str) -> Settings:
    settings = make_settings(tmp_path)
    return dataclasses.replace(settings, login_limits_client=client, login_limits_account=account)


def try_login(client: TestClient | httpx.Client, password: str, **headers: str) -> httpx.Response:
    token = csrf(client)
    return client.post(
        "/director/login",
        data={"password": password, "name": "Guesser", "_csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )


def test_wrong_passwords_from_one_client_are_refused_with_growing_waits(tmp_path: Path) -> None:
    settings = throttled_settings(tmp_path, "1/5 seconds;2/minute", "100/minute")
    with TestClient(create_app(settings)) as client:
        assert try_login(client, "guess-1").status_code == 401
        first = try_login(client, PASSWORD)  # even the right password waits its turn
        assert first.status_code == 429 and "try again in" in first.text
        assert 1 <= int(first.headers["retry-after"]) <= 5
        time.sleep(int(first.headers["retry-after"]) + 0.2)
        assert try_login(client, "guess-2").status_code == 401
        second = try_login(client, "guess-3")
        assert second.status_code == 429
        assert int(second.headers["retry-after"]) > 30  # the minute window now holds it
        login_page = client.get("/director/login")
        assert login_page.status_code == 200  # the form itself is never refused


def test_refused_logins_are_shown_in_the_director_audit(tmp_path: Path) -> None:
    settings = throttled_settings(tmp_path, "2/minute", "100/minute")
    with TestClient(create_app(settings)) as client:
        login(client)
        director = dict(client.cookies)
        client.cookies.clear()
        client.headers.pop("x-csrftoken")
        for guess in ("a", "b", "c", "d", "e"):
            try_login(client, guess)
        client.cookies.clear()
        client.cookies.update(director)
        page = client.get("/director/audit").text
        assert "5 refused since the service started" in page
        assert "Guesser" in page and "wrong password" in page
        # A client told to wait is listed once, however often it tries meanwhile.
        latest = client.get("/api/director/logins").json()["latest"]
        assert [r["why"].split(" (")[0] for r in latest] == [
            "too many wrong passwords",
            "wrong password",
            "wrong password",
        ]


def test_guessers_from_many_clients_hit_the_account_limit(tmp_path: Path) -> None:
    """Through uvicorn, which takes the client from X-Forwarded-For sent by a proxy on
    loopback: each guesser comes from its own address."""
    settings = throttled_settings(tmp_path, "100/minute", "3/minute")
    port = free_port()
    with (
        ServerThread(create_app(settings), port),
        httpx.Client(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        director = {"X-Forwarded-For": "10.0.0.1"}
        assert try_login(http, PASSWORD, **director).status_code in (302, 303)
        http.cookies.clear()
        for n in range(3):
            assert (
                try_login(http, f"guess-{n}", **{"X-Forwarded-For": f"10.9.0.{n}"}).status_code
                == 401
            )
        refused = try_login(http, PASSWORD, **{"X-Forwarded-For": "10.9.0.77"})
        assert refused.status_code == 429 and "retry-after" in refused.headers
        # The laptop that logged in before is not locked out by strangers' guesses.
        again = try_login(http, PASSWORD, **director)
        assert again.status_code in (302, 303)


def test_spectators_are_answered_while_a_password_is_being_hashed(tmp_path: Path) -> None:
    """A costly hash (about 2 s here) in flight must not hold up the event loop."""
    settings = dataclasses.replace(
        make_settings(tmp_path), password_hash=hash_password(PASSWORD, parallel=48)
    )
    port = free_port()
    with (
        ServerThread(create_app(settings), port),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
    ):
        token = csrf(http)
        outcome: list[int] = []
        guesser = threading.Thread(
            target=lambda: outcome.append(
                http.post(
                    "/director/login", data={"password": "guess", "_csrf_token": token}
                ).status_code
            )
        )
        guesser.start()
        time.sleep(0.3)  # the guess is being hashed now
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as phone:
            assert phone.get("/api/event").status_code == 200
            assert phone.get("/api/races/half").status_code == 200
        still_hashing = guesser.is_alive()
        guesser.join(30)
        assert outcome == [401]
        assert still_hashing, "the spectator waited for the password hash"


def test_login_renews_the_session_id(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    planted = "a" * 64
    with TestClient(create_app(settings)) as client:
        client.cookies.set("session", planted)
        response = try_login(client, PASSWORD)
        assert response.status_code in (302, 303)
        cookie = response.headers["set-cookie"]
        session_id = re.search(r"session=([^;]+)", cookie).group(1)
        assert session_id not in (planted, "null")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Max-Age=7200" in cookie and "Secure" not in cookie
        with TestClient(client.app) as attacker:
            attacker.cookies.set("session", planted)
            assert attacker.get("/api/director/dashboard").status_code == 401
        client.cookies.clear()
        client.cookies.set("session", session_id)
        assert client.get("/api/director/dashboard").status_code == 200


def test_cookies_are_secure_behind_tls(tmp_path: Path) -> None:
    settings = dataclasses.replace(make_settings(tmp_path), secure_cookies=True)
    with TestClient(create_app(settings), base_url="https://testserver.local") as client:
        page = client.get("/director/login")
        assert "Secure" in page.headers["set-cookie"]  # the CSRF cookie
        response = try_login(client, PASSWORD)
        assert response.status_code in (302, 303)
        assert "Secure" in response.headers["set-cookie"]


def test_director_api_takes_json_with_a_csrf_header_only(client: TestClient) -> None:
    login(client)
    token = client.headers.pop("x-csrftoken")
    body = '{"bib": "101", "status": "DNS", "reason": "no show"}'
    plain = client.post(
        "/api/director/status", content=body, headers={"content-type": "text/plain"}
    )
    assert plain.status_code == 403  # what any web page can send: no token
    no_header = client.post("/api/director/status", json={"bib": "101", "status": "DNS"})
    assert no_header.status_code == 403
    plain_with_token = client.post(
        "/api/director/status",
        content=body,
        headers={"content-type": "text/plain", "x-csrftoken": token},
    )
    assert plain_with_token.status_code == 415
    assert client.get("/api/director/audit").json() == []  # nothing refused was applied
    done = client.post(
        "/api/director/status",
        json={"bib": "101", "status": "DNS", "reason": "no show"},
        headers={"x-csrftoken": token},
    )
    assert done.status_code == 200
    assert [a["kind"] for a in client.get("/api/director/audit").json()] == ["status"]


def test_spectators_get_no_session(client: TestClient) -> None:
    """A session is stored only once there is something in it: phones (and made-up
    session ids) fill no memory."""
    for page in ("/", "/api/event", "/races/half"):
        assert "session=" not in client.get(page).headers.get("set-cookie", "")
    client.cookies.set("session", "b" * 64)
    assert "session=" not in client.get("/api/event").headers.get("set-cookie", "")
    store = client.app.stores.get("sessions")
    with client.portal() as portal:
        assert not portal.call(store.exists, "b" * 64)


def test_a_huge_name_is_cut_in_the_audit(client: TestClient) -> None:
    client.post(
        "/director/login",
        data={"password": "wrong", "name": "N" * 100_000, "_csrf_token": csrf(client)},
    )
    login(client)
    (refusal,) = client.get("/api/director/logins").json()["latest"]
    assert refusal["name"] == "N" * 80
