"""`retrotime check` on a bad event.toml: problems with their line, exit 2, no traceback;
on a good one, the settings the file changes from their default."""

from pathlib import Path

from click.testing import CliRunner

from tests.timing.builders import EVENT_TOML, line_of, write_folder
from timing.folder import load_folder
from web.cli import main


def check(folder: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", str(folder)], terminal_width=250)
    assert isinstance(result.exception, SystemExit | None), result.exception
    return result.exit_code, result.output


def test_an_unknown_table_is_a_problem_that_names_the_table_meant(tmp_path: Path) -> None:
    toml = EVENT_TOML + '\n[rule]\ndq_on = ["WRONG_WAY"]\n'
    code, out = check(write_folder(tmp_path, toml=toml))
    assert code == 2
    assert f"event.toml:{line_of(toml, '[rule]')}: rule: unknown table [rule]; did you mean " \
        "[rules]?" in out  # fmt: skip


def test_readers_written_as_a_table_is_a_problem_with_its_line(tmp_path: Path) -> None:
    toml = EVENT_TOML.replace("[[readers]]", "[readers]", 1).replace("[[readers]]", "[[spare]]")
    code, out = check(write_folder(tmp_path, toml=toml))
    assert code == 2 and "Traceback" not in out
    assert (
        f"event.toml:{line_of(toml, '[readers]')}: readers: must be an array of tables: "
        "write [[readers]] for each"
    ) in out


def test_check_prints_the_settings_changed_from_their_default(tmp_path: Path) -> None:
    toml = EVENT_TOML + "\n[validation]\npace_tolerance = 0.05\nriegel_exponent = 1.06\n"
    code, out = check(write_folder(tmp_path, toml=toml))
    assert code == 0, out
    assert "[validation] pace_tolerance = 0.05 (default 0.03): a segment is implausible" in out
    assert "riegel_exponent" not in out  # given, but at its default
    assert load_folder(tmp_path).event.validation.pace_tolerance == 0.05
