"""`retrotime publish` and `retrotime evidence` as a timer runs them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from click.testing import CliRunner

from results.evidence import verify
from tests.results.conftest import EXAMPLE, GENERATED, Example, copy_journal
from timing.store import Store
from web.cli_publish import evidence, publish

WHEN = GENERATED.isoformat()


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_publish_rebuilds_the_site_from_the_journal(
    example: Example, site: Path, tmp_path: Path
) -> None:
    out = tmp_path / "www"
    args = [str(EXAMPLE), "--out", str(out), "--database-url", example.url]
    result = CliRunner().invoke(publish, [*args, "--generated-at", WHEN])
    assert result.exit_code == 0, result.output
    assert "256 files" in result.output  # pages, downloads, manifest, 3 static files
    assert files(out) == files(site)  # the same bytes as the library call

    again = CliRunner().invoke(publish, [*args, "--generated-at", WHEN])
    assert again.exit_code == 0, again.output  # an earlier site is replaced, not refused


def test_publish_refuses_a_folder_that_is_not_a_site(example: Example, tmp_path: Path) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    args = [str(EXAMPLE), "--out", str(out), "--database-url", example.url]
    refused = CliRunner().invoke(publish, args)
    assert refused.exit_code == 2
    assert "not a site RetroTime published" in refused.output
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    forced = CliRunner().invoke(publish, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert (out / "notes.txt").read_text() == "keep" and (out / "index.html").is_file()


def test_generated_at_from_option_or_source_date_epoch(example: Example, tmp_path: Path) -> None:
    args = [str(EXAMPLE), "--database-url", example.url]
    bad = CliRunner().invoke(publish, [*args, "--out", str(tmp_path / "a"), "--generated-at", "x"])
    assert bad.exit_code == 2 and "is not an ISO 8601 time" in bad.output
    epoch = CliRunner().invoke(
        publish, [*args, "--out", str(tmp_path / "b")], env={"SOURCE_DATE_EPOCH": "1776013200"}
    )
    assert epoch.exit_code == 0, epoch.output
    index = (tmp_path / "b" / "index.html").read_text(encoding="utf-8")
    assert "Results generated 2026-04-12T17:00:00+00:00 by RetroTime." in index


def test_evidence_command_writes_a_verified_pack(example: Example, tmp_path: Path) -> None:
    out = tmp_path / "packs" / "506.zip"
    args = [str(EXAMPLE), "--bib", "506", "--out", str(out), "--database-url", example.url]
    result = CliRunner().invoke(evidence, [*args, "--generated-at", WHEN])
    assert result.exit_code == 0, result.output
    assert hashlib.sha256(out.read_bytes()).hexdigest() in result.output.replace("\n", "")
    with zipfile.ZipFile(out) as archive:
        assert verify(archive) == []
        assert "evidence-506/documents/log_book.html" in archive.namelist()

    args[2] = "nobody"
    missing = CliRunner().invoke(evidence, args)
    assert missing.exit_code == 2 and "no participant with bib 'nobody'" in missing.output


def test_publish_applies_the_directors_decisions(example: Example, tmp_path: Path) -> None:
    url = copy_journal(example.url, tmp_path / "journal.db")
    store = Store(url)
    store.record_action("referee", "status", "516", {"status": "DQ"}, "ran facing <forwards>")
    store.record_action("referee", "status", "512", {"status": "DQ"}, "mistaken bib")
    store.record_action("referee", "status", "512", {"status": ""}, "DQ withdrawn")
    store.close()
    out = tmp_path / "www"
    args = [str(EXAMPLE), "--out", str(out), "--database-url", url, "--generated-at", WHEN]
    result = CliRunner().invoke(publish, args)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "races" / "half" / "results.json").read_text("utf-8"))
    status = {r["bib"]: r["status"] for r in data["races"][0]["results"]}
    assert (status["516"], status["512"]) == ("DQ", "FIN")
    page = (out / "races" / "half" / "athletes" / "516.html").read_text("utf-8")
    assert "<strong>Disqualified:</strong> ran facing &lt;forwards&gt;" in page
    assert "Disqualified" not in (out / "races/half/athletes/512.html").read_text("utf-8")


def test_importing_the_commands_does_not_import_the_cli() -> None:
    """So `web/cli.py` can import this module at its top (no circular import)."""
    code = "import sys, web.cli_publish; assert 'web.cli' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
