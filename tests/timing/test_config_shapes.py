"""A bad event.toml gives problems with file, line and key, never a traceback: tables of
the wrong shape, unknown names (with the nearest known one), values out of range."""

from pathlib import Path

import pytest

from tests.timing.builders import EVENT_TOML, line_of, problems, write_folder
from timing.config import Event, Race


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: 'event = "x"\n' + t.replace("[event]", "[old_event]"),
         "event.toml:1: event: must be a table: write [event] with its keys below it"),
        (lambda t: "timing = 3\n" + t.replace("[timing]\n", "[old_timing]\n"),
         "event.toml:1: timing: must be a table"),
        (lambda t: "readers = 5\n" + t.replace("[[readers]]", "[[old_readers]]"),
         "event.toml:1: readers: must be [[readers]] tables, not int 5"),
        (lambda t: 'readers = ["FIN"]\n' + t.replace("[[readers]]", "[[old_readers]]"),
         "event.toml:1: readers: must be [[readers]] tables, not a list holding str 'FIN'"),
        (lambda t: 'races = "half"\n' + t.replace("[[races", "[[old_races"),
         "event.toml:1: races: must be [[races]] tables, not str 'half'"),
        (lambda t: t.replace('ranking = "chip"\n', 'ranking = "chip"\nwaves = ["A"]\n')
         .replace("[[races.waves]]", "[[races.old_waves]]"),
         "races[0].waves: must be [[races.waves]] tables, not a list holding str 'A'"),
        (lambda t: t.replace('ranking = "chip"\n', 'ranking = "chip"\nwaves = ["A"]\n'),
         "not valid TOML: Cannot mutate immutable namespace"),
        (lambda t: t.replace("Europe/London", "Europe"),
         "event.toml:4: event.timezone: 'Europe' is not an IANA timezone"),
        (lambda t: t.replace('date = "2026-04-12"', 'date = "12/04/2026"'),
         "event.toml:3: event.date: '12/04/2026' is not an ISO date"),
        (lambda t: t.replace('name = "Test Retro Half"\n', ""),
         "event.toml:1: event.name: is required"),
        (lambda t: t.replace("distance_m = 21097.5\nchips", "distnace_m = 21097.5\nchips"),
         "races[0].distnace_m: unknown key in [[races]]; did you mean distance_m?"),
        (lambda t: t.replace("clock_offset_s = 1.5", "clock_ofset_s = 1.5"),
         "readers[1].clock_ofset_s: unknown key in [[readers]]; did you mean clock_offset_s?"),
        (lambda t: t + "\n[validation]\npace_tolerence = 0.05\n",
         "validation.pace_tolerence: unknown key in [validation]; did you mean pace_tolerance?"),
        (lambda t: t.replace("[[races.points]]", "[[races.pionts]]", 1),
         "races[0].pionts: unknown key in [[races]]; did you mean points?"),
        (lambda t: "name = 'x'\n" + t, "event.toml:1: name: unknown key outside any table"),
    ],
)  # fmt: skip
def test_a_table_of_the_wrong_shape_is_a_problem_with_its_line(
    tmp_path: Path, edit, expected: str
) -> None:
    found = problems(write_folder(tmp_path, toml=edit(EVENT_TOML)))
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("dedupe_window_s = 3.0", "dedupe_window_s = inf", "timing.dedupe_window_s: inf must be"),
        ("dedupe_window_s = 3.0", "dedupe_window_s = nan", "timing.dedupe_window_s: nan must be"),
        ("dedupe_window_s = 3.0", "dedupe_window_s = -5", "timing.dedupe_window_s: -5 must be a "
         "number from 0.1 to 60 s"),
        ("dedupe_window_s = 3.0", "dedupe_window_s = 0", "timing.dedupe_window_s: 0 must be"),
        ("clock_offset_s = 1.5", "clock_offset_s = inf", "readers[1].clock_offset_s: inf must be"),
        ("clock_offset_s = 1.5", "clock_offset_s = 1.5\nbaudrate = -9600",
         "readers[1].baudrate: -9600 must be a whole number from 50 to 4,000,000"),
        ("clock_offset_s = 1.5", "clock_offset_s = 1.5\nbaudrate = 9600.5",
         "readers[1].baudrate: 9600.5 must be a whole number"),
        ("distance_m = 21097.5\nchips", "distance_m = inf\nchips",
         "races[0].distance_m: inf must be a number from 1 to 1,000,000 m"),
        ("distance_m = 10000", "distance_m = -inf", "races[0].points[1].distance_m: -inf must be"),
        ('cutoff = "4:00:00"', 'cutoff = "4:00:00"\nlap_m = 400\nlaps = 53\nmin_lap_s = inf',
         "races[0].min_lap_s: inf must be a number from 0.1 to 86,400 s"),
        ('cutoff = "4:00:00"', 'cutoff = "0:00:00"', "races[0].cutoff: '0:00:00' must be from"),
        ("antennas = [1, 2]\n\n[[races.points]]\nid = \"10k\"",
         "antennas = [1, 99999999999]\n\n[[races.points]]\nid = \"10k\"",
         "races[0].points[0].antennas: must be a list of antenna numbers"),
        ('chips = ["front", "back"]', 'chips = "front"', "races[0].chips: 'front' must be"),
        ('ranking = "chip"', "ranking = true", "races[0].ranking: True must be \"chip\" or"),
    ],
)  # fmt: skip
def test_every_value_has_a_range(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in EVENT_TOML
    toml = EVENT_TOML.replace(old, new, 1)
    found = problems(write_folder(tmp_path, toml=toml))
    key = expected.split(":")[0].rsplit(".", 1)[-1]
    line = line_of(toml, next(t for t in new.splitlines() if t.startswith(f"{key} =")))
    assert any(p.startswith(f"event.toml:{line}: ") and expected in p for p in found), found


def test_the_model_is_built_by_keyword() -> None:
    with pytest.raises(TypeError):
        Event("x", None, None, {}, ())  # type: ignore[misc]
    with pytest.raises(TypeError):
        Race("half", "Half", 21097.5, ("front",), "chip", None, (), ())  # type: ignore[misc]
