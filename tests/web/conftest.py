"""A live service on a small event, in process (Litestar's TestClient) or on a real port."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from tests.timing.builders import person, write_folder
from timing.folder import load_folder
from web.app import create_app
from web.settings import Settings, hash_password

PASSWORD = "finish-line"
TOKENS = {"START": "tok-start", "MID": "tok-mid", "FIN": "tok-fin"}


def make_settings(
    tmp_path: Path,
    people: list[dict[str, str]] | None = None,
    redis_url: str | None = None,
    database_url: str | None = None,
) -> Settings:
    folder = write_folder(tmp_path / "event", people)
    return Settings(
        folder,
        database_url or f"sqlite:///{tmp_path / 'live.db'}",
        hash_password(PASSWORD),
        dict(TOKENS),
        redis_url,
        publish_interval_s=0.05,
    )


def gun_ms(settings: Settings) -> int:
    return load_folder(settings.event_dir).event.races[0].waves[0].gun_ms


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    people = [person(101), person(102, "M"), person(103)]
    people[2] = {**people[2], "first_name": "<script>alert(1)</script>", "last_name": "\u202eRTL"}
    return make_settings(tmp_path, people)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def csrf(client: TestClient, page: str = "/director/login") -> str:
    html = client.get(page).text
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def login(client: TestClient) -> None:
    """Log in as a director; later JSON API calls carry the CSRF header, as a script would."""
    response = client.post(
        "/director/login", data={"password": PASSWORD, "name": "Ana", "_csrf_token": csrf(client)}
    )
    assert response.status_code == 200 and "Director console" in response.text
    client.headers["x-csrftoken"] = client.cookies["csrftoken"]


def read(seq: int, chip: str, antenna: int, time_ms: int, rssi: float | None = -55.0) -> dict:
    return {
        "seq": seq,
        "chip": chip,
        "antenna": antenna,
        "time_ms": time_ms,
        "rssi": rssi,
        "reader_seq": None,
        "raw": f"line {seq}",
        "received_ms": time_ms,
    }


def hello(reader: str, token: str, journal: str = "j1") -> dict:
    return {
        "type": "hello",
        "protocol": 1,
        "reader": reader,
        "token": token,
        "agent_version": "test",
        "journal_id": journal,
        "acked_seq": 0,
        "last_seq": 0,
        "agent_time_ms": 0,
    }
