"""The evidence pack of one bib: complete, hashed, and the same bytes every time."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from results.errors import ResultsError
from results.evidence import SUMS, verify, write_evidence
from tests.results.conftest import BIB, GENERATED, Example
from tests.results.htmlcheck import check_page
from timing.ingest import build_engine
from timing.store import Store


def read(archive: zipfile.ZipFile, name: str) -> bytes:
    return archive.read(f"evidence-{BIB}/{name}")


def rows(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(read(archive, name).decode("utf-8-sig"))))


def test_manifest_verifies(pack: Path) -> None:
    with zipfile.ZipFile(pack) as archive:
        assert verify(archive) == []
        listed = dict(
            reversed(line.split("  ", 1)) for line in read(archive, SUMS).decode().splitlines()
        )
        names = {n.split("/", 1)[1] for n in archive.namelist()} - {SUMS}
        assert set(listed) == names
        for name, digest in listed.items():
            assert hashlib.sha256(read(archive, name)).hexdigest() == digest


def test_tampering_is_detected(pack: Path, tmp_path: Path) -> None:
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(pack) as source, zipfile.ZipFile(forged, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("splits.csv"):
                data = data.replace(b"2:13:47.1", b"2:03:47.1")
            target.writestr(info, data)
    with zipfile.ZipFile(forged) as archive:
        assert verify(archive) == ["splits.csv: SHA-256 differs"]


def test_pack_holds_every_read_of_both_chips(pack: Path, example: Example) -> None:
    person = example.engine.people[BIB]
    stored = example.store.reads_of_chips(person.chips)
    with zipfile.ZipFile(pack) as archive:
        reads = rows(archive, "reads.csv")
        assert [int(r["id"]) for r in reads] == [r.id for r in stored]
        assert {r["chip_side"] for r in reads} == {"front", "back"}
        assert [r["raw_line"] for r in reads] == [r.raw_line for r in stored]
        points = {p.split("/")[0] for r in reads for p in r["points"].split()}
        assert {"start", "5k", "10k", "15k", "finish"} <= points
        k10 = [r for r in reads if r["reader"] == "K10"]
        assert k10 and all(r["clock_offset_s"] == "-1.2" for r in k10)
        for reader in {r["reader"] for r in reads}:
            raw = read(archive, f"raw/{reader}.log").decode("latin-1").splitlines()
            assert raw == [r["raw_line"] for r in reads if r["reader"] == reader]
        offsets = json.loads(read(archive, "clock_offsets.json"))
        assert offsets["readers"]["K10"]["clock_offset_s"] == -1.2


def test_pack_holds_crossings_passings_result_and_splits(pack: Path, example: Example) -> None:
    with zipfile.ZipFile(pack) as archive:
        result = json.loads(read(archive, "result.json"))
        assert result["result"]["bib"] == BIB and result["result"]["status"] == "FIN"
        passings = rows(archive, "passings.csv")
        assert [p["point"] for p in passings] == ["start", "5k", "10k", "15k", "finish"]
        crossings = rows(archive, "crossings.csv")
        bound = {c["passing"] for c in crossings} - {""}
        assert bound == {"start", "5k", "10k", "15k", "finish"}
        splits = rows(archive, "splits.csv")
        assert [s["chip_time"] for s in splits] == [
            s["chip_time"] for s in result["result"]["splits"]
        ]
        assert json.loads(read(archive, "flags.json")) == {"bib": BIB, "flags": []}
        assert read(archive, "config/event.toml").startswith(b"# Riverside")


def test_pack_holds_the_decisions_about_the_bib(pack: Path) -> None:
    with zipfile.ZipFile(pack) as archive:
        actions = json.loads(read(archive, "decisions.json"))["actions"]
        assert [a["reason"] for a in actions] == ["testing a DQ", "DQ withdrawn", "gun"]
        assert actions[0]["payload"] == {"status": "DQ"}


def test_summary_is_readable_html(pack: Path) -> None:
    with zipfile.ZipFile(pack) as archive:
        html = read(archive, "summary.html").decode("utf-8")
    page = check_page(html)
    assert page.problems == []
    assert "Ines Fernández" in html and "2:13:47.1" in html
    assert "sha256sum -c SHA256SUMS" in html
    assert "testing a DQ" in html


def test_same_journal_same_bytes(
    pack: Path, example: Example, journal: str, tmp_path: Path
) -> None:
    store = Store(journal)
    again = tmp_path / "again.zip"
    write_evidence(again, build_engine(example.folder, store), store, BIB, GENERATED)
    store.close()
    assert again.read_bytes() == pack.read_bytes()


def test_unknown_bib_is_refused(example: Example, tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no participant with bib '9999'"):
        write_evidence(tmp_path / "x.zip", example.engine, example.store, "9999", GENERATED)
    assert not (tmp_path / "x.zip").exists()
