"""Readers that keep their reads, end to end: a simulated device on a real pseudo-terminal,
a real `retrotime agent` process killed with SIGKILL mid-race and restarted, the tests'
uplink server. The agent journals each reader's resume position with its reads and
asks the device only for what it does not hold, so the service holds every passing
exactly once."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from readers.simulator import simulate, stream_live
from readers.simulator.demo import demo_course
from tests.readers.agent_helpers import TOKEN, agent_cli
from tests.readers.serial_helpers import open_pty, wait_until
from tests.readers.sim_courses import RECORDS
from tests.readers.uplink_server import UplinkServer

pytestmark = pytest.mark.timeout(400)


def start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


@pytest.mark.parametrize("fmt", ["raceresult", "ultra"])
def test_agent_killed_twice_mid_race_the_service_holds_each_read_once(
    tmp_path: Path, fmt: str
) -> None:
    sim = simulate(demo_course(seed=3, runners=40, formats={"FIN": fmt}, records=RECORDS), 3)
    want = Counter((r.chip, r.antenna, r.time_ms) for r in sim.reads["FIN"])
    timed = list(sim.timed_lines("FIN"))
    speed = (timed[-1][0] - timed[0][0]) / 12_000  # the race in about 12 s
    server = UplinkServer(tmp_path / "server.db", {"FIN": TOKEN}).start()
    stop = threading.Event()
    procs: list[subprocess.Popen[bytes]] = []
    stream: threading.Thread | None = None
    with open_pty() as pty:
        cmd = agent_cli(pty.name, fmt, server.url, tmp_path / "agent.db")
        try:
            procs.append(start(cmd, tmp_path / "agent-0.log"))
            wait_until(lambda: len(server.hellos) == 1, timeout=30)
            stream = threading.Thread(
                target=stream_live,
                args=(sim, "FIN", pty.master, speed, stop),
                kwargs={"write_timeout": 0.5},
                daemon=True,
            )
            stream.start()
            for n, share in enumerate((0.25, 0.6), start=1):
                mark = int(sum(want.values()) * share)
                wait_until(lambda mark=mark: len(server.stored("FIN")) >= mark, timeout=60)
                procs[-1].send_signal(signal.SIGKILL)
                procs[-1].wait(10)
                time.sleep(0.5)  # the race goes on while no agent reads the port
                procs.append(start(cmd, tmp_path / f"agent-{n}.log"))
                # A loaded machine can take many seconds to start a Python process.
                wait_until(lambda n=n: len(server.hellos) > n, timeout=90)
            wait_until(lambda: len(server.stored("FIN")) >= sum(want.values()), timeout=90)
            time.sleep(1.5)  # anything sent twice would arrive by now
        finally:
            stop.set()
            if stream is not None:
                stream.join(15)  # before the pty closes under it
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
            server.stop()
    rows = server.query(
        "SELECT chip, antenna, time_ms FROM entries WHERE reader = 'FIN' AND kind = 'read'"
    )
    assert Counter(rows) == want  # every read of the race, none twice
    resumed = (tmp_path / "agent-2.log").read_text()
    assert "resumes at" in resumed
