"""The files of an event folder as spreadsheets and editors really save them: a wrong
encoding, an oversized field or a folder where a file should be is a problem with the
file and line, never a traceback."""

import shutil
from pathlib import Path

import pytest

from tests.timing.builders import EVENT_TOML, line_of, person, problems, write_folder
from timing.folder import load_folder

ACCENTED = [person(101), {**person(102), "first_name": "Søren", "last_name": "Ågren"}]


def resave(path: Path, encoding: str, old: str = "", new: str = "") -> None:
    path.write_bytes(path.read_text(encoding="utf-8").replace(old, new).encode(encoding))


def test_latin1_participants_are_named_with_the_line(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, ACCENTED)
    resave(folder / "participants.csv", "latin-1")
    assert problems(folder) == [
        "participants.csv:3: -: is not UTF-8: byte 0xF8 ('ø' in Latin-1); it looks like "
        "Latin-1 (ISO-8859-1) or Windows-1252: save it as UTF-8 (in a spreadsheet: CSV UTF-8)"
    ]


def test_windows_1252_participants_are_named(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, [person(101), {**person(102), "last_name": "O’Neill"}])
    resave(folder / "participants.csv", "cp1252")
    [found] = problems(folder)
    assert found.startswith("participants.csv:3: -: is not UTF-8: byte 0x92")
    assert "it looks like Windows-1252" in found


def test_utf16_participants_with_a_bom_are_read(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, ACCENTED)
    resave(folder / "participants.csv", "utf-16")
    people = load_folder(folder).participants
    assert [p.name for p in people] == ["Runner101 Retro", "Søren Ågren"]


def test_utf16_participants_without_a_bom_say_so(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, ACCENTED)
    resave(folder / "participants.csv", "utf-16-le")
    assert problems(folder) == [
        "participants.csv:1: -: contains NUL bytes (UTF-16 without a byte order mark?): "
        "save it as UTF-8"
    ]


def test_an_age_in_superscript_digits_is_no_age(tmp_path: Path) -> None:
    header = ["bib", "first_name", "last_name", "sex", "age", "race", "wave", "chip_front"]
    people = [{k: v for k, v in person(101).items() if k in header} | {"age": "²"}]
    found = problems(write_folder(tmp_path, people, header=header))
    assert found == ["participants.csv:2: age: '²' is not an age in years (3 to 120)"]


def test_a_birth_date_after_race_day_is_a_problem(tmp_path: Path) -> None:
    found = problems(write_folder(tmp_path, [person(101, birth="2099-01-01")]))
    assert found == [
        "participants.csv:2: birth_date: 2099-01-01 gives an age of -73 on race day "
        "(2026-04-12), not 3 to 120"
    ]


def test_a_field_over_the_csv_limit_is_a_problem_with_its_line(tmp_path: Path) -> None:
    people = [person(101), person(102), {**person(103), "club": "x" * 140_000}]
    found = problems(write_folder(tmp_path, people))
    assert found == [
        "participants.csv:4: -: field larger than field limit (131072); the rows after it not read"
    ]


@pytest.mark.parametrize("name", ["participants.csv", "event.toml", "records.csv"])
def test_a_folder_where_the_file_should_be(tmp_path: Path, name: str) -> None:
    folder = write_folder(tmp_path / "ev")
    target = folder / name
    if target.exists():
        target.unlink()
    target.mkdir()
    assert problems(folder) == [f"{name}: -: {target} is a folder; it must be a file"]


def test_event_toml_in_utf16_says_so(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    resave(folder / "event.toml", "utf-16")
    assert problems(folder) == ["event.toml:1: -: is saved as UTF-16: save it as UTF-8"]


def test_event_toml_not_in_utf8_names_the_line(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, toml=EVENT_TOML.replace("Half Marathon", "Demi-marathon é"))
    resave(folder / "event.toml", "latin-1")
    [found] = problems(folder)
    line = line_of(EVENT_TOML, "Half Marathon")
    assert found.startswith(f"event.toml:{line}: -: is not UTF-8: byte 0xE9")


def test_records_in_latin1_are_named(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "records.csv").write_bytes(
        "scope,distance_m,time,holder\nworld,5000,0:20:00,José\n".encode("latin-1")
    )
    [found] = problems(folder)
    assert found.startswith("records.csv:2: -: is not UTF-8: byte 0xE9")


def test_a_record_distance_of_inf_is_refused(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "records.csv").write_text("scope,distance_m,time\nworld,inf,0:20:00\n")
    assert problems(folder) == ["records.csv:2: distance_m: 'inf' is not a distance in metres"]


def test_a_missing_folder_file_is_named(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    shutil.move(folder / "participants.csv", tmp_path / "elsewhere.csv")
    assert problems(folder) == ["participants.csv: -: file not found"]


def test_a_misspelt_race_or_wave_names_the_one_meant(tmp_path: Path) -> None:
    people = [{**person(101), "race": "Half"}, {**person(102), "wave": "b"}, person(103)]
    found = problems(write_folder(tmp_path, people))
    assert found == [
        "participants.csv:2: race: unknown race 'Half'; did you mean 'half'?",
        "participants.csv:3: wave: unknown wave 'b' of race 'half'; did you mean 'B'?",
    ]
