"""Lap races live: laps done and to go, last lap, lapped runners, the bell lap for the
announcer, the timed race's countdown and the director's final part lap."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient

from tests.timing.track_event import write_track
from tests.web.conftest import PASSWORD, csrf, hello, read
from tests.web.test_live_service import wait_for
from timing.folder import load_folder
from web.app import create_app
from web.settings import Settings, hash_password

TOKEN = "tok-track"


def crossings(seq0: int, chip: str, times: list[int]) -> list[dict]:
    return [read(seq0 + i, chip, 1, t, -50.0) for i, t in enumerate(times)]


def test_lap_race_leaderboard_announcer_and_partial(tmp_path: Path) -> None:
    folder = write_track(tmp_path / "track")
    event = load_folder(folder).event
    gun_5k = event.race("5K").waves[0].gun_ms
    gun_hour = event.race("1H").waves[0].gun_ms
    settings = Settings(
        folder,
        f"sqlite:///{tmp_path / 'live.db'}",
        hash_password(PASSWORD),
        {"LAP": TOKEN},
        publish_interval_s=0.05,
    )
    # Bib 1: 12 of 13 crossings, 100 s laps (on the bell lap); bib 4: 5 crossings, 240 s.
    fast = [gun_5k + 50_000 + k * 100_000 for k in range(12)]
    slow = [gun_5k + 120_000 + k * 240_000 for k in range(5)]
    hour = [gun_hour + 2_000 + k * 110_000 for k in range(4)]  # start, then 3 laps
    reads = (
        crossings(1, "F0001", fast) + crossings(20, "F0004", slow) + crossings(40, "F0011", hour)
    )
    reads.sort(key=lambda r: r["time_ms"])
    for i, r in enumerate(reads, start=1):
        r["seq"] = i
    with TestClient(create_app(settings)) as client:
        with client.websocket_connect("/uplink") as ws:
            ws.send_json(hello("LAP", TOKEN))
            ws.receive_json()
            ws.send_json({"type": "reads", "reads": reads})
            assert ws.receive_json()["seq"] == len(reads)

        def rows() -> dict[str, dict]:
            return {r["bib"]: r for r in client.get("/api/races/5K").json()["rows"]}

        first = wait_for(lambda: (r := rows())["1"]["laps"] == 12 and r)
        assert (first["1"]["to_go"], first["1"]["last_lap"], first["1"]["status"]) == (
            1,
            "0:01:40.0",
            "RUN",
        )
        # At bib 4's last crossing the leader had crossed 11 times to its 5: six laps down.
        assert first["4"]["lapped"] and first["4"]["gap"] == "6 laps"
        assert list(first)[:2] == ["1", "4"]  # the lapped runner is behind, not ahead
        assert "9" not in first  # the spotter is never ranked
        page = client.get("/races/5K").text
        assert '<th scope="col" data-key="to_go">To go</th>' in page and "bell" in page
        bell = client.get("/api/races/5K/announcer").json()["runners"]
        assert [r["bib"] for r in bell] == ["1"]

        timed = client.get("/races/1H").text
        assert 'id="countdown"' in timed and 'data-key="distance"' in timed
        hour_row = wait_for(
            lambda: next(
                r
                for r in client.get("/api/races/1H").json()["rows"]
                if r["bib"] == "11" and r["laps"] == 3
            )
        )
        assert hour_row["distance"] == "1.200 km"
        login = client.post(
            "/director/login", data={"password": PASSWORD, "_csrf_token": csrf(client)}
        )
        assert login.status_code == 200
        client.headers["x-csrftoken"] = client.cookies["csrftoken"]  # JSON API calls need it
        done = client.post(
            "/api/director/partial", json={"bib": "11", "metres": "137", "reason": "measured wheel"}
        )
        assert done.status_code == 200, done.text
        after = wait_for(
            lambda: next(
                r
                for r in client.get("/api/races/1H").json()["rows"]
                if r["bib"] == "11" and r["distance"] == "1.337 km"
            )
        )
        assert after["laps"] == 3
        bad = client.post("/api/director/partial", json={"bib": "11", "metres": "lots"})
        assert bad.status_code == 400 and "metres" in bad.text  # the field named
