"""`retrotime replay` of an LLRP reader's journalled lines, as a timer runs it."""

import json
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from readers.formats import get_format
from readers.read import FormatContext, Read
from tests.timing.builders import EVENT_TOML, person, write_folder
from tests.web.test_cli_replay import write_log
from timing.folder import load_folder
from web.cli import main

FIN = 'id = "FIN"\nformat = "retrotime-csv"\nport = "/dev/null"'


def test_replay_reads_llrp_lines_like_any_reader_log(tmp_path: Path) -> None:
    toml = EVENT_TOML.replace(FIN, 'id = "FIN"\nformat = "llrp"\nport = "tcp://127.0.0.1:5084"')
    runner = person(101) | {"chip_front": "e2000017f00101", "chip_back": "e2000017b00101"}
    folder = write_folder(tmp_path / "ev", people=[runner], toml=toml)
    gun = load_folder(folder).event.races[0].waves[0].gun_ms
    write_log(tmp_path / "start.log", "START",
              [Read("START", "e2000017f00101", 1, gun + 9_000 + k * 100, -60.0) for k in range(3)])
    fmt, ctx = get_format("llrp"), FormatContext("FIN", ZoneInfo("UTC"))
    finish = [Read("FIN", "e2000017b00101", 1, gun + 5_400_000 + k * 250, -70.0 + 5 * k)
              for k in range(3)]  # fmt: skip
    lines = [fmt.emit(r, ctx) for r in finish] + ["e2000017b00101,1,-52,u99"]  # uptime only
    (tmp_path / "fin.llrp").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, [
        "replay", str(folder), "--log", f"START={tmp_path / 'start.log'}",
        "--log", f"FIN={tmp_path / 'fin.llrp'}", "--json", str(tmp_path / "r.json"),
        "--database-url", f"sqlite:///{tmp_path / 'r.db'}",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "reads 6 (6 new" in result.output and "quarantined lines 1" in result.output
    (row,) = json.loads((tmp_path / "r.json").read_text())["races"][0]["results"]
    # the finish is timed at the strongest LLRP read (the third, -60 dBm at +0.5 s)
    assert (row["bib"], row["status"], row["chip_time"]) == ("101", "FIN", "1:29:51.5")
