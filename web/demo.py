"""`retrotime demo`: a whole simulated race through real pseudo-serial ports.

It writes the sample event to a temporary folder (gun in a few seconds, today),
opens one pseudo-terminal per reader, streams each reader's simulated lines into
it in its own hardware format on an accelerated race clock, starts one real
`retrotime agent` process per reader reading the other end through pyserial and
uplinking over websockets, and serves the live pages. Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tty
from datetime import datetime, timedelta
from pathlib import Path

from readers.simulator import simulate, stream_live
from timing.folder import EventFolder, load_folder
from web.course import course_from_folder

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "riverside"


def write_event(folder: Path, ports: dict[str, str], lead_s: int = 10) -> None:
    """The sample event, moved to today with its first gun `lead_s` from now."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("participants.csv", "records.csv"):
        shutil.copy(SAMPLE / name, folder / name)
    text = (SAMPLE / "event.toml").read_text(encoding="utf-8")
    tz = load_folder(SAMPLE).event.timezone
    now = datetime.now(tz)
    starts = [datetime.strptime(s, "%H:%M:%S") for s in re.findall(r'start = "([\d:]+)"', text)]
    shift = (now + timedelta(seconds=lead_s)).replace(
        microsecond=0, tzinfo=None
    ) - datetime.combine(now.date(), min(starts).time())
    text = re.sub(r'date = "[\d-]+"', f'date = "{now.date().isoformat()}"', text, count=1)
    text = re.sub(
        r'start = "([\d:]+)"',
        lambda m: (
            'start = "'
            + (
                datetime.combine(now.date(), datetime.strptime(m.group(1), "%H:%M:%S").time())
                + shift
            ).strftime("%H:%M:%S")
            + '"'
        ),
        text,
    )
    for reader, port in ports.items():
        text = re.sub(rf'(id = "{reader}"\nformat = "[^"]+"\nport = )"[^"]*"', rf'\1"{port}"', text)
    (folder / "event.toml").write_text(text, encoding="utf-8")


def open_ports(readers: list[str]) -> dict[str, tuple[int, int, str]]:
    """A pseudo-terminal per reader: (master fd, slave fd, slave path)."""
    ports = {}
    for reader in readers:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo or line editing before the agent opens it
        ports[reader] = (master, slave, os.ttyname(slave))
    return ports


def start_streams(
    folder: EventFolder,
    ports: dict[str, tuple[int, int, str]],
    speed: float,
    seed: int,
    stop: threading.Event,
) -> list[threading.Thread]:
    sim = simulate(course_from_folder(folder), seed)
    first_gun = min(w.gun_ms for race in folder.event.races for w in race.waves)
    started = time.monotonic()
    threads = []
    for reader, (master, _slave, _path) in ports.items():
        thread = threading.Thread(
            target=stream_live,
            args=(sim, reader, master, speed, stop),
            kwargs={"start_ms": first_gun - 5_000, "started_at": started, "write_timeout": 60.0},
            name=f"reader {reader}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    return threads


def start_agents(
    folder: EventFolder,
    ports: dict[str, tuple[int, int, str]],
    tokens: dict[str, str],
    server: str,
    workdir: Path,
) -> list[subprocess.Popen]:
    agents = []
    for reader, (_m, _s, path) in ports.items():
        config = folder.event.readers[reader]
        env = {**os.environ, "RETROTIME_AGENT_TOKEN": tokens[reader]}
        command = agent_command(
            reader,
            path,
            config.format,
            folder.event.timezone.key,
            server,
            workdir / f"agent-{reader}.db",
        )
        with (workdir / f"agent-{reader}.log").open("w") as log:
            # A session of its own: Ctrl-C reaches the demo, which stops agents in order.
            agents.append(
                subprocess.Popen(
                    command, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True
                )
            )
    return agents


def agent_command(
    reader: str, port: str, fmt: str, tz_name: str, server: str, journal: Path
) -> list[str]:
    """`retrotime agent` as a child process (its token goes in RETROTIME_AGENT_TOKEN,
    so it is not on the command line for `ps` to show)."""
    return [
        sys.executable,
        "-m",
        "web.cli",
        "agent",
        "--reader",
        reader,
        "--port",
        port,
        "--format",
        fmt,
        "--timezone",
        tz_name,
        "--server",
        server,
        "--journal",
        str(journal),
    ]


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="retrotime-demo-"))


def new_password() -> str:
    return secrets.token_urlsafe(9)


def stop_all(
    agents: list[subprocess.Popen], stop: threading.Event, ports: dict[str, tuple[int, int, str]]
) -> None:
    stop.set()
    for agent in agents:
        agent.terminate()
    for agent in agents:
        try:
            agent.wait(timeout=10)
        except subprocess.TimeoutExpired:
            agent.kill()
    for master, slave, _path in ports.values():
        os.close(master)
        os.close(slave)
