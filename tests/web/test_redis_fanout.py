"""Several workers, one event: live updates fan out through Redis (Litestar Channels'
Redis backend), so a phone on one worker sees what another worker ingested."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis
from litestar.testing import TestClient

from tests.web.conftest import gun_ms, make_settings, read
from tests.web.test_live_service import uplink
from web.app import create_app

REDIS_URL = os.environ.get("RETROTIME_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL} (CI must start it)")
        pytest.skip("Redis is not reachable")
    return REDIS_URL


def test_update_ingested_on_one_worker_reaches_a_spectator_on_another(
    tmp_path: Path, redis_url: str
) -> None:
    ingest = make_settings(tmp_path / "a", redis_url=redis_url)
    # The second worker serves the same event from the same journal.
    fanout = make_settings(tmp_path / "b", redis_url=redis_url, database_url=ingest.database_url)
    with (
        TestClient(create_app(ingest)) as worker_a,
        TestClient(create_app(fanout)) as worker_b,
        worker_b.websocket_connect("/ws/races/half") as phone,
    ):
        assert phone.receive_json()["type"] == "snapshot"
        g = gun_ms(ingest)
        uplink(worker_a, "START", [read(1, "F0101", 1, g + 4_000)])
        uplink(worker_a, "FIN", [read(1, "F0101", 1, g + 3_600_000)])
        for _ in range(20):
            message = phone.receive_json(timeout=5)
            if any(r["bib"] == "101" and r["status"] == "FIN" for r in message["rows"]):
                break
        else:
            raise AssertionError("the finisher never reached the other worker's spectator")
        assert message["type"] == "update"


def test_a_worker_follows_what_another_stored(tmp_path: Path, redis_url: str) -> None:
    """A phone that opens the page on the second worker gets the finisher in its snapshot:
    that worker takes in the shared journal, not only the fanned-out updates."""
    import time

    ingest = make_settings(tmp_path / "a", redis_url=redis_url)
    fanout = make_settings(tmp_path / "b", redis_url=redis_url, database_url=ingest.database_url)
    with TestClient(create_app(ingest)) as worker_a, TestClient(create_app(fanout)) as worker_b:
        g = gun_ms(ingest)
        uplink(worker_a, "FIN", [read(1, "F0102", 1, g + 3_700_000)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rows = worker_b.get("/api/races/half").json()["rows"]
            if any(r["bib"] == "102" and r["status"] == "FIN" for r in rows):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the second worker never took in the stored read")
