"""A spectator's `?since=` that is not a small non-negative number gets a fresh snapshot."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from web.live import parse_since

ODD = ["²", "٣", "99999999999999999999", "9" * 5000, "-1", "-0", "+3", "1e3", "0x10", "1.0"]
ODD += [" 1", "abc", "", "%00", "1%202"]


@pytest.mark.parametrize("since", ODD)
def test_odd_since_gets_a_snapshot(client: TestClient, since: str) -> None:
    with client.websocket_connect(f"/ws/races/half?since={since}") as ws:
        first = ws.receive_json()
        assert first["type"] == "snapshot" and len(first["rows"]) == 3
        ws.send_text("ping")
        assert ws.receive_json() == {"type": "pong"}


def test_a_small_number_still_resumes(client: TestClient) -> None:
    with client.websocket_connect("/ws/races/half?since=0") as ws:
        assert ws.receive_json()["type"] == "update"


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_parse_since_takes_only_ascii_digits(text: str) -> None:
    value = parse_since(text)
    if value is None:
        assert not (text.isascii() and text.isdigit() and len(text) <= 15)
    else:
        assert str(value) == text.lstrip("0").rjust(1, "0") and 0 <= value < 10**15
