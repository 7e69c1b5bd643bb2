"""`retrotime check` and `retrotime replay` as a timer runs them."""

import json
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from readers.formats import get_format
from readers.read import FormatContext, Read
from tests.timing.builders import write_folder
from timing.folder import load_folder
from web.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "riverside"


def write_log(path: Path, reader: str, reads: list[Read], garbage: list[str] = ()) -> Path:
    fmt = get_format("retrotime-csv")
    ctx = FormatContext(reader, ZoneInfo("Europe/London"))
    lines = [fmt.emit(r, ctx) for r in reads] + list(garbage)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_check_example_prints_summary() -> None:
    result = CliRunner().invoke(main, ["check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Riverside Retro Run" in result.output and "200 participants" in result.output


def test_check_bad_folder_lists_every_problem(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    text = (folder / "event.toml").read_text().replace('reader = "FIN"', 'reader = "FINISH"')
    (folder / "event.toml").write_text(
        text.replace(
            'format = "retrotime-csv"\nport = "/dev/null"\nclock_offset_s',
            'format = "jchip"\nport = "/dev/null"\nclock_offset_s',
        )
    )
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code == 2
    assert "unknown reader 'FINISH'" in result.output
    assert "unknown reader format 'jchip'" in result.output


def test_replay_is_idempotent_and_quarantines_bad_lines(tmp_path: Path, database_url: str) -> None:
    """On the SQLite file and on PostgreSQL alike."""
    folder = write_folder(tmp_path / "ev")
    gun = load_folder(folder).event.races[0].waves[0].gun_ms
    start = [Read("START", "F0101", 1, gun + 9_000 + k * 100, -60.0 + k) for k in range(4)]
    finish = [Read("FIN", "B0101", 2, gun + 5_400_000 + k * 100, -55.0) for k in range(4)]
    stray = [Read("FIN", "SPECTATOR7", 1, gun + 5_000_000, None)]
    write_log(tmp_path / "start.log", "START", start)
    write_log(tmp_path / "fin.log", "FIN", finish + stray, garbage=["FIN,garbage", "\x00\x01"])
    args = [
        "replay",
        str(folder),
        "--log",
        f"START={tmp_path / 'start.log'}",
        "--log",
        f"FIN={tmp_path / 'fin.log'}",
        "--json",
        str(tmp_path / "r.json"),
        "--database-url",
        database_url,
    ]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "reads 9 (9 new" in first.output and "quarantined lines 2" in first.output
    data = json.loads((tmp_path / "r.json").read_text())
    result = data["races"][0]["results"][0]
    assert (result["bib"], result["status"], result["chip_time"]) == (
        "101",
        "FIN",
        "1:29:50.7",
    )  # peak RSSI at the start, first read at a flat finish
    assert data["unknown_chips"][0]["chip"] == "SPECTATOR7"
    assert data["quarantined_lines"] == 2

    again = CliRunner().invoke(main, [*args, "--table"])
    assert again.exit_code == 0, again.output
    assert "reads 9 (0 new, 11 lines already stored)" in again.output
    assert json.loads((tmp_path / "r.json").read_text())["races"] == data["races"]


def test_replay_rejects_unknown_reader(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "ev")
    (tmp_path / "x.log").write_text("")
    result = CliRunner().invoke(
        main, ["replay", str(folder), "--log", f"NOPE={tmp_path / 'x.log'}"]
    )
    assert result.exit_code == 2 and "unknown reader 'NOPE'" in result.output


def test_simulate_live_streams_each_reader_to_its_port(tmp_path: Path) -> None:
    """`retrotime simulate --live`: every reader's lines reach its serial port, in the
    reader's format, on an accelerated race clock."""
    import os
    import select
    import threading
    import time
    import tty

    from readers.simulator import simulate
    from web.course import course_from_folder

    folder = write_folder(tmp_path / "ev")
    ports = {}
    for reader in ("START", "MID", "FIN"):
        master, slave = os.openpty()
        tty.setraw(slave)
        ports[reader] = (master, slave)
    text = (folder / "event.toml").read_text()
    for reader, (_m, slave) in ports.items():
        text = text.replace(
            f'id = "{reader}"\nformat = "retrotime-csv"\nport = "/dev/null"',
            f'id = "{reader}"\nformat = "retrotime-csv"\nport = "{os.ttyname(slave)}"',
        )
    (folder / "event.toml").write_text(text)
    received = {reader: bytearray() for reader in ports}
    done = threading.Event()

    def drain() -> None:
        fds = {m: r for r, (m, _s) in ports.items()}
        while not done.is_set():
            ready, _, _ = select.select(list(fds), [], [], 0.1)
            for fd in ready:
                received[fds[fd]] += os.read(fd, 65536)

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    result = CliRunner().invoke(
        main, ["simulate", str(folder), "--live", "--speed", "200000", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    sim = simulate(course_from_folder(load_folder(folder)), 3)
    for reader in ports:
        expected = len(list(sim.lines(reader)))
        deadline = time.monotonic() + 10
        while received[reader].count(b"\n") < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = received[reader].decode().splitlines()
        assert lines == list(sim.lines(reader))
    done.set()
    drainer.join(2)
    for master, slave in ports.values():
        os.close(master)
        os.close(slave)
