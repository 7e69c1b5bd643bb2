"""The spectator pages on phones and a desktop, in a real headless Chromium, against the
live service serving the example event with every runner seen up to 10 km.

Every page at 360x740, 390x844 and 1440x900: nothing reaches past the screen (with the
rows' details closed and open), and it weighs under 100 kB over the wire with its
assets. Screenshots of each go to out/screenshots/. Then what spectators do: find a
runner, follow one and hear when they pass a mat, watch a runner page and the
announcer's screen update themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import VIEWPORTS, overflow, screenshot, transferred_bytes
from tests.web.conftest import Service, example_settings, running
from web.views import find_result

pytestmark = pytest.mark.timeout(300)

PAGE_BYTES = 100_000
PAGES = {
    "index": "/",
    "leaderboard": "/races/half",
    "leaderboard-women": "/races/half?sex=F",
    "marathon": "/races/full",
    "athlete": "/athletes/506",
    "search": "/search?q=fernandez",
    "following": "/following?bibs=506,125",
    "announcer": "/races/half/announcer",
}


@pytest.fixture(scope="module")
def service(half_run_journal: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running(example_settings(half_run_journal, tmp_path_factory.mktemp("live"))) as svc:
        # Two half marathoners past 15 km: the announcer has arrivals to call.
        for bib in ("504", "508"):
            svc.uplink_at("K15", reads_at(svc, bib, 1.5, (1, 2)))
        yield svc


def chips(bib: str) -> list[str]:
    return [f"0580037{int(bib):05d}", f"0580038{int(bib):05d}"]


def reads_at(svc: Service, bib: str, ratio: float, antennas: tuple[int, ...]):
    """Both chips of `bib` read where they would be at `ratio` x their 10 km time."""
    result = find_result(svc.app.state.live, bib)
    assert result is not None and result.splits, bib
    start = result.start_ms or result.gun_ms
    at = start + round(result.splits[-1].chip_time_ms * ratio)
    return [
        (chip, antenna, at + 40 * i) for chip in chips(bib) for i, antenna in enumerate(antennas)
    ]


def wait_live(page) -> None:
    page.wait_for_function(
        "!document.getElementById('live-status')"
        " || document.getElementById('live-status').textContent.startsWith('Live:')"
        " || !document.getElementById('board')"
    )


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_every_page_fits_the_screen_and_weighs_little(service: Service, new_page, size) -> None:
    width, height = VIEWPORTS[size]
    for name, path in PAGES.items():
        page = new_page(width, height)
        page.goto(f"{service.url}{path}")
        wait_live(page)
        assert page.locator("main h1").count() == 1, name
        problems = overflow(page)
        assert problems == [], f"{name} at {size} reaches past the screen: {problems}"
        weight = transferred_bytes(page)
        assert 0 < weight < PAGE_BYTES, f"{name} at {size}: {weight:,} bytes"
        shot = screenshot(page, f"live-{name}-{size}")
        assert shot.stat().st_size > 5_000
        assert page.errors == [], (name, page.errors)
        page.context.close()


def test_a_phone_row_shows_what_matters_and_the_rest_a_tap_away(service: Service, new_page):
    page = new_page(*VIEWPORTS["390x844"])
    page.goto(f"{service.url}/races/half")
    row = page.locator("#bib-506")
    shown = row.evaluate(
        "tr => [...tr.cells].filter(td => getComputedStyle(td).display !== 'none')"
        ".map(td => td.innerText.trim())"
    )
    assert shown[0] == row.get_attribute("data-pos")  # on course: where they are now
    assert "Fernández" in shown[1] and "Bib 506" in shown[1]
    assert shown[2:] == ["10 km", row.locator("td.c-time").inner_text()]
    assert not row.locator("details dl").is_visible()
    row.locator("summary").click()  # one tap: category, gap, projected, status, club
    details = row.locator("details dl").inner_text()
    assert "on course" in details and "Riverside Reversers" in details and "Projected" in details
    # Sex and category filters are one tap away.
    page.get_by_role("link", name="Women", exact=True).click()
    assert page.url.endswith("/races/half?sex=F")
    sexes = page.eval_on_selector_all("#board tbody tr", "rows => rows.map(r => r.dataset.sex)")
    assert sexes and set(sexes) == {"F"}
    page.select_option("#board-filters select", "F35-39")  # one tap on the picker
    page.wait_for_url("**category=F35-39*")
    cats = page.eval_on_selector_all("#board tbody tr", "rows => rows.map(r => r.dataset.category)")
    assert cats and all(c.startswith("F35") for c in cats) and "sex=F" in page.url


@pytest.mark.parametrize(
    ("query", "expect"),
    [
        ("fernandez", lambda rows: rows and all("Fernández" in r["name"] for r in rows)),
        (
            "50",
            lambda rows: (
                {f"50{i}" for i in range(1, 10)} <= {r["bib"] for r in rows}
                and all("50" in r["bib"] for r in rows)
            ),
        ),
        ("riverside reversers", lambda rows: len(rows) > 1),
    ],
)
def test_live_search_finds_by_name_bib_and_club(service: Service, new_page, query, expect):
    page = new_page(*VIEWPORTS["360x740"])
    page.goto(f"{service.url}/")
    page.fill("header input[name=q]", query)
    page.locator("header form").get_by_role("button", name="Find").click()
    page.wait_for_url("**/search?q=*")
    rows = page.eval_on_selector_all(
        "#search-results tbody tr",
        "rows => rows.map(r => ({bib: r.dataset.bib, name: r.querySelector('a').textContent}))",
    )
    assert expect(rows), rows
    if query.startswith("riverside"):
        live = service.app.state.live
        club = {
            r["bib"] for rs in live.rows.values() for r in rs if r["club"] == "Riverside Reversers"
        }
        assert {r["bib"] for r in rows} == club


def test_runner_page_updates_itself_when_they_pass_a_mat(service: Service, new_page) -> None:
    page = new_page(*VIEWPORTS["390x844"])
    page.goto(f"{service.url}/athletes/502")
    page.wait_for_function("document.querySelectorAll('.strip .pt.passed').length === 3")
    assert "3 of 5 points passed" in page.locator("#runner").inner_text()
    assert page.locator("#next-projection").inner_text().startswith("Expected at 15 km:")
    assert "±" in page.locator("#finish-projection").inner_text()
    page.evaluate("window.__sameDocument = 'still here'")

    service.uplink_at("K15", reads_at(service, "502", 1.5, (1, 2)))

    page.wait_for_function("document.querySelectorAll('.strip .pt.passed').length === 4")
    text = page.locator("#runner").inner_text()
    assert "4 of 5 points passed" in text and "Expected at" not in text  # the finish is next
    assert "15 km" in page.locator("table.splits").inner_text()
    assert page.evaluate("window.__sameDocument") == "still here"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    screenshot(page, "live-athlete-updated-390x844")
    assert page.errors == []


def test_a_followed_runner_passing_a_mat_is_told_at_once(service: Service, new_page) -> None:
    page = new_page(*VIEWPORTS["390x844"], permissions=["notifications"])
    # Count the notifications the page raises (the real ones are still shown).
    page.add_init_script(
        "window.__notified = []; const Real = window.Notification;"
        "window.Notification = class extends Real { constructor(title, options) {"
        " super(title, options); window.__notified.push(options.body); } };"
        "Object.defineProperty(window.Notification, 'permission', { get: () => Real.permission });"
    )
    page.goto(f"{service.url}/races/half")
    wait_live(page)
    star = page.locator("#bib-505 .star")
    star.click()
    assert star.get_attribute("aria-pressed") == "true" and star.inner_text() == "★"
    followed = page.evaluate("JSON.parse(localStorage.getItem('retrotime.following'))")
    assert list(followed) == ["505"]
    page.get_by_role("link", name="Following").click()
    page.wait_for_url("**/following?bibs=505")
    assert page.locator("#follow-505").count() == 1
    page.wait_for_timeout(300)  # the page's websocket has its snapshot

    service.uplink_at("K15", reads_at(service, "505", 1.5, (1, 2)))

    notice = page.locator("#notice")
    notice.wait_for(state="visible")
    assert "505" in notice.inner_text() and "passed 15 km" in notice.inner_text()
    page.wait_for_function("window.__notified.length > 0")
    assert "passed 15 km" in page.evaluate("window.__notified[0]")
    # The list redraws itself too.
    page.wait_for_function("document.getElementById('follow-505').textContent.includes('15 km')")
    screenshot(page, "live-following-notice-390x844")
    assert page.errors == []


def test_announcer_screen_updates_itself(service: Service, new_page) -> None:
    page = new_page(*VIEWPORTS["1440x900"])
    page.goto(f"{service.url}/races/half/announcer")
    arrivals = page.locator(".arrivals")
    assert "504" in arrivals.inner_text() and "Refresh" not in page.locator("main").inner_text()
    assert "heading for 1st in F35-39" in arrivals.inner_text()  # 504's category place
    assert "503" not in arrivals.inner_text()

    service.uplink_at("K15", reads_at(service, "503", 1.5, (1, 2)))

    page.wait_for_function("document.querySelector('.arrivals').textContent.includes('503')")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert page.errors == []


def test_pages_work_without_javascript(service: Service, browser) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(f"{service.url}/races/half")
    assert page.locator("#board tbody tr").count() == 120
    page.locator("#bib-506 summary").click()
    assert page.locator("#bib-506 details dl").is_visible()  # <details> needs no script
    page.goto(f"{service.url}/search?q=fernandez")
    assert page.locator("#search-results tbody tr").count() >= 1
    page.goto(f"{service.url}/following?bibs=506")
    assert page.locator("#follow-506").count() == 1
    assert overflow(page) == []
    context.close()
