"""One writer, one fan-out worker, one event: the writer's updates reach the phones of a
fan-out worker (web/fanout.py, no engine of its own) through Redis, a phone that opens
the board there late gets what the writer stored in its snapshot, and a phone that
reconnects from a worker further on resumes by number."""

from __future__ import annotations

import asyncio
import json
import threading
from asyncio import FIRST_COMPLETED
from contextlib import suppress
from pathlib import Path

from litestar.testing import TestClient
from websockets.asyncio.server import serve
from websockets.sync.client import connect

from tests.net import free_port
from tests.web.conftest import gun_ms, make_settings, read
from tests.web.test_live_service import uplink, wait_for
from web.app import create_app
from web.fanout import Fanout
from web.settings import Settings


class FanOut:
    """A fan-out worker for the event of `settings` on a real port, its event loop in a
    thread. With `follow=False` it hears nothing by itself (no Redis, no polling): its
    board moves on only when the test calls `resync()`."""

    def __init__(self, settings: Settings, follow: bool = True) -> None:
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self.worker = Fanout(["half"], settings.database_url, settings.redis_url)
        self.follow = follow
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        listening = asyncio.Event()
        self.task = asyncio.create_task(
            self.worker.serve("127.0.0.1", self.port, listening)
            if self.follow
            else self._serve_only(listening)
        )
        started = asyncio.create_task(listening.wait())
        await asyncio.wait([self.task, started], timeout=10, return_when=FIRST_COMPLETED)
        started.cancel()
        self._ready.set()
        with suppress(asyncio.CancelledError):
            await self.task

    async def _serve_only(self, listening: asyncio.Event) -> None:
        worker = self.worker
        await worker.resync("half")
        async with serve(
            worker.spectator, "127.0.0.1", self.port, process_request=worker.http, compression=None
        ) as server:
            listening.set()
            await server.serve_forever()

    def resync(self) -> None:
        asyncio.run_coroutine_threadsafe(self.worker.resync("half"), self.loop).result(10)

    def __enter__(self) -> FanOut:
        self._thread.start()
        assert self._ready.wait(15), "the fan-out worker did not start"
        assert not self.task.done(), "the fan-out worker stopped"
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.task.cancel)
        self._thread.join(10)


def test_update_ingested_by_the_writer_reaches_a_spectator_on_a_fanout_worker(
    tmp_path: Path, redis_url: str
) -> None:
    settings = make_settings(tmp_path, redis_url=redis_url)
    with (
        TestClient(create_app(settings)) as writer,
        FanOut(settings) as fanout,
        connect(f"{fanout.url}/ws/races/half", open_timeout=5) as phone,
    ):
        assert json.loads(phone.recv(timeout=5))["type"] == "snapshot"
        g = gun_ms(settings)
        uplink(writer, "START", [read(1, "F0101", 1, g + 4_000)])
        uplink(writer, "FIN", [read(1, "F0101", 1, g + 3_600_000)])
        for _ in range(20):
            message = json.loads(phone.recv(timeout=5))
            if any(r["bib"] == "101" and r["status"] == "FIN" for r in message["rows"]):
                break
        else:
            raise AssertionError("the finisher never reached the fan-out worker's spectator")
        assert message["type"] == "update"


def test_a_spectator_who_connects_late_to_a_fanout_worker_gets_the_finisher(
    tmp_path: Path, redis_url: str
) -> None:
    """The phone opens the board after the finish was stored: its first message, the
    snapshot, already shows the finisher."""
    settings = make_settings(tmp_path, redis_url=redis_url)
    with TestClient(create_app(settings)) as writer, FanOut(settings) as fanout:
        uplink(writer, "FIN", [read(1, "F0102", 1, gun_ms(settings) + 3_700_000)])
        for _ in range(50):  # the worker hears of it within moments; each try is bounded
            with connect(f"{fanout.url}/ws/races/half", open_timeout=5) as phone:
                first = json.loads(phone.recv(timeout=5))
            assert first["type"] == "snapshot"
            if any(r["bib"] == "102" and r["status"] == "FIN" for r in first["rows"]):
                break
            threading.Event().wait(0.2)
        else:
            raise AssertionError("a late spectator never got the stored finisher")


def test_a_phone_ahead_of_the_worker_it_reconnects_to_resumes_by_number(tmp_path: Path) -> None:
    """A phone whose worker was killed lands on one that has not yet heard the last
    update the phone saw: it is not sent back to an older board (a reload) but resumes
    with the next update."""
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as writer, FanOut(settings, follow=False) as fanout:
        outbox = fanout.worker.outbox
        uplink(writer, "START", [read(1, "F0101", 1, gun_ms(settings) + 4_000)])
        wait_for(lambda: outbox.last_seqs().get("half", 0) >= 2)
        # This worker still holds update 1; the phone saw 2 on the worker it lost.
        with connect(f"{fanout.url}/ws/races/half?since=2", open_timeout=5) as phone:
            uplink(writer, "START", [read(2, "F0102", 1, gun_ms(settings) + 5_000)])
            wait_for(lambda: outbox.last_seqs()["half"] >= 3)
            fanout.resync()  # the worker hears of update 3
            first = json.loads(phone.recv(timeout=5))
        assert (first["type"], first["seq"]) == ("update", 3), (first["type"], first["seq"])


def test_a_phone_from_before_a_new_workers_snapshot_resumes_by_number(
    tmp_path: Path, monkeypatch
) -> None:
    """A worker started after the writer took a snapshot still has the updates before
    it: a phone that was behind (on a worker now gone) gets them, not a reload."""
    monkeypatch.setattr("web.live.SNAPSHOT_EVERY", 3)
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as writer:
        outbox_seq = 1
        for n, chip in enumerate(["F0101", "F0102", "F0103"], start=1):
            uplink(writer, "START", [read(n, chip, 1, gun_ms(settings) + 4_000 + n * 1_000)])
            wait_for(lambda seen=outbox_seq: writer.app.state.live.feeds["half"].seq > seen)
            outbox_seq = writer.app.state.live.feeds["half"].seq
        assert outbox_seq >= 3  # a snapshot was taken at update 3
        with (
            FanOut(settings, follow=False) as fanout,
            connect(f"{fanout.url}/ws/races/half?since=1", open_timeout=5) as phone,
        ):
            first = json.loads(phone.recv(timeout=5))
    assert (first["type"], first["seq"]) == ("update", 2), (first["type"], first["seq"])
