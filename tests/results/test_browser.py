"""The published site in a real headless Chromium, opened from disk (file://)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from results.format import matches
from tests.conftest import VIEWPORTS, overflow, screenshot


@pytest.fixture
def page(browser):
    """A desktop page that fails the test on a script error or any request off the disk."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: r.url.startswith("file://") or outside.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    yield page
    assert outside == [], f"the site loaded something from outside: {outside}"
    assert errors == [], errors
    context.close()


def visible_rows(page) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "#results tbody tr:not([hidden])",
        "rows => rows.map(r => ({sex: r.dataset.sex, cat: r.dataset.cat,"
        " name: r.querySelector('th').textContent}))",
    )


def test_race_page_filters_and_search_work(page, site: Path, tmp_path: Path) -> None:
    page.goto((site / "races" / "half" / "index.html").as_uri())
    total = page.locator("#results tbody tr").count()
    assert total == 120
    assert page.locator("#filters").is_visible()  # the script revealed the controls
    assert page.locator("#filter-count").text_content() == "120 results"
    page.screenshot(path=str(tmp_path / "race.png"), full_page=True)

    page.select_option("select[name=sex]", "F")
    women = visible_rows(page)
    assert 0 < len(women) < total and {r["sex"] for r in women} == {"F"}
    assert page.locator("#filter-count").text_content() == f"{len(women)} of 120 results shown"

    page.select_option("select[name=cat]", "F35-39")
    rows = visible_rows(page)
    assert rows and {r["cat"] for r in rows} == {"F35-39"}

    page.select_option("select[name=sex]", "")
    page.select_option("select[name=cat]", "")
    page.fill("input[name=q]", "fernandez")  # no accent typed, the name has one
    found = visible_rows(page)
    assert found and all("Fernández" in r["name"] for r in found)
    page.fill("input[name=q]", "")
    assert len(visible_rows(page)) == total
    assert (tmp_path / "race.png").stat().st_size > 10_000


def test_filters_preset_from_the_link(page, site: Path) -> None:
    page.goto((site / "races" / "half" / "index.html").as_uri() + "#cat=M20-34")
    rows = visible_rows(page)
    assert rows and {r["cat"] for r in rows} == {"M20-34"}


def test_athlete_page_on_a_phone(browser, site: Path, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2)
    page = context.new_page()
    page.goto((site / "races" / "half" / "athletes" / "506.html").as_uri())
    assert page.locator("h1").text_content() == "Ines Fernández bib 506"
    assert page.locator("svg.pace-chart circle").count() == 4
    assert page.locator("svg.pace-chart").bounding_box()["width"] <= 375
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 375, f"the page scrolls sideways on a phone ({wide}px)"
    page.screenshot(path=str(tmp_path / "athlete.png"), full_page=True)
    assert (tmp_path / "athlete.png").stat().st_size > 10_000
    page.goto((site / "races" / "half" / "index.html").as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # the table scrolls
    context.close()


def test_print_hides_the_controls(page, site: Path) -> None:
    page.goto((site / "races" / "half" / "index.html").as_uri())
    page.emulate_media(media="print")
    assert not page.locator("#filters").is_visible()
    assert page.locator("#results").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")


def test_log_book_and_witness_form_print_with_the_splits(page, pack: Path, tmp_path: Path) -> None:
    """Chromium prints the pack's log book and witness statements to PDF; the PDF's text
    holds the athlete's name and every chip split."""
    from pypdf import PdfReader

    from tests.results.conftest import BIB

    with zipfile.ZipFile(pack) as archive:
        archive.extractall(tmp_path)
        splits = archive.read(f"evidence-{BIB}/splits.csv").decode("utf-8-sig").splitlines()
    chip_times = [line.split(",")[2] for line in splits[1:]]
    assert len(chip_times) == 4  # 5k, 10k, 15k, finish
    for name in ("log_book", "witness_statements"):
        page.goto((tmp_path / f"evidence-{BIB}" / "documents" / f"{name}.html").as_uri())
        pdf = page.pdf(format="A4", print_background=True)
        reader = PdfReader(io.BytesIO(pdf))
        # Words as the PDF holds them, lines rejoined (a name may wrap).
        text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
        assert "Ines Fernández" in text, name
        for chip_time in chip_times:
            assert chip_time in text, (name, chip_time)
        if name == "witness_statements":  # one form per page, two witnesses
            assert len(reader.pages) >= 2
            assert "Witness statement 1 of 2" in reader.pages[0].extract_text()
            assert "Witness statement 2 of 2" not in reader.pages[0].extract_text()


PUBLISHED = {
    "index": "index.html",
    "race": "races/half/index.html",
    "marathon": "races/full/index.html",
    "category": "races/half/categories/F35-39.html",
    "athlete": "races/half/athletes/506.html",
}


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_published_pages_fit_the_screen_and_weigh_little(browser, site: Path, size) -> None:
    width, height = VIEWPORTS[size]
    for name, path in PUBLISHED.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        loaded: list[int] = []  # from disk there are no transfer sizes: count the bytes read
        page.on("response", lambda r, loaded=loaded: loaded.append(len(r.body())))
        page.goto((site / path).as_uri())
        page.wait_for_load_state("load")
        problems = overflow(page)
        assert problems == [], f"{name} at {size} reaches past the screen: {problems}"
        assert 0 < sum(loaded) < 100_000, f"{name} at {size}: {sum(loaded):,} bytes"
        screenshot(page, f"published-{name}-{size}")
        context.close()


@pytest.mark.parametrize(
    ("query", "bibs"),
    [
        ("fernandez", None),  # the accent is not typed
        ("50", {f"50{i}" for i in range(1, 10)}),  # a partial bib finds 501-509 (and 550)
        ("riverside reversers", None),  # a club
    ],
)
def test_published_search_follows_the_shared_rule(page, site: Path, query, bibs) -> None:
    page.goto((site / "races" / "half" / "index.html").as_uri())
    page.fill("input[name=q]", query)
    shown = page.eval_on_selector_all(
        "#results tbody tr:not([hidden])", "rows => rows.map(r => r.cells[1].textContent)"
    )
    keys = page.eval_on_selector_all(
        "#results tbody tr", "rows => rows.map(r => [r.cells[1].textContent, r.dataset.search])"
    )
    expected = {bib for bib, key in keys if matches(key, query)}
    assert shown and set(shown) == expected
    if bibs is not None:
        assert bibs <= set(shown) and all("50" in bib for bib in shown)
