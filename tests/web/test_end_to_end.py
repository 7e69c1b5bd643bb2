"""All real: pseudo-terminal reader -> pyserial -> agent process -> websocket -> service ->
SQLite -> Channels -> websocket spectator (the `websockets` library) sees the finisher;
the same race scored by replay gives the same results."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import tty
from pathlib import Path
from zoneinfo import ZoneInfo

import websockets

from readers.formats import get_format
from readers.read import FormatContext, Read
from tests.net import ServerThread, free_port
from tests.web.conftest import TOKENS, gun_ms, make_settings
from timing.folder import load_folder
from timing.store import Store
from web.app import create_app
from web.demo import agent_command
from web.replay import replay


def race_lines(gun: int) -> dict[str, list[Read]]:
    """Two runners, both chips, 5 reads per chip per line, like a real mat."""
    lines: dict[str, list[Read]] = {"START": [], "MID": [], "FIN": []}
    for bib, finish in ((101, 5_400_000), (102, 5_700_000)):
        for reader, antenna, t in (
            ("START", 1, 3_000),
            ("MID", 1, finish // 2),
            ("MID", 2, finish // 2 + 1_500),
            ("FIN", 2, finish),
        ):
            for chip, lead in ((f"B{bib:04d}", 0), (f"F{bib:04d}", 150)):
                for k in range(5):
                    lines[reader].append(
                        Read(
                            reader,
                            chip,
                            antenna,
                            gun + t + lead + k * 80,
                            -70.0 + 8 * (2 - abs(k - 2)),
                        )
                    )
    for reads in lines.values():
        reads.sort(key=lambda r: r.time_ms)
    return lines


async def watch_for_finish(url: str, bib: str, time_text: str, seconds: float) -> dict:
    """The spectator's view until `bib` shows as a finisher in `time_text` (a finish read
    may arrive before the start mat's reads: the time is corrected when they do)."""
    async with websockets.connect(url) as ws:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
            for row in message["rows"]:
                if row["bib"] == bib and row["status"] == "FIN" and row["time"] == time_text:
                    return row
    raise AssertionError(f"bib {bib} never finished on the spectator socket")


def test_reader_to_spectator_and_replay_agree(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    port = free_port()
    fmt = get_format("retrotime-csv")
    ctx = FormatContext("FIN", ZoneInfo("Europe/London"))
    lines = race_lines(gun_ms(settings))
    ptys = {}
    agents = []
    with ServerThread(create_app(settings), port):
        try:
            for reader in lines:
                master, slave = os.openpty()
                tty.setraw(slave)
                ptys[reader] = (master, slave)
                agents.append(
                    subprocess.Popen(
                        agent_command(
                            reader,
                            os.ttyname(slave),
                            "retrotime-csv",
                            "Europe/London",
                            f"ws://127.0.0.1:{port}/uplink",
                            tmp_path / f"agent-{reader}.db",
                        ),
                        env={**os.environ, "RETROTIME_AGENT_TOKEN": TOKENS[reader]},
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            for reader, reads in lines.items():
                payload = "".join(fmt.emit(r, ctx) + "\n" for r in reads) + "garbage,line\n"
                os.write(ptys[reader][0], payload.encode())
            url = f"ws://127.0.0.1:{port}/ws/races/half"
            row = asyncio.run(watch_for_finish(url, "102", "1:34:57.0", 30))
            assert row["place"] == 2
            live = json.loads(_get(port, "/api/races/half"))["rows"]
        finally:
            for agent in agents:
                agent.terminate()
                agent.wait(10)
            for master, slave in ptys.values():
                os.close(master)
                os.close(slave)

    # The same reads as log files, scored by replay into a fresh journal.
    logs = []
    for reader, reads in lines.items():
        path = tmp_path / f"{reader}.log"
        path.write_text("".join(fmt.emit(r, ctx) + "\n" for r in reads))
        logs.append((reader, path))
    results, _ = replay(
        load_folder(settings.event_dir), Store(f"sqlite:///{tmp_path / 'replay.db'}"), logs
    )
    replayed = {r.bib: r for r in results.races[0].results}
    for row in live:
        if row["status"] == "FIN":
            assert replayed[row["bib"]].place == row["place"]
            assert replayed[row["bib"]].chip_time_ms // 100 == _tenths(row["time"])


def _tenths(text: str) -> int:
    h, m, s = text.split(":")
    return round((int(h) * 3600 + int(m) * 60 + float(s)) * 10)


def _get(port: int, path: str) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.read().decode()
