"""Names that are markup, quotes or right-to-left text; races nobody finished or entered;
flags and records as the validation work fills them."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest

from results.pages import public_flags
from results.site import publish_site
from tests.results.conftest import GENERATED
from tests.results.htmlcheck import check_page, table
from tests.timing.builders import EVENT_TOML, person, write_folder
from timing.engine import Engine
from timing.flags import Decision, RunnerFlag
from timing.folder import EventFolder, load_folder
from timing.point_refs import PointRef
from timing.store import DirectorAction

SCRIPT = '<script>alert("pwned")</script>'
RTL = "مريم العربي"  # Arabic, right to left
HEBREW = "דוד לוי"

FUN_RUN = """
[[races]]
id = "fun"
name = "Fun Run <b>5k</b>"
distance_m = 5000
chips = ["front", "back"]

[[races.waves]]
id = "F"
start = "11:00:00"

[[races.points]]
id = "start"
distance_m = 0
reader = "START"
antennas = [1, 2]

[[races.points]]
id = "finish"
distance_m = 5000
reader = "FIN"
antennas = [1, 2]
"""


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[EventFolder, Engine]:
    people = [person(101), person(102, "M"), person(103), person(104, "X")]
    people[0] |= {"first_name": SCRIPT, "last_name": 'O\'Brien "Q"', "club": "=cmd|' /C calc'!A0"}
    people[1] |= {"first_name": RTL, "last_name": "", "club": HEBREW}
    people[2] |= {"first_name": "Zoë", "last_name": "Ångström & Co"}
    folder = load_folder(write_folder(tmp_path / "event", people, EVENT_TOML + FUN_RUN))
    engine = Engine(folder)
    gun = folder.event.races[0].waves[0].gun_ms
    rows = []
    for rid, (bib, finish) in enumerate([(101, 5_400_000), (102, 5_500_000), (103, 5_600_000)]):
        rows += [
            (rid * 10 + 1, "START", f"F{bib:04d}", 1, gun + 2_000, -60.0),
            (rid * 10 + 2, "MID", f"F{bib:04d}", 1, gun + finish // 2, -60.0),
            (rid * 10 + 3, "MID", f"F{bib:04d}", 2, gun + finish // 2 + 900, -60.0),
            (rid * 10 + 4, "FIN", f"F{bib:04d}", 1, gun + finish, -60.0),
        ]
    engine.add_reads(rows)
    engine.set_status("103", "DQ")
    return folder, engine


def publish(folder: EventFolder, engine: Engine, out: Path, actions=()) -> Path:
    results = engine.results()
    (half,) = [rr for rr in results.races if rr.race.id == "half"]
    decision = Decision("confirmed", "director", 0, "video <i>shows</i> it")
    flags = (
        RunnerFlag(
            "FORWARD_FACING",
            PointRef("10k"),
            "confirmed",
            0.9,
            {"front_reads": 12, "back_reads": 2},
            decision,
        ),
        RunnerFlag("MISSED_SPLIT", PointRef("10k"), "open", 0.5, {}),
        RunnerFlag(
            "WRONG_WAY",
            PointRef("finish"),
            "dismissed",
            0.9,
            {},
            Decision("dismissed", "director", 0, "reader echo"),
        ),
    )
    # Claims in their JSON form, whatever the records work writes: rendered defensively.
    records = (
        {
            "scope": "course",
            "time": "1:31:40.0",
            "holder": "Tom <Reyes>",
            "margin": "0:58:15.0",
            "verdict": "new record",
        },
        {"scope": "world"},
    )
    hostile = {"101": {"flags": flags}, "102": {"records": records}}
    rows = [replace(r, **hostile.get(r.bib, {})) for r in half.results]
    races = [replace(rr, results=rows) if rr is half else rr for rr in results.races]
    publish_site(out, folder, replace(results, races=races), 0, GENERATED, actions)
    return out


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_markup_in_names_renders_as_text(hostile, tmp_path: Path) -> None:
    site = publish(*hostile, tmp_path / "site")
    for path in sorted(site.rglob("*.html")):
        html = text_of(path)
        page = check_page(html)
        assert page.problems == [], f"{path}: {page.problems}"
        assert SCRIPT not in html and "<b>5k</b>" not in html
        assert [s.get("src", "") for s in page.scripts] in ([], ["../../static/site.js"])
    race = text_of(site / "races" / "half" / "index.html")
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; O&#39;Brien &#34;Q&#34;" in race
    names = [row[2] for row in table(check_page(race), "results").rows]
    assert f'{SCRIPT} O\'Brien "Q"' in names
    athlete = check_page(text_of(site / "races" / "half" / "athletes" / "101.html"))
    assert f'{SCRIPT} O\'Brien "Q"' in "".join(athlete.texts)
    assert "Fun Run &lt;b&gt;5k&lt;/b&gt;" in text_of(site / "index.html")


def test_right_to_left_names_are_isolated(hostile, tmp_path: Path) -> None:
    site = publish(*hostile, tmp_path / "site")
    race = text_of(site / "races" / "half" / "index.html")
    assert f"<bdi>{RTL}</bdi>" in race and f"<bdi>{HEBREW}</bdi>" in race
    athlete = text_of(site / "races" / "half" / "athletes" / "102.html")
    assert f"<h1><bdi>{RTL}</bdi>" in athlete
    search = [a["data-search"] for a in table(check_page(race), "results").row_attrs]
    assert any(RTL in s for s in search)
    assert any("zoe angstrom & co" in s for s in search)  # accents folded for the search


def test_races_without_finishers_or_entrants_get_pages(hostile, tmp_path: Path) -> None:
    folder, engine = hostile
    for bib in ("101", "102"):
        engine.set_status(bib, "DNF")
    site = publish(folder, engine, tmp_path / "site")
    for race in ("half", "fun"):
        page = check_page(text_of(site / "races" / race / "index.html"))
        assert page.problems == []
    fun = text_of(site / "races" / "fun" / "index.html")
    assert "No results in this list." in fun and "0 entrants" in fun
    assert (site / "races" / "fun" / "results.csv").read_bytes().count(b"\r\n") == 1
    half = table(check_page(text_of(site / "races" / "half" / "index.html")), "results")
    assert [row[0] for row in half.rows] == ["", "", "", ""]


def test_only_confirmed_flags_and_dq_reasons_are_public(hostile, tmp_path: Path) -> None:
    actions = [
        DirectorAction(id=1, at_ms=0, who="ref", kind="status", target="103",
                       payload='{"status": "DQ"}', reason="cut <the> course"),
        DirectorAction(id=2, at_ms=1, who="ref", kind="status", target="101",
                       payload='{"status": "DQ"}', reason="mistake"),
        DirectorAction(id=3, at_ms=2, who="ref", kind="status", target="101",
                       payload='{"status": null}', reason="undone"),
    ]  # fmt: skip
    site = publish(*hostile, tmp_path / "site", actions)
    athlete = text_of(site / "races" / "half" / "athletes" / "101.html")
    assert "FORWARD_FACING" in athlete and "video &lt;i&gt;shows&lt;/i&gt; it" in athlete
    assert "MISSED_SPLIT" not in athlete and "WRONG_WAY" not in athlete
    assert "mistake" not in athlete and "Disqualified" not in athlete
    dq = text_of(site / "races" / "half" / "athletes" / "103.html")
    assert "<strong>Disqualified:</strong> cut &lt;the&gt; course" in dq
    rows = list(csv.DictReader(io.StringIO(
        (site / "races" / "half" / "results.csv").read_bytes().decode("utf-8-sig"))))  # fmt: skip
    flags = {r["bib"]: r["flags"] for r in rows}
    assert flags["101"] == "FORWARD_FACING" and flags["102"] == ""
    club = {r["bib"]: r["club"] for r in rows}
    assert club["101"] == "'=cmd|' /C calc'!A0"  # a formula is kept as text


def test_record_lines_render_defensively(hostile, tmp_path: Path) -> None:
    site = publish(*hostile, tmp_path / "site")
    athlete = text_of(site / "races" / "half" / "athletes" / "102.html")
    line = "course record: new record, was 1:31:40.0 by Tom &lt;Reyes&gt;, margin 0:58:15.0"
    assert f"<li>{line}</li>" in athlete
    assert "<li>world record</li>" in athlete
    race = text_of(site / "races" / "half" / "index.html")
    assert line in race


def test_public_flags_ignore_what_is_not_a_flag() -> None:
    shown = public_flags(
        [None, "x", {"status": "CONFIRMED", "code": "WRONG_WAY"}, {"status": "open"}]
    )
    assert [f.code for f in shown] == ["WRONG_WAY"]
