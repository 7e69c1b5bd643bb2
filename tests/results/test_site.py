"""The published site of the example event: valid pages, working links, the same
results as the results JSON, and byte-identical output for the same inputs."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from results.errors import ResultsError, SiteRefused
from results.site import MANIFEST, public_json, publish_site
from tests.results.conftest import GENERATED, Example
from tests.results.htmlcheck import check_page, table
from timing.report import results_json


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_every_page_is_valid_html(site: Path) -> None:
    found = pages(site)
    assert len(found) > 200  # index, 2 races, categories, 200 athletes
    for path in found:
        page = check_page(path.read_text(encoding="utf-8"))
        assert page.problems == [], f"{path.relative_to(site)}: {page.problems}"
        assert page.lang == "en"


def test_every_internal_link_resolves(site: Path) -> None:
    for path in pages(site):
        page = check_page(path.read_text(encoding="utf-8"))
        for link in page.links:
            parts = urlsplit(link)
            assert not parts.scheme and not parts.netloc, f"{path}: external link {link}"
            if not parts.path:
                assert parts.fragment in page.ids, f"{path}: no #{parts.fragment}"
                continue
            target = (path.parent / unquote(parts.path)).resolve()
            assert target.is_file(), f"{path.relative_to(site)} links to missing {link}"
            assert site.resolve() in target.parents


def test_site_json_is_the_replay_contract(site: Path, example: Example) -> None:
    """The replay JSON, with only the flags the director confirmed."""
    expected = public_json(
        results_json(
            example.folder.event.name,
            example.results,
            example.store.count_quarantined(),
            example.folder.event.timezone,
            GENERATED,
        )
    )
    for race in expected["races"]:
        for result in race["results"]:
            assert all(f["status"] == "confirmed" for f in result["flags"])
    assert json.loads((site / "results.json").read_text(encoding="utf-8")) == expected
    for race in expected["races"]:
        mine = json.loads((site / "races" / race["id"] / "results.json").read_text("utf-8"))
        assert mine["races"] == [race]
        assert {k: v for k, v in mine.items() if k != "races"} == {
            k: v for k, v in expected.items() if k != "races"
        }


def test_race_table_matches_results_json(site: Path) -> None:
    data = json.loads((site / "results.json").read_text(encoding="utf-8"))
    for race in data["races"]:
        page = check_page((site / "races" / race["id"] / "index.html").read_text("utf-8"))
        t = table(page, "results")
        assert t.head[:10] == [
            "Place",
            "Bib",
            "Name",
            "Sex",
            "Category",
            "Club",
            "Nation",
            "Chip time",
            "Gun time",
            "Status",
        ]
        shown = [row[:10] for row in t.rows]
        expected = [
            [
                str(r["place"] or ""),
                r["bib"],
                " ".join(r["name"].split()),
                r["sex"],
                r["category"],
                " ".join(r["club"].split()),
                r["nation"],
                r["chip_time"] or "",
                r["gun_time"] or "",
                r["status"],
            ]
            for r in race["results"]
        ]
        assert shown == expected
        assert [a["data-sex"] for a in t.row_attrs] == [r["sex"] for r in race["results"]]


def test_category_pages_hold_each_runner_once(site: Path) -> None:
    data = json.loads((site / "results.json").read_text(encoding="utf-8"))
    for race in data["races"]:
        seen: list[str] = []
        for path in sorted((site / "races" / race["id"] / "categories").glob("*.html")):
            t = table(check_page(path.read_text("utf-8")), "results")
            categories = {row[5] for row in t.rows}
            assert len(categories) == 1
            places = [int(row[0]) for row in t.rows if row[0]]
            assert places == sorted(places) and places[:1] in ([], [1])
            seen += [row[2] for row in t.rows]
        assert sorted(seen) == sorted(r["bib"] for r in race["results"])


def test_csv_download_matches_json(site: Path) -> None:
    data = json.loads((site / "results.json").read_text(encoding="utf-8"))
    for race in data["races"]:
        raw = (site / "races" / race["id"] / "results.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
        assert [r["bib"] for r in rows] == [r["bib"] for r in race["results"]]
        for row, result in zip(rows, race["results"], strict=True):
            assert row["date"] == "2026-04-12"
            assert row["chip_time"] == (result["chip_time"] or "")
            assert row["status"] == result["status"]
            for split in result["splits"]:
                assert row[f"split_{split['point']}"] == split["chip_time"]
            if result["status"] == "FIN":
                assert row["finished_at"].startswith("2026-04-12T")


def test_pace_chart_has_one_point_per_split(site: Path) -> None:
    data = json.loads((site / "results.json").read_text(encoding="utf-8"))
    checked = 0
    for race in data["races"]:
        for result in race["results"]:
            path = site / "races" / race["id"] / "athletes" / f"{result['bib']}.html"
            page = check_page(path.read_text(encoding="utf-8"))
            assert len(page.svg_circles) == len(result["splits"]), path
            splits = table(page, "") if result["splits"] else None
            if splits is not None:
                assert [row[2] for row in splits.rows] == [s["chip_time"] for s in result["splits"]]
            checked += bool(result["splits"])
    assert checked > 150


def test_publishing_twice_gives_identical_bytes(
    site: Path, example: Example, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    publish_site(
        again,
        example.folder,
        example.results,
        example.store.count_quarantined(),
        GENERATED,
        example.store.actions(),
    )
    mine = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    theirs = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert mine.keys() == theirs.keys()
    assert [k for k in mine if mine[k] != theirs[k]] == []


def test_manifest_lists_every_file_with_its_hash(site: Path) -> None:
    manifest = json.loads((site / MANIFEST).read_text(encoding="utf-8"))
    on_disk = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()} - {MANIFEST}
    assert set(manifest["files"]) == on_disk
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((site / name).read_bytes()).hexdigest() == digest


def test_refuses_a_folder_that_is_not_a_site(example: Example, tmp_path: Path) -> None:
    out = tmp_path / "documents"
    out.mkdir()
    (out / "thesis.txt").write_text("do not lose me")
    args = (example.folder, example.results, 0, GENERATED)
    with pytest.raises(SiteRefused):
        publish_site(out, *args)
    assert sorted(p.name for p in out.iterdir()) == ["thesis.txt"]
    publish_site(out, *args, force=True)
    assert (out / "thesis.txt").read_text() == "do not lose me"
    assert (out / "index.html").is_file()


def test_republishing_replaces_the_earlier_site(example: Example, tmp_path: Path) -> None:
    out = tmp_path / "site"
    args = (example.folder, example.results, 0, GENERATED)
    publish_site(out, *args)
    stale = out / "races" / "half" / "athletes" / "gone.html"
    stale.write_text("from an earlier publish")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["files"]["races/half/athletes/gone.html"] = "0" * 64
    manifest["files"]["../outside.txt"] = "0" * 64
    (out / MANIFEST).write_text(json.dumps(manifest))
    (tmp_path / "outside.txt").write_text("never touched")
    summary = publish_site(out, *args)
    assert summary.removed == 1
    assert not stale.exists()
    assert (tmp_path / "outside.txt").read_text() == "never touched"


def test_refuses_a_file_as_the_site_folder(example: Example, tmp_path: Path) -> None:
    out = tmp_path / "results.html"
    out.write_text("a file")
    with pytest.raises(ResultsError, match="is a file, not a folder"):
        publish_site(out, example.folder, example.results, 0, GENERATED)
