"""Mutated event folders (the examples' event.toml and participants.csv, bent by
hypothesis) load as a valid event or give a clean list of problems: never a traceback,
never an event holding a value outside its range."""

import math
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import event as note
from hypothesis import strategies as st

from timing.config import Event
from timing.engine import Engine
from timing.errors import FolderError, Problem
from timing.folder import load_folder
from timing.settings import Number, settings_of

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SOURCES = {name: EXAMPLES / name for name in ("riverside", "track")}
FILES = ("event.toml", "participants.csv", "records.csv")

HOSTILE_VALUES = [
    "inf", "-inf", "nan", "-5", "0", "1e308", "99999999999999999999999", "true", '"x"',
    '"Europe"', "[]", '["FIN"]', "{}", "{ a = 1 }", '"2099-01-01"', '""', '"\\u00b2"',
    "-9600", "3", "[1, 2]", '"4:00:00"', '"99:99:99"', "1979-05-27", "07:32:00",
]  # fmt: skip
HOSTILE_CELLS = [
    "", "²", "-1", "999", "2099-01-01", "1900-02-30", "x" * 140_000, '"', "a,b", "\x00",
    "F", "spotter", "half", "5K", "A", "H1", "058003700100", "\r", "é",
]  # fmt: skip


def _mutate_lines(lines: list[str], data: st.DataObject, hostile: list[str], csv: bool) -> None:
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        if not lines:
            return
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        how = data.draw(st.sampled_from(["value", "drop", "copy", "swap", "header", "bytes"]))
        line = lines[i]
        if how == "value" and csv:
            cells = line.split(",")
            cells[data.draw(st.integers(0, len(cells) - 1))] = data.draw(st.sampled_from(hostile))
            lines[i] = ",".join(cells)
        elif how == "value" and "=" in line:
            lines[i] = line.split("=", 1)[0] + "= " + data.draw(st.sampled_from(hostile))
        elif how == "drop":
            del lines[i]
        elif how == "copy":
            lines.insert(i, line)
        elif how == "swap":
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif how == "header" and line.startswith("["):
            lines[i] = data.draw(
                st.sampled_from([line.replace("[[", "[").replace("]]", "]"), line[:-1] + "s]"])
            )
        elif how == "bytes":
            cut = data.draw(st.integers(0, len(line)))
            noise = data.draw(st.text(max_size=4), label="noise")
            lines[i] = line[:cut] + noise + line[cut:]


def _assert_in_range(event: Event) -> None:
    """Every number the event holds is finite and within its setting's bounds."""
    wide = {"timing": {"dedupe_window_s": event.dedupe_window_ms / 1000}}
    for table, values in wide.items():
        for key, value in values.items():
            kind = settings_of(table)[key].kind
            assert isinstance(kind, Number) and kind.low <= value <= kind.high
    for reader in event.readers.values():
        assert math.isfinite(reader.clock_offset_s) and 50 <= reader.baudrate <= 4_000_000
    for race in event.races:
        assert math.isfinite(race.distance_m) and race.distance_m > 0
        assert all(math.isfinite(p.distance_m) and p.distance_m >= 0 for p in race.points)
        assert race.min_lap_ms is None or race.min_lap_ms > 0


def _load(folder: Path) -> None:
    try:
        loaded = load_folder(folder, {"retrotime-csv", "ultra", "ipico", "raceresult", "wiclax"})
    except FolderError as exc:
        note("problems")
        assert exc.problems
        for problem in exc.problems:
            assert isinstance(problem, Problem) and problem.file in FILES
            assert problem.message and "Traceback" not in str(problem)
        return
    note("loads")
    _assert_in_range(loaded.event)
    for person in loaded.participants:
        assert person.age is None or 3 <= person.age <= 120
    Engine(loaded).results()  # a valid event scores (no reads: every runner DNS)


def _folder(tmp_path: Path, data: st.DataObject) -> tuple[Path, str]:
    name = data.draw(st.sampled_from(sorted(SOURCES)), label="example")
    folder = tmp_path / "event"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(SOURCES[name], folder, ignore=shutil.ignore_patterns("logs", "truth.json"))
    return folder, name


FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(data=st.data())
def test_mutated_event_toml_loads_or_lists_problems(tmp_path: Path, data: st.DataObject) -> None:
    folder, _ = _folder(tmp_path, data)
    lines = (folder / "event.toml").read_text(encoding="utf-8").splitlines()
    _mutate_lines(lines, data, HOSTILE_VALUES, csv=False)
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "latin-1"]))
    (folder / "event.toml").write_bytes(
        "\n".join(lines).encode(encoding, errors="replace") + b"\n"
    )
    _load(folder)


@FUZZ
@given(data=st.data())
def test_mutated_participants_load_or_list_problems(tmp_path: Path, data: st.DataObject) -> None:
    folder, _ = _folder(tmp_path, data)
    lines = (folder / "participants.csv").read_text(encoding="utf-8").splitlines()
    _mutate_lines(lines, data, HOSTILE_CELLS, csv=True)
    encoding = data.draw(
        st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"])
    )
    text = "\n".join(lines) + "\n"
    (folder / "participants.csv").write_bytes(text.encode(encoding, errors="replace"))
    _load(folder)
