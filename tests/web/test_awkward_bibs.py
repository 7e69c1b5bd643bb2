"""Bibs that are awkward but real: `/`, `?`, `#`, spaces, other scripts, 300 characters.
Their athlete links work on the live pages and on the published site."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urljoin

from click.testing import CliRunner
from litestar.testing import TestClient

from tests.timing.builders import person
from tests.web.conftest import login, make_settings
from web.app import create_app
from web.cli_publish import publish

BIBS = ["12/B", "7?x#y", "A 1", "é漢", "A" * 300, "漢" * 300, "A" * 299 + "B"]


def awkward_people() -> list[dict[str, str]]:
    people = []
    for n, bib in enumerate(BIBS, start=1):
        chips = {"chip_front": f"F{n:04d}", "chip_back": f"B{n:04d}"}
        people.append({**person(n), "bib": bib, **chips, "last_name": f"Awkward{n}"})
    return people


def links(html: str) -> list[str]:
    return [unquote_html(h) for h in re.findall(r'href="([^"]*athletes/[^"]*)"', html)]


def unquote_html(href: str) -> str:
    return href.replace("&amp;", "&").replace("&#34;", '"').replace("&#39;", "'")


def test_live_athlete_links_are_encoded_and_work(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, awkward_people())
    with TestClient(create_app(settings)) as client:
        hrefs = links(client.get("/races/half").text)
        assert len(hrefs) == len(BIBS)
        for href in hrefs:
            assert "?" not in href and "#" not in href and " " not in href
            bib = unquote(href.removeprefix("/athletes/"))
            assert bib in BIBS
            page = client.get(href)
            assert page.status_code == 200, bib
            assert f"Awkward{BIBS.index(bib) + 1}" in page.text
            assert client.get(f"/api/{href.lstrip('/')}").json()["bib"] == bib
        found = links(client.get("/search", params={"q": "Awkward1"}).text)
        assert found == ["/athletes/12%2FB"]
        login(client)
        console = client.get("/director").text
        assert "/athletes/12/B" not in console


def test_published_site_has_a_working_page_for_every_bib(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, awkward_people())
    out = tmp_path / "www"
    result = CliRunner().invoke(
        publish,
        [str(settings.event_dir), "--out", str(out), "--database-url", settings.database_url,
         "--allow-empty"],  # no reads: every runner DNS, each with a page
    )
    assert result.exit_code == 0, result.output
    race_index = out / "races" / "half" / "index.html"
    hrefs = links(race_index.read_text())
    assert len(set(hrefs)) == len(BIBS)  # no two bibs share a page
    for href in hrefs:
        target = Path(unquote(urljoin(race_index.as_uri(), href).removeprefix("file://")))
        assert target.is_file(), href
        assert len(target.name.encode()) <= 255
        page = target.read_text()
        assert any(f"Awkward{n}" in page for n in range(1, len(BIBS) + 1))
    again = tmp_path / "again"
    CliRunner().invoke(
        publish,
        [str(settings.event_dir), "--out", str(again), "--database-url", settings.database_url,
         "--allow-empty"],
    )
    assert sorted(p.name for p in (again / "races/half/athletes").iterdir()) == sorted(
        p.name for p in (out / "races/half/athletes").iterdir()
    )
