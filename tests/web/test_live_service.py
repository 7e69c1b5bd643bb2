"""The live service in process: uplink, spectator pages and websocket, director actions."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from litestar.testing import TestClient

from tests.web.conftest import (
    TOKENS,
    csrf,
    gun_ms,
    hello,
    login,
    make_settings,
    read,
    write_course_record,
)
from web.app import create_app
from web.settings import Settings


def uplink(client: TestClient, reader: str, reads: list[dict], journal: str = "j1") -> int:
    with client.websocket_connect("/uplink") as ws:
        ws.send_json(hello(reader, TOKENS[reader], journal))
        welcome = ws.receive_json()
        assert welcome["type"] == "welcome"
        ws.send_json({"type": "reads", "reads": reads})
        ack = ws.receive_json()
        assert ack["type"] == "ack"
        return ack["seq"]


def finish_race(client: TestClient, settings: Settings, bib: int = 101) -> None:
    g = gun_ms(settings)
    uplink(client, "START", [read(1, f"F{bib:04d}", 1, g + 4_000)])
    uplink(client, "FIN", [read(1, f"F{bib:04d}", 1, g + 5_400_000)])


def wait_for(check, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_pages_render_and_escape_names(client: TestClient) -> None:
    for page in ("/", "/races/half", "/races/half/announcer", "/athletes/103", "/search?q=103"):
        response = client.get(page)
        assert response.status_code == 200, page
    athlete = client.get("/athletes/103").text
    assert "<script>alert(1)</script>" not in athlete
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in athlete
    assert client.get("/races/nope").status_code == 404
    assert client.get("/schema/openapi.json").json()["info"]["title"] == "RetroTime"


def test_uplink_stores_once_and_results_follow(client: TestClient, settings: Settings) -> None:
    g = gun_ms(settings)
    reads = [read(1, "F0101", 1, g + 4_000), read(2, "F0101", 1, g + 4_100)]
    assert uplink(client, "START", reads) == 2
    assert uplink(client, "START", reads) == 2  # a re-send adds nothing
    assert uplink(client, "FIN", [read(1, "F0101", 1, g + 5_400_000)]) == 1
    row = wait_for(
        lambda: next(
            (
                r
                for r in client.get("/api/races/half").json()["rows"]
                if r["bib"] == "101" and r["status"] == "FIN"
            ),
            None,
        )
    )
    assert row["time"] == "1:29:56.0" and row["place"] == 1
    assert client.get("/api/athletes/101").json()["chip_time"] == "1:29:56.0"


def test_uplink_refuses_bad_token_and_closes_on_garbage(client: TestClient) -> None:
    from litestar.exceptions import WebSocketDisconnect

    with client.websocket_connect("/uplink") as ws:
        ws.send_json(hello("FIN", "wrong"))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008
    with client.websocket_connect("/uplink") as ws:
        ws.send_json(hello("FIN", TOKENS["FIN"]))
        ws.receive_json()
        ws.send_text("this is not json")
        assert ws.receive_json() == {"type": "error", "reason": "not JSON"}
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1007
    with client.websocket_connect("/uplink") as ws:
        ws.send_json(hello("FIN", TOKENS["FIN"]))
        ws.receive_json()
        ws.send_json({"type": "reads", "reads": [{"seq": 1, "chip": "F0101"}]})
        assert ws.receive_json()["type"] == "error"
    assert client.get("/").status_code == 200  # the service keeps running


def test_spectator_gets_snapshot_then_numbered_updates_and_resumes(
    client: TestClient, settings: Settings
) -> None:
    with client.websocket_connect("/ws/races/half") as ws:
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot" and len(snapshot["rows"]) == 3
        finish_race(client, settings)
        update = ws.receive_json()
        while not any(r["bib"] == "101" and r["status"] == "FIN" for r in update["rows"]):
            update = ws.receive_json()
        assert update["type"] == "update" and update["seq"] > snapshot["seq"]
    # A phone that saw `snapshot` asks for what it missed: the updates, not everything.
    with client.websocket_connect(f"/ws/races/half?since={snapshot['seq']}") as ws:
        missed = ws.receive_json()
        assert missed["type"] == "update" and missed["seq"] == snapshot["seq"] + 1
    with client.websocket_connect("/ws/races/half") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ws.send_text("garbage")
        from litestar.exceptions import WebSocketDisconnect

        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()


def test_director_login_csrf_and_actions(client: TestClient, settings: Settings) -> None:
    g = gun_ms(settings)
    assert client.get("/director", follow_redirects=False).status_code in (302, 303, 307)
    assert client.get("/api/director/dashboard").status_code == 401
    wrong = client.post("/director/login", data={"password": "nope", "_csrf_token": csrf(client)})
    assert wrong.status_code == 401
    no_token = client.post("/director/login", data={"password": "finish-line"})
    assert no_token.status_code == 403
    login(client)
    uplink(client, "FIN", [read(1, "SPARE77", 1, g + 5_000_000)])
    wait_for(lambda: client.get("/api/director/dashboard").json()["unknown_chips"])
    token = csrf(client, "/director")
    bad = client.post(
        "/director/assign-chip", data={"chip": "SPARE77", "bib": "999", "_csrf_token": token}
    )
    assert bad.status_code == 400 and "unknown bib" in bad.text
    done = client.post(
        "/director/assign-chip",
        data={
            "chip": "SPARE77",
            "bib": "102",
            "side": "front",
            "reason": "swapped chip",
            "_csrf_token": token,
        },
    )
    assert done.status_code == 200
    row = wait_for(
        lambda: next(
            (
                r
                for r in client.get("/api/races/half").json()["rows"]
                if r["bib"] == "102" and r["status"] == "FIN"
            ),
            None,
        )
    )
    assert row["bib"] == "102"
    client.post(
        "/director/status",
        data={
            "bib": "101",
            "status": "DQ",
            "reason": "cut course",
            "confirm": "true",
            "_csrf_token": token,
        },
    )
    client.post(
        "/director/wave-start",
        data={
            "wave_key": "half/A",
            "time": "09:00:05",
            "reason": "late gun",
            "confirm": "true",
            "_csrf_token": token,
        },
    )
    audit = client.get("/api/director/audit").json()
    assert [(a["kind"], a["who"], a["reason"]) for a in audit] == [
        ("gun", "Ana", "late gun"),
        ("status", "Ana", "cut course"),
        ("assign_chip", "Ana", "swapped chip"),
    ]
    assert client.get("/api/athletes/101").json()["status"] == "DQ"
    assert client.get("/api/athletes/102").json()["gun_time"] is not None
    assert "swapped chip" in client.get("/director/audit").text


def test_manual_passing_from_a_backup_stopwatch(client: TestClient, settings: Settings) -> None:
    login(client)
    response = client.post(
        "/api/director/manual-passing",
        json={"bib": "101", "point": "finish", "time": "10:31:00.0", "reason": "stopwatch"},
    )
    assert response.status_code == 200
    result = wait_for(
        lambda: (r := client.get("/api/athletes/101").json())["status"] == "FIN" and r
    )
    assert result["gun_time"] == "1:31:00.0" and result["splits"][-1]["manual"] is True
    bad = client.post(
        "/api/director/manual-passing", json={"bib": "101", "point": "moon", "time": "10:31"}
    )
    assert bad.status_code == 400 and "no point 'moon'" in bad.text


def test_director_confirms_a_course_record(tmp_path) -> None:
    from tests.web.conftest import make_settings
    from web.app import create_app

    settings = make_settings(tmp_path)
    write_course_record(settings)
    g = gun_ms(settings)
    with TestClient(create_app(settings)) as client:
        login(client)
        # A clean race in 2:35:00: start, both lines of the 10 km gate in order, finish.
        uplink(client, "START", [read(1, "F0101", 1, g + 4_000)])
        uplink(
            client,
            "MID",
            [
                read(1, "F0101", 1, g + 4_400_000 - 1_500),
                read(2, "F0101", 2, g + 4_402_000 - 1_500),
            ],
        )
        uplink(client, "FIN", [read(1, "F0101", 1, g + 4_000 + 9_300_000)])

        def course_claim() -> dict | None:
            claims = client.get("/api/director/dashboard").json()["claims"]
            found = [c for c in claims if c["scope"] == "course"]
            # Results settle as each reader's batch lands; a clean race has no open flag.
            return found[0] if found and found[0]["claim"] == "pending review" else None

        course = wait_for(course_claim)
        assert (course["bib"], course["verdict"], course["margin"]) == (
            "101",
            "broken",
            "-0:05:00.0",
        )
        confirm = {
            "bib": "101",
            "decision": "confirm",
            "scope": "course",
            "reason": "checked the evidence",
            "confirm": True,
        }
        response = client.post("/api/director/record", json=confirm)
        assert response.status_code == 200, response.text
        records = client.get("/api/athletes/101").json()["records"]
        assert next(r for r in records if r["scope"] == "course")["claim"] == "confirmed"
        assert client.get("/api/director/audit").json()[0]["kind"] == "record"


def test_a_spectator_page_revalidates_with_its_etag(client: TestClient) -> None:
    """A phone (or a cache in front) that asks again gets a 304 until the board changes."""
    first = client.get("/races/half")
    etag = first.headers["etag"]
    assert "csrftoken" not in first.cookies  # nothing private: a shared cache may keep it
    again = client.get("/races/half", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    g = gun_ms(client.app.state.settings)
    uplink(client, "START", [read(1, "F0101", 1, g + 4_000)])
    # The writer scores at once: the page changes, and the old ETag no longer matches.
    wait_for(lambda: client.get("/races/half", headers={"If-None-Match": etag}).status_code == 200)
    assert client.get("/director/login").cookies.get("csrftoken")  # the director's still has it


def test_pages_send_phones_to_the_fanout_workers_port(tmp_path: Path) -> None:
    """With `serve --workers`, live.js opens live updates on the workers' port."""
    settings = dataclasses.replace(make_settings(tmp_path), live_port=8123)
    with TestClient(create_app(settings)) as client:
        assert 'data-live-port="8123"' in client.get("/races/half").text
    with TestClient(create_app(make_settings(tmp_path / "plain"))) as client:
        assert "data-live-port" not in client.get("/races/half").text


def test_a_restarted_service_numbers_on_from_where_it_stopped(tmp_path: Path) -> None:
    """No update number is used twice: a phone holding number N never takes a newer
    board for one it already has."""
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        g = gun_ms(settings)
        uplink(client, "START", [read(1, "F0101", 1, g + 4_000)])
        seq = wait_for(lambda: (n := client.get("/api/races/half").json()["seq"]) > 1 and n)
    with (
        TestClient(create_app(settings)) as client,
        client.websocket_connect(f"/ws/races/half?since={seq}") as ws,
    ):
        first = ws.receive_json()
    assert first["type"] == "snapshot" and first["seq"] == seq + 1
    assert any(r["bib"] == "101" and r["status"] == "RUN" for r in first["rows"])
