"""The director at the finish line, through the real app: statuses on course, typed and
reasoned actions, previews and confirmations, questions, undo, and refused actions that
leave no trace."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from litestar.testing import TestClient

from tests.timing.builders import person
from tests.web.conftest import gun_ms, login, make_settings, read, write_course_record
from tests.web.test_live_service import uplink, wait_for
from web.app import create_app
from web.cli_publish import publish
from web.settings import Settings


def athlete(client: TestClient, bib: str) -> dict:
    return client.get(f"/api/athletes/{bib}").json()


def audit(client: TestClient) -> list[dict]:
    return client.get("/api/director/audit").json()


def test_a_runner_on_course_is_on_course_not_dnf(client: TestClient, settings: Settings) -> None:
    g = gun_ms(settings)
    uplink(client, "START", [read(1, "F0101", 1, g + 4_000)])
    assert wait_for(lambda: athlete(client, "101")["status"] == "RUN")
    assert "on course" in client.get("/athletes/101").text
    assert "DNF" not in client.get("/athletes/101").text
    row = next(r for r in client.get("/api/races/half").json()["rows"] if r["bib"] == "101")
    assert row["status"] == "RUN"


def test_a_gun_needs_a_time_a_reason_and_a_confirmation(
    client: TestClient, settings: Settings
) -> None:
    g = gun_ms(settings)
    for bib in ("101", "102"):
        uplink(client, "START", [read(int(bib) - 100, f"F0{bib}", 1, g + 4_000)])
        uplink(client, "FIN", [read(int(bib) - 100, f"F0{bib}", 1, g + 5_400_000)])
    wait_for(lambda: athlete(client, "102")["status"] == "FIN")
    login(client)
    empty = client.post("/api/director/wave-start", json={"race": "half", "wave": "A"})
    assert empty.status_code == 400 and "time" in empty.text
    no_reason = client.post(
        "/api/director/wave-start", json={"race": "half", "wave": "A", "time": "now"}
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.text
    ask = {"race": "half", "wave": "A", "time": "now", "reason": "gun fired"}
    preview = client.post("/api/director/wave-start", json=ask)
    assert preview.status_code == 409 and preview.json()["status"] == "needs confirmation"
    summary = preview.json()["summary"]
    assert "moves the gun of Half Marathon wave A by +" in summary and "months" in summary
    assert "become DNS" in summary
    assert audit(client) == [] and athlete(client, "101")["status"] == "FIN"  # nothing applied
    done = client.post("/api/director/wave-start", json={**ask, "confirm": True})
    assert done.status_code == 200 and done.json()["status"] == "applied"
    assert [(a["kind"], a["reason"]) for a in audit(client)] == [("gun", "gun fired")]
    assert athlete(client, "101")["status"] == "DNS"
    undo = client.post(
        "/api/director/undo", json={"action": audit(client)[0]["id"], "reason": "wrong wave"}
    )
    assert undo.status_code == 200, undo.text
    assert athlete(client, "101")["status"] == "FIN"  # the undo is journalled, nothing deleted
    assert [a["kind"] for a in audit(client)] == ["undo", "gun"]


def test_a_chip_for_a_bib_that_has_one_asks_replace_or_add(
    client: TestClient, settings: Settings
) -> None:
    g = gun_ms(settings)
    uplink(client, "START", [read(1, "F0102", 1, g + 4_000)])
    uplink(client, "FIN", [read(1, "SPARE77", 1, g + 5_000_000)])
    login(client)
    wait_for(lambda: client.get("/api/director/dashboard").json()["unknown_chips"])
    ask = {"bib": "102", "chip": "SPARE77", "reason": "chip swapped"}
    asked = client.post("/api/director/assign-chip", json=ask)
    assert asked.status_code == 409 and asked.json()["choices"] == ["front", "back", "add"]
    assert "F0102 (front)" in asked.json()["detail"] and audit(client) == []
    done = client.post("/api/director/assign-chip", json={**ask, "side": "front"})
    assert done.status_code == 200
    assert "gives chip SPARE77 to bib 102 as its front chip" in done.json()["summary"]
    unknown = client.get("/api/director/dashboard").json()["unknown_chips"]
    assert [u["chip"] for u in unknown] == ["F0102"]  # its reads back with the unknown chips


def test_a_refused_action_leaves_no_trace_and_the_service_restarts(
    tmp_path: Path, settings: Settings
) -> None:
    with TestClient(create_app(settings)) as client:
        login(client)
        bad = client.post(
            "/api/director/flag",
            json={"bib": "101", "code": "WRONG_WAY", "decision": "dismis", "reason": "typo"},
        )
        assert bad.status_code == 400 and "dismis" in bad.text
        for body, field in [
            ({"bib": 101, "status": "DNS", "reason": "r"}, "bib"),
            ({"bib": "101", "status": ["DNS"], "reason": "r"}, "status"),
        ]:
            wrong = client.post("/api/director/status", json=body)
            assert wrong.status_code == 400 and f'"key":"{field}"' in wrong.text, wrong.text
        for path, body, field in [
            ("wave-start", {"race": {"id": "half"}, "wave": "A", "time": "now"}, "race"),
            ("manual-passing", {"bib": "101", "point": ["finish"], "time": "10:00"}, "point"),
            ("manual-passing", {"bib": "101", "point": "finish", "time": 36000}, "time"),
            ("undo", {"action": "one"}, "action"),
        ]:
            wrong = client.post(f"/api/director/{path}", json=body)
            assert wrong.status_code == 400 and f'"key":"{field}"' in wrong.text, wrong.text
        assert audit(client) == []
        ok = client.post(
            "/api/director/status", json={"bib": "103", "status": "DNS", "reason": "no show"}
        )
        assert ok.status_code == 200
    # The bib leaves participants.csv; the journalled action no longer applies.
    people = [person(101), person(102, "M")]
    again = make_settings(tmp_path, people, database_url=settings.database_url)
    with TestClient(create_app(again)) as client:
        assert client.get("/api/athletes/101").status_code == 200
    result = CliRunner().invoke(
        publish,
        [str(again.event_dir), "--out", str(tmp_path / "site"), "--database-url",
         again.database_url, "--allow-empty"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_records_are_confirmed_one_at_a_time_and_not_with_open_flags(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_course_record(settings)
    g = gun_ms(settings)
    with TestClient(create_app(settings)) as client:
        login(client)
        # Start and finish in 2:35:00, the 10 km gate missed: MISSED_SPLIT open.
        uplink(client, "START", [read(1, "F0101", 1, g + 4_000)])
        uplink(client, "FIN", [read(1, "F0101", 1, g + 4_000 + 9_300_000)])
        wait_for(lambda: athlete(client, "101")["status"] == "FIN")
        claims = client.get("/api/director/dashboard").json()["claims"]
        assert [c["claim"] for c in claims if c["scope"] == "course"] == ["pending review"]
        confirm = {"bib": "101", "scope": "course", "reason": "checked", "confirm": True}
        refused = client.post("/api/director/record", json=confirm)
        assert refused.status_code == 400 and "open flags: MISSED_SPLIT" in refused.text
        whole = client.post("/api/director/record", json={**confirm, "scope": None})
        assert whole.status_code == 400 and "one record at a time" in whole.text
        assert audit(client) == []
        page = client.get("/athletes/101").text
        assert "pending review" in page and "record broken" not in page


def test_a_manual_passing_against_a_chip_passing_asks_which_counts(
    client: TestClient, settings: Settings
) -> None:
    g = gun_ms(settings)
    uplink(client, "START", [read(1, "F0101", 1, g + 4_000)])
    uplink(client, "FIN", [read(1, "F0101", 1, g + 5_400_000)])
    login(client)
    wait_for(lambda: athlete(client, "101")["status"] == "FIN")
    ask = {"bib": "101", "point": "half/finish", "time": "10:20:00", "reason": "stopwatch"}
    asked = client.post("/api/director/manual-passing", json=ask)
    assert asked.status_code == 409 and asked.json()["choices"] == ["manual", "chip"]
    assert athlete(client, "101")["gun_time"] == "1:30:00.0"
    done = client.post("/api/director/manual-passing", json={**ask, "prefer": "manual"})
    assert done.status_code == 200
    assert athlete(client, "101")["gun_time"] == "1:20:00.0"
    passing = audit(client)[0]["id"]
    client.post("/api/director/undo", json={"action": passing, "reason": "typed wrong"})
    assert athlete(client, "101")["gun_time"] == "1:30:00.0"


def test_publish_without_a_journal_refuses_and_creates_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    args = [str(settings.event_dir), "--out", str(tmp_path / "site")]
    refused = CliRunner().invoke(publish, args)
    assert refused.exit_code == 2 and "no journal" in refused.output
    assert not (settings.event_dir / "retrotime.db").exists()
    assert not (tmp_path / "site").exists()
    empty = CliRunner().invoke(publish, [*args, "--allow-empty"])
    assert empty.exit_code == 0, empty.output
    assert not (settings.event_dir / "retrotime.db").exists()


def test_replay_keeps_runners_on_course_unless_final(tmp_path: Path) -> None:
    from readers.read import Read
    from tests.timing.builders import write_folder
    from tests.web.test_cli_replay import write_log
    from timing.folder import load_folder
    from web.cli import main

    folder = write_folder(tmp_path / "ev")
    gun = load_folder(folder).event.races[0].waves[0].gun_ms
    start = [
        Read("START", "F0101", 1, gun + 9_000, -60.0),
        Read("START", "F0102", 1, gun + 9_000, -60.0),
    ]
    finish = [Read("FIN", "F0102", 1, gun + 5_400_000, -55.0)]
    write_log(tmp_path / "start.log", "START", start)
    write_log(tmp_path / "fin.log", "FIN", finish)
    args = ["replay", str(folder), "--log", f"START={tmp_path / 'start.log'}",
            "--log", f"FIN={tmp_path / 'fin.log'}", "--json", str(tmp_path / "r.json")]  # fmt: skip

    def statuses(extra: list[str]) -> dict[str, str]:
        result = CliRunner().invoke(main, [*args, *extra])
        assert result.exit_code == 0, result.output
        data = json.loads((tmp_path / "r.json").read_text())
        return {r["bib"]: r["status"] for r in data["races"][0]["results"]}

    assert statuses([]) == {"102": "FIN", "101": "RUN", "103": "DNS", "104": "DNS"}
    assert statuses(["--final"]) == {"102": "FIN", "101": "DNF", "103": "DNS", "104": "DNS"}


def test_results_go_live_provisional_official_and_reopen(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    g = gun_ms(settings)
    uplink(client, "START", [read(1, "F0101", 1, g + 4_000)])
    uplink(client, "FIN", [read(1, "F0101", 1, g + 5_400_000)])
    wait_for(lambda: athlete(client, "101")["status"] == "FIN")
    login(client)
    board = client.get("/api/races/half").json()["race"]
    assert board["results_state"]["state"] == "live"
    early = client.post(
        "/api/director/lifecycle", json={"race": "half", "state": "official", "reason": "done"}
    )
    assert early.status_code == 400 and "provisional first" in early.text
    provisional = {"race": "half", "state": "provisional", "window_end": "11:00", "reason": "in"}
    assert client.post("/api/director/lifecycle", json=provisional).status_code == 200
    state = client.get("/api/event").json()["races"][0]["results_state"]
    assert state["state"] == "provisional" and state["protest_window_end"].startswith(
        "2026-04-12T11:00"
    )
    assert "protests until 11:00" in client.get("/races/half").text
    official = {"race": "half", "state": "official", "reason": "no protest"}
    assert client.post("/api/director/lifecycle", json=official).status_code == 200
    assert "Official results" in client.get("/athletes/101").text
    change = {"bib": "101", "status": "DNS", "reason": "late protest"}
    refused = client.post("/api/director/status", json=change)
    assert refused.status_code == 400 and "is official: reopen it" in refused.text
    reopen = {"race": "half", "state": "live", "reason": "protest upheld"}
    assert client.post("/api/director/lifecycle", json=reopen).status_code == 200
    assert client.post("/api/director/status", json=change).status_code == 200
    client.post("/api/director/lifecycle", json=provisional)
    client.post("/api/director/lifecycle", json=official)
    site = tmp_path / "site"
    args = [str(settings.event_dir), "--out", str(site), "--database-url", settings.database_url]
    assert CliRunner().invoke(publish, args).exit_code == 0
    page = (site / "races" / "half" / "index.html").read_text(encoding="utf-8")
    assert "Official results" in page
    data = json.loads((site / "results.json").read_text(encoding="utf-8"))
    assert data["races"][0]["results_state"]["state"] == "official"


def test_the_console_follows_over_a_websocket(client: TestClient, settings: Settings) -> None:
    import pytest
    from litestar.exceptions import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws/director") as ws:
        ws.receive_json()  # no director session: closed
    login(client)
    g = gun_ms(settings)
    with client.websocket_connect("/ws/director") as ws:
        first = ws.receive_json()
        assert first["type"] == "console" and first["unknown_chips"] == []
        uplink(client, "FIN", [read(1, "SPARE55", 1, g + 5_000_000)])
        with client.websocket_connect("/uplink") as agent:
            from tests.web.conftest import TOKENS, hello

            agent.send_json(hello("MID", TOKENS["MID"], "j2"))
            agent.receive_json()
            agent.send_json(
                {"type": "quarantine", "lines": [
                    {"seq": 1, "raw": "MID,???", "reason": "not a read", "received_ms": g}
                ]}
            )  # fmt: skip
            agent.receive_json()
            agent.send_json(
                {"type": "health", "agent_time_ms": g, "reader_offset_ms": 1500, "quarantined": 1,
                 "source_lines": 12, "source_reads": 9, "source_quarantined": 1}
            )  # fmt: skip
        seen: dict = {}
        for _ in range(40):  # each message is the whole console, sent as it changes
            seen = ws.receive_json()
            if (
                seen["unknown_chips"]
                and seen["quarantined_lines"]
                and any(h.get("reader_offset_ms") for h in seen["health"])
            ):
                break
        assert [u["chip"] for u in seen["unknown_chips"]] == ["SPARE55"]
        assert seen["quarantined_lines"][0]["reason"] == "not a read"
        assert seen["quarantined_lines"][0]["reader"] == "MID"
    page = client.get("/director").text
    assert 'class="clock-bad">1500<' in page and "not a read" in page
    # Every line the reader sent, accounted for.
    assert "12 lines = 9 reads + 2 replies/status + 1 quarantined" in page
    # The console's forms and script stand once, in the page, not in its title.
    assert "<title>Director · RetroTime</title>" in page
    assert page.count('src="/static/director.js"') == 1


def test_flag_evidence_reads_as_words() -> None:
    from web.director_views import evidence_words

    evidence = {
        "segment_from": "start",
        "panel": {
            "front": {"reads": 14, "peak_rssi": -52.0},
            "back": {"reads": 3, "peak_rssi": -61.0},
        },
        "mat_peak_order": [{"line": "mat", "first": "front", "by_ms": 310}],
    }
    assert evidence_words(evidence) == (
        "segment from start; front chip 14 reads, peak -52 dBm; back chip 3 reads, "
        "peak -61 dBm; front chip before back chip at the mat line by 0.31 s"
    )


VALID = {
    "assign-chip": {"bib": "102", "chip": "SPARE1", "side": "add"},
    "manual-passing": {"bib": "101", "point": "finish", "time": "10:31:00.0", "prefer": "chip"},
    "wave-start": {"race": "half", "wave": "B", "time": "09:10:05"},
    "status": {"bib": "103", "status": "DNS"},
    "partial": {"bib": "101", "metres": 5},
    "record": {"bib": "101", "decision": "withdraw"},
    "flag": {"bib": "101", "code": "WRONG_WAY", "decision": "dismissed", "point": "10k"},
    "close-race": {"race": "half", "closed": False},
    "lifecycle": {"race": "half", "state": "live"},
    "undo": {"action": 1},
    "void-crossing": {"bib": "101", "chip": "F0101", "read_id": 1},
    "tap": {"point": "half/finish", "phone_ms": 0},
}
WRONG = [5, -1, 2**70, 1.5, True, None, "", "x" * 300, [], ["a"], {}, {"id": "half"}, "²"]


def test_no_director_call_answers_500_and_refusals_journal_nothing(
    client: TestClient, settings: Settings
) -> None:
    """Every field of every action, given a wrong type or a strange value: 200, 400 or
    409, never 500; a refused call adds nothing to the audit log."""
    import random

    rng = random.Random(17)
    login(client)
    calls = 0
    for path, valid in VALID.items():
        for field in [*valid, "reason", "confirm", "preview"]:
            for value in rng.sample(WRONG, 6):
                before = len(audit(client))
                body = {**valid, "reason": "fuzz", field: value}
                response = client.post(f"/api/director/{path}", json=body)
                calls += 1
                assert response.status_code in (200, 400, 409), (path, body, response.text)
                if response.status_code != 200 or response.json()["status"] != "applied":
                    assert len(audit(client)) == before, (path, body)
    assert calls > 250
    assert client.get("/api/director/dashboard").status_code == 200
