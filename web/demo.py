"""`retrotime demo`: a whole simulated race through real pseudo-serial ports.

It writes the sample event to a temporary folder (gun in a few seconds, today),
opens one pseudo-terminal per reader, streams each reader's simulated lines into
it in its own hardware format on an accelerated race clock, starts one real
`retrotime agent` process per reader reading the other end through pyserial and
uplinking over websockets, and serves the live pages. Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import tty
from datetime import datetime, timedelta
from pathlib import Path

import tomlkit

from readers.simulator import Behaviour, simulate, stream_live
from timing.config import Race
from timing.folder import EventFolder, load_folder
from timing.participants import Participant
from timing.records import RecordBook, load_world_bests, merge_records
from web.course import course_from_folder

RECORD_MARGIN = 0.99  # the record runner runs 1 % under the world best's pace

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "riverside"


def write_event(folder: Path, ports: dict[str, str], lead_s: int = 10) -> None:
    """The sample event, moved to today with its first gun `lead_s` from now, its readers
    on `ports` (edited as TOML, so the sample's comments stay)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("participants.csv", "records.csv"):
        shutil.copy(SAMPLE / name, folder / name)
    text = (SAMPLE / "event.toml").read_text(encoding="utf-8")
    tz = load_folder(SAMPLE).event.timezone
    now = datetime.now(tz)
    first_gun = (now + timedelta(seconds=lead_s)).replace(microsecond=0, tzinfo=None)
    doc = tomlkit.parse(text)
    doc["event"]["date"] = first_gun.date().isoformat()
    moved = iter(_moved_starts(text, first_gun))
    for race in doc["races"]:
        for wave in race["waves"]:
            wave["start"] = next(moved)
    for reader in doc["readers"]:
        if reader["id"] in ports:
            reader["port"] = ports[reader["id"]]
    (folder / "event.toml").write_text(tomlkit.dumps(doc), encoding="utf-8")


def _moved_starts(text: str, first_gun: datetime) -> list[str]:
    """The waves' starts (in file order) moved so the first is at `first_gun`, keeping their
    gaps, or squeezing them so the last still starts on the same day (one date per event)."""
    waves = [wave for race in tomllib.loads(text)["races"] for wave in race["waves"]]
    starts = [datetime.strptime(wave["start"], "%H:%M:%S") for wave in waves]
    offsets = [(s - min(starts)).total_seconds() for s in starts]
    midnight = datetime.combine(first_gun.date(), datetime.min.time()) + timedelta(days=1)
    room = (midnight - first_gun).total_seconds() - 1
    squeeze = min(1.0, room / max(offsets)) if max(offsets) > 0 else 1.0
    return [(first_gun + timedelta(seconds=int(o * squeeze))).strftime("%H:%M:%S") for o in offsets]


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
    sim = simulate(course_from_folder(folder), seed, demo_incidents(folder))
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


def demo_incidents(folder: EventFolder) -> dict[str, list[Behaviour]]:
    """What makes RetroTime different, on four runners of the shortest road race with a
    gate: one on world-record pace (a record claim at the finish), one who turns
    forwards on the way to the first panel, one who runs the gate the wrong way, one who cuts the
    course around the first split. The lowest bibs of the race, so they are easy to find."""
    roads = [r for r in folder.event.races if not r.is_lap_race and len(r.points) > 3]
    gated = [r for r in roads if any(p.is_gate for p in r.points)]
    if not gated:
        return {}
    race = min(gated, key=lambda r: r.distance_m)
    people = sorted(
        (p for p in folder.participants if p.race == race.id and p.role == "runner"),
        key=lambda p: (len(p.bib), p.bib),
    )
    book = RecordBook(merge_records(load_world_bests(), folder.records))
    chasers = [p for p in people if _world_best_ms(book, race, p) is not None]
    if not chasers or len(people) < 4:
        return {}
    chaser = chasers[0]
    best_ms = _world_best_ms(book, race, chaser)
    assert best_ms is not None
    pace = RECORD_MARGIN * best_ms / 1000 / (race.distance_m / 1000)
    others = [p for p in people if p.bib != chaser.bib]
    gate = next(p.id for p in race.points if p.is_gate)
    # Facing shows at a panel that faces oncoming runners: turn forwards on the way there.
    panel = next((i for i, p in enumerate(race.points) if i and p.oncoming), 1)
    return {
        chaser.bib: [Behaviour.steady_pace(pace)],
        others[0].bib: [Behaviour.forward_facing(panel - 1)],
        others[1].bib: [Behaviour.wrong_way(gate)],
        others[2].bib: [Behaviour.missed_split(race.points[1].id)],
    }


def _world_best_ms(book: RecordBook, race: Race, person: Participant) -> int | None:
    world = [
        r
        for r in book.applicable(race.distance_m, person.sex, person.category, person.nation)
        if r.scope == "world"
    ]
    return min((r.time_ms for r in world), default=None)


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
