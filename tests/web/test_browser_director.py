"""The director's undo and previews in a real headless Chromium, with a spectator's
leaderboard open beside it that must follow without a reload (the launcher, the
service on a loopback port and the page helpers are test_browser.py's)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import tomlkit

from tests.timing.builders import EVENT_TOML
from tests.web.conftest import Service, make_settings, running
from tests.web.test_browser import (  # noqa: F401 (service: a fixture)
    UNKNOWN_CHIP,
    finish,
    log_in,
    open_live,
    people,
    reload_until,
    row_text,
    service,
    wait_row,
)


def status_of(svc: Service, bib: str) -> str:
    with urllib.request.urlopen(f"{svc.url}/api/athletes/{bib}", timeout=5) as response:
        return json.load(response)["status"]


def undo_latest(director, svc: Service, reason: str) -> None:
    director.goto(f"{svc.url}/director/audit")
    row = director.locator("#audit tbody tr.in-effect").first
    row.locator("form[action='/director/undo'] input[name=reason]").fill(reason)
    row.get_by_role("button", name="Undo").click()
    director.wait_for_url("**/director?msg=*")


def test_undoing_a_manual_passing_and_a_chip_assignment(service: Service, new_page) -> None:  # noqa: F811
    service.uplink("START", [("F0101", 1, 4_000), ("B0101", 1, 4_100)])
    service.uplink("START", [(UNKNOWN_CHIP, 1, 5_000)])
    service.uplink("FIN", [(UNKNOWN_CHIP, 1, 9_000_000)])
    spectator = new_page()
    open_live(spectator, f"{service.url}/races/half")
    wait_row(spectator, "101", "RUN")

    director = new_page()
    log_in(director, service)
    form = director.locator("form[action='/director/manual-passing']").first
    form.locator("input[name=bib]").fill("101")
    form.locator("select[name=point]").select_option(label="Half Marathon · finish")
    form.locator("input[name=time]").fill("10:30:00")
    form.locator("input[name=reason]").fill("backup stopwatch")
    form.get_by_role("button", name="Add passing").click()
    director.wait_for_url("**/director?msg=*")
    assert (
        "adds a passing of bib 101 at Half Marathon · finish"
        in director.locator("p.ok").inner_text()
    )
    wait_row(spectator, "101", "FIN", "1:29:56.0")
    undo_latest(director, service, "typed for the wrong runner")
    wait_row(spectator, "101", "RUN")  # back on course, on the open page

    unknown_row = f"#unknown tbody tr:has-text('{UNKNOWN_CHIP}')"
    assert reload_until(director, f"{service.url}/director", unknown_row), "chip never listed"
    row = director.locator(unknown_row)
    row.locator("input[name=bib]").fill("102")
    row.locator("input[name=reason]").fill("spare chip")
    row.get_by_role("button", name="Assign").click()
    # Bib 102 has chips: the console asks whether this one replaces one or is added.
    director.wait_for_url("**/director/assign-chip")
    assert "already wears F0102 (front)" in director.locator("#preview-summary").inner_text()
    director.get_by_label("add").check()
    director.get_by_role("button", name="Apply").click()
    director.wait_for_url("**/director?msg=*")
    wait_row(spectator, "102", "FIN", "2:29:55.0")
    undo_latest(director, service, "wrong bib")
    wait_row(spectator, "102", "DNS")
    assert status_of(service, "102") == "DNS" and status_of(service, "101") == "RUN"
    assert spectator.evaluate("performance.getEntriesByType('navigation').length") == 1
    director.goto(f"{service.url}/director/audit")
    assert director.locator("#audit tbody tr").count() == 4  # two decisions, two undos
    assert director.locator("#audit tbody tr.undone").count() == 2
    assert spectator.errors == [] and director.errors == []


def test_a_wave_start_preview_cancelled_changes_nothing(service: Service, new_page) -> None:  # noqa: F811
    finish(service, 101)
    spectator = new_page()
    open_live(spectator, f"{service.url}/races/half")
    wait_row(spectator, "101", "FIN")
    director = new_page()
    log_in(director, service)
    form = director.locator("form[action='/director/wave-start']")
    form.locator("select[name=wave_key]").select_option("half/A")
    form.locator("input[name=time]").fill("now")
    form.locator("input[name=reason]").fill("gun")
    form.get_by_role("button", name="Record gun").click()
    summary = director.locator("#preview-summary").inner_text()
    assert "moves the gun of Half Marathon wave A by +" in summary
    assert "1 become DNS" in summary
    assert "101" in director.locator("#preview-changes").inner_text()
    director.locator("#cancel").click()
    director.wait_for_url(f"{service.url}/director")
    director.goto(f"{service.url}/director/audit")
    assert director.locator("#audit tbody tr").count() == 0
    assert status_of(service, "101") == "FIN"
    assert "FIN" in row_text(spectator, "101")
    assert spectator.errors == [] and director.errors == []


@pytest.fixture
def today(tmp_path: Path) -> Iterator[Service]:
    """The service on an event run today, its gun an hour ago (a tap is timed now)."""
    london = ZoneInfo("Europe/London")
    gun = datetime.now(london) - timedelta(hours=1)
    event = tomlkit.parse(EVENT_TOML)
    event["event"]["date"] = gun.date().isoformat()
    for wave in event["races"][0]["waves"]:
        wave["start"] = f"{gun:%H:%M:%S}"
    with running(make_settings(tmp_path, people(), toml=tomlkit.dumps(event))) as svc:
        yield svc


def test_a_tap_becomes_a_passing_once_its_bib_is_typed(today: Service, new_page) -> None:
    today.uplink("START", [("F0101", 1, 4_000), ("B0101", 1, 4_100)])
    spectator = new_page()
    open_live(spectator, f"{today.url}/races/half")
    wait_row(spectator, "101", "RUN")
    timer = new_page()
    log_in(timer, today)
    timer.goto(f"{today.url}/director/tap")
    timer.locator("#tap-point").select_option(label="Half Marathon · finish")
    timer.locator("#tap").click()
    row = timer.locator("#taps tbody tr").first
    row.wait_for()
    assert row.locator("input[name=bib]").count() == 1  # not matched yet
    assert status_of(today, "101") == "RUN"  # a tap alone changes no result
    row.locator("input[name=bib]").fill("101")
    row.get_by_role("button", name="Match").click()
    timer.wait_for_url("**/director/tap?msg=*")
    assert timer.locator("#taps tbody tr").first.locator("a").inner_text() == "101"
    wait_row(spectator, "101", "FIN")
    assert status_of(today, "101") == "FIN"
    timer.goto(f"{today.url}/director/audit")
    kinds = timer.locator("#audit tbody tr td:nth-child(4)").all_inner_texts()
    assert kinds == ["manual_passing", "tap"]
    assert spectator.errors == [] and timer.errors == []


def test_the_console_shows_new_unknown_chips_without_reload(service: Service, new_page) -> None:  # noqa: F811
    director = new_page()
    log_in(director, service)
    director.wait_for_function(
        "document.getElementById('console-live').textContent.startsWith('Live:')"
    )
    service.uplink("FIN", [(UNKNOWN_CHIP, 1, 9_000_000)])
    director.locator(f"#unknown tbody tr:has-text('{UNKNOWN_CHIP}')").wait_for()
    assert director.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert director.errors == []
