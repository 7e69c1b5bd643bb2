"""The published track meet: lap races show laps, timed races the distance covered;
athlete pages list and chart every lap; the CSV has a column per lap."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from readers.formats import format_names
from results.site import publish_site
from tests.results.conftest import GENERATED
from tests.results.htmlcheck import check_page
from timing.folder import load_folder
from timing.store import Store
from web.replay import replay

TRACK = Path(__file__).resolve().parents[2] / "examples" / "track"


def test_track_meet_publishes_laps(tmp_path: Path) -> None:
    folder = load_folder(TRACK, set(format_names()))
    store = Store(f"sqlite:///{tmp_path / 'track.db'}")
    results, _ = replay(folder, store, [("LAP", TRACK / "logs" / "LAP.log")])
    site = tmp_path / "site"
    publish_site(site, folder, results, store.count_quarantined(), GENERATED, store.actions())
    data = json.loads((site / "results.json").read_text(encoding="utf-8"))
    hour = next(r for r in data["races"] if r["id"] == "1H")
    leader = hour["results"][0]

    page = (site / "races" / "1H" / "index.html").read_text(encoding="utf-8")
    check_page(page)
    assert '<th scope="col" class="num">Laps</th>' in page
    assert '<th scope="col" class="num">Distance</th>' in page
    assert "1:00:00 timed, 400 m laps" in page
    assert f'<td class="num">{leader["laps_completed"]}</td>' in page

    athlete = (site / "races" / "1H" / "athletes" / f"{leader['bib']}.html").read_text("utf-8")
    assert "Lap 1</th>" in athlete and f"Lap {leader['laps_completed']}</th>" in athlete
    assert athlete.count("<circle") >= leader["laps_completed"]

    rows = list(
        csv.DictReader(
            io.StringIO((site / "races" / "1H" / "results.csv").read_text(encoding="utf-8-sig"))
        )
    )
    first = next(r for r in rows if r["bib"] == leader["bib"])
    assert first["laps_completed"] == str(leader["laps_completed"])
    assert first[f"split_lap_{leader['laps_completed']}"] == leader["laps"][-1]["chip_time"]
    store.close()
