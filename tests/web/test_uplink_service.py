"""The service's uplink (web/uplink.py) as docs/uplink.md says: one connection per stream,
1001 without a hello, and an entry the database cannot hold quarantined and acked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from tests.web.conftest import TOKENS, hello, make_settings, read
from web.app import create_app


def test_a_second_hello_for_a_stream_closes_the_older_connection(client: TestClient) -> None:
    with client.websocket_connect("/uplink") as older:
        older.send_json(hello("FIN", TOKENS["FIN"], "j1"))
        assert older.receive_json()["type"] == "welcome"
        with client.websocket_connect("/uplink") as newer:
            newer.send_json(hello("FIN", TOKENS["FIN"], "j1"))
            assert newer.receive_json()["type"] == "welcome"
            with pytest.raises(WebSocketDisconnect) as closed:
                older.receive_json()
            assert closed.value.code == 1001
            newer.send_json({"type": "reads", "reads": [read(1, "F0101", 1, 5_000)]})
            assert newer.receive_json()["seq"] == 1  # the newer one goes on


def test_no_hello_in_time_closes_1001(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("web.uplink.HELLO_TIMEOUT_S", 0.2)
    with client.websocket_connect("/uplink") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1001
        assert closed.value.detail == "no hello"


def test_an_unstorable_read_is_quarantined_and_never_blocks_the_stream(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url=database_url)
    with TestClient(create_app(settings)) as client:
        reads = [
            read(1, "F0101", 1, 5_000),
            read(2, "F0102", 2**31, 5_100),  # an antenna no INTEGER column holds
            read(3, "F0103", 1, 10**18),  # a time past the year 9999
            read(4, "F\x000104", 1, 5_200),  # NUL: PostgreSQL text cannot hold it
            read(5, "F0105", 1, 5_300),
            {**read(6, "F\ud800", 1, 5_400), "raw": "\ud800"},  # a lone surrogate: no UTF-8
        ]
        for _ in range(2):  # and again, as an agent that reconnects would send it
            with client.websocket_connect("/uplink") as ws:
                ws.send_json(hello("FIN", TOKENS["FIN"], "j1"))
                held = ws.receive_json()["seq"]
                batch = {"type": "reads", "reads": reads[held:] or reads[-1:]}
                ws.send_text(json.dumps(batch))  # ASCII: the surrogate travels as \\ud800
                ack = ws.receive_json()
                assert (ack["type"], ack["seq"]) == ("ack", 6)
        store = client.app.state.live.store
        chips = sorted(r.chip for r in store.reads_of_chips(["F0101", "F0105"]))
        nul_stored = store.is_sqlite and bool(store.reads_of_chips(["F\x000104"]))
        quarantined = {q.seq: q.reason for q in store.quarantined()}
        raw6 = [q.raw_line for q in store.quarantined() if q.seq == 6]
    assert chips == ["F0101", "F0105"]
    assert quarantined[2] == "unstorable read: antenna 2147483648 is not 1-2147483647"
    assert quarantined[3].startswith("unstorable read: time 1000000000000000000 ms")
    assert quarantined[6].startswith("the service could not store this read: ")
    assert raw6 == ["\\ud800"]  # kept, escaped
    if nul_stored:
        assert sorted(quarantined) == [2, 3, 6]
    else:  # PostgreSQL refused the read: the rest of its batch is stored all the same
        assert sorted(quarantined) == [2, 3, 4, 6]
        assert quarantined[4].startswith("the service could not store this read: ")
