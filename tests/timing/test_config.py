"""The folder validator: every problem at once, each with file, line and field."""

import re
from dataclasses import fields
from pathlib import Path

from tests.timing.builders import EVENT_TOML, person, problems, write_folder
from timing.config import ReaderConfig, Validation
from timing.folder import load_folder
from timing.settings import REQUIRED, SETTINGS, defaults, readme_table


def test_good_folder_loads(tmp_path: Path) -> None:
    folder = load_folder(write_folder(tmp_path))
    race = folder.event.races[0]
    assert [p.id for p in race.points] == ["start", "10k", "finish"]
    assert race.start_point is not None and race.points[1].is_gate
    assert folder.event.readers["MID"].clock_offset_ms == 1500
    assert folder.event.dedupe_window_ms == 3000
    assert folder.participants[2].category == "F65-69"  # born 1960, race on 2026-04-12


def test_all_event_problems_reported_with_lines(tmp_path: Path) -> None:
    bad = (
        EVENT_TOML.replace('reader = "MID"', 'reader = "MIDDLE"')
        .replace("distance_m = 10000", "distance_m = 25000")
        .replace('start = "09:10:00"', 'start = "9h10"')
        .replace('cutoff = "4:00:00"', 'cutoff = "four hours"')
    )
    found = problems(write_folder(tmp_path, toml=bad))
    lines = bad.splitlines()

    def line_of(text: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if text in line)

    reader_line = line_of('"MIDDLE"')
    assert (
        f"event.toml:{reader_line}: races[0].points[1].reader: unknown reader 'MIDDLE' "
        "(readers: FIN, MID, START)"
    ) in found
    assert any(
        p.startswith(f"event.toml:{line_of('9h10')}: races[0].waves[1].start") for p in found
    )
    assert any(p.startswith(f"event.toml:{line_of('four hours')}: races[0].cutoff") for p in found)
    assert any(
        "races[0].points[2].distance_m: 21097.5 m is not after the previous point '10k'" in p
        for p in found
    )


def test_unknown_format_reported(tmp_path: Path) -> None:
    found = problems(write_folder(tmp_path), formats={"ultra"})
    assert any("readers[0].format: unknown reader format 'retrotime-csv'" in p for p in found)


def test_gate_needs_both_lines(tmp_path: Path) -> None:
    bad = EVENT_TOML.replace("downstream = [2]\n", "")
    assert any(
        "a gate needs both upstream" in p for p in problems(write_folder(tmp_path, toml=bad))
    )


def test_participant_problems_with_line_numbers(tmp_path: Path) -> None:
    people = [person(101), person(101), person(103), person(104), person(105), person(106)]
    people[2] = {**people[2], "chip_back": "F0101"}  # a chip shared by two bibs
    people[3] = {**people[3], "race": "full"}
    people[4] = {**people[4], "wave": "Z", "sex": "Q"}
    people[5] = {**people[5], "birth_date": "12/05/1980"}
    found = problems(write_folder(tmp_path, people))
    assert "participants.csv:3: bib: duplicate bib '101' (first on line 2)" in found
    assert any(p.startswith("participants.csv:4: chip_back: chip 'F0101' is shared") for p in found)
    assert "participants.csv:5: race: unknown race 'full'" in found
    assert "participants.csv:6: sex: 'Q' must be F, M or X" in found
    assert "participants.csv:6: wave: unknown wave 'Z' of race 'half'" in found
    assert any(p.startswith("participants.csv:7: birth_date:") for p in found)


def test_participants_any_order_bom_and_extra_columns(tmp_path: Path) -> None:
    write_folder(tmp_path)
    (tmp_path / "participants.csv").write_text(
        "\ufeffwave,race,chip_back,chip_front,sex,age,last_name,first_name,bib,tshirt\n"
        "A,half,B1,F1,m,44,Gaston,Ana,7,XL\n",
        encoding="utf-8",
    )
    person_ = load_folder(tmp_path).participants[0]
    assert (person_.bib, person_.sex, person_.age, person_.category) == ("7", "M", 44, "M40-44")
    assert person_.extra == {"tshirt": "XL"}


def test_records_file_validated(tmp_path: Path) -> None:
    write_folder(tmp_path)
    (tmp_path / "records.csv").write_text(
        "scope,distance_m,sex,category,time,holder,nation,date,venue,source\n"
        "world,42195,M,,3:43:39,Xu Zhenjun,CHN,2004-10-17,Beijing,Guinness\n"
        "galaxy,-5,M,,fast,Nobody,,,,\n",
        encoding="utf-8",
    )
    found = problems(tmp_path)
    assert "participants.csv" not in " ".join(found)
    assert any(p.startswith("records.csv:3: scope:") for p in found)
    assert any(p.startswith("records.csv:3: distance_m:") for p in found)
    assert any(p.startswith("records.csv:3: time:") for p in found)


def test_validation_rules_and_records_tables(tmp_path: Path) -> None:
    toml = EVENT_TOML + (
        "\n[validation]\npace_tolerance = 0.05\nfacing_min_reads = 6\nchip_gap_s = 8\n"
        '\n[rules]\ndq_on = ["WRONG_WAY", "CHIP_SEPARATED"]\n'
        "\n[records]\nwatch_margin = 0.1\nworld_bests = false\n"
    )
    event = load_folder(write_folder(tmp_path, toml=toml)).event
    assert event.validation.pace_tolerance == 0.05
    assert event.validation.facing_min_reads == 6 and event.validation.chip_gap_s == 8.0
    assert event.validation.riegel_exponent == 1.06  # a default
    assert event.dq_on == ("WRONG_WAY", "CHIP_SEPARATED")
    assert (event.watch_margin, event.world_bests) == (0.1, False)


def test_validation_defaults(tmp_path: Path) -> None:
    event = load_folder(write_folder(tmp_path)).event
    assert event.validation.pace_tolerance == 0.03
    assert (event.dq_on, event.watch_margin, event.world_bests) == ((), 0.05, True)


def test_bad_validation_keys_reported_with_lines(tmp_path: Path) -> None:
    toml = EVENT_TOML + (
        '\n[validation]\npace_tolerance = 0.9\nfacing_min_db = "loud"\nsnooze = 1\n'
        '\n[rules]\ndq_on = ["WALKING"]\n'
        "\n[records]\nwatch_margin = -1\n"
    )
    found = problems(write_folder(tmp_path, toml=toml))
    lines = toml.splitlines()

    def at(text: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if line.startswith(text))

    assert any(
        p.startswith(f"event.toml:{at('pace_tolerance')}: validation.pace_tolerance: 0.9")
        for p in found
    )
    assert f"event.toml:{at('facing_min_db')}: validation.facing_min_db: must be a number" in found
    assert any(
        p.startswith(f"event.toml:{at('snooze')}: validation.snooze: unknown key") for p in found
    )
    assert any(
        p.startswith(f"event.toml:{at('dq_on')}: rules.dq_on: must be a list of flag codes")
        for p in found
    )
    assert any(
        p.startswith(f"event.toml:{at('watch_margin')}: records.watch_margin:") for p in found
    )


def test_readme_documents_every_key_with_its_default_and_range() -> None:
    """The README's key table is the settings table, row for row (regenerate it with
    `python -m timing.settings`)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme_table()
    assert table in readme
    key_row = re.compile(r"^\| `\[\[?[\w.]+\]\]? \w+` \|")
    rows = [line for line in readme.splitlines() if key_row.match(line)]
    assert rows == table.splitlines()[2:]  # no other key row, none twice
    documented = {row.split(" | ")[0][3:-1]: row.split(" | ")[1] for row in rows}
    assert documented["[validation] pace_tolerance"] == "`0.03`"
    assert documented["[[readers]] baudrate"] == "`9600`"
    assert len(documented) == len(SETTINGS)


def test_the_models_take_their_defaults_from_the_settings_table() -> None:
    assert {f.name: f.default for f in fields(Validation)} == defaults("validation")
    reader = {f.name: f.default for f in fields(ReaderConfig)}
    assert reader.keys() == defaults("readers").keys()
    assert all(reader[k] == v for k, v in defaults("readers").items() if v is not REQUIRED)


def test_a_short_row_says_so(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    with (folder / "participants.csv").open("a", encoding="utf-8") as handle:
        handle.write("999,Extra\n")
    found = problems(folder)
    assert "participants.csv:6: -: 9 field(s) fewer than the header has columns" in found
