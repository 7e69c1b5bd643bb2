"""What spectators read on the live pages, in process: the shared search rule, the
banners of mats that are not live, the record a runner is on pace for, the announcer's
arrivals and the following list."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient

from results.format import format_short, matches, point_name, search_key, search_words
from tests.timing.builders import EVENT_TOML, person
from tests.web.conftest import TOKENS, gun_ms, hello, make_settings, read
from tests.web.test_live_service import uplink, wait_for
from web.app import create_app


def test_search_ignores_accents_and_case_and_finds_partial_bibs_and_clubs() -> None:
    key = search_key("Inés Fernández", "506", "Riverside Reversers")
    assert matches(key, "fernandez") and matches(key, "FERNÁNDEZ") and matches(key, "ines")
    assert matches(key, "50") and matches(key, "riverside reversers") and matches(key, "rev 506")
    assert not matches(key, "fernandes") and not matches(key, "") and not matches(key, "  ")
    assert not matches(key, "ines okafor")  # every word must be there


@given(st.text(min_size=1, max_size=30), st.text(max_size=10), st.text(max_size=20))
def test_a_runner_is_found_by_their_own_name_bib_or_club_however_typed(name, bib, club) -> None:
    key = search_key(name, bib, club)
    plain = "".join(c for c in unicodedata.normalize("NFD", name) if unicodedata.combining(c) == 0)
    typed = [name, name.lower(), plain, bib, club]
    if name.upper().lower() == name.lower():  # not a letter like ß, whose capital is SS
        typed.append(name.upper())
    for text in typed:
        if search_words(text):  # a query of marks alone ("´") folds to no word: no search
            assert matches(key, text), text


def test_points_and_short_times_read_as_spectators_say_them() -> None:
    assert [point_name(0, True, False), point_name(10_000, False, False)] == ["Start", "10 km"]
    assert [point_name(21_097.5, False, False), point_name(42_195, False, True)] == [
        "21.1 km",
        "Finish",
    ]
    assert [format_short(42_000), format_short(725_900), format_short(3_750_000)] == [
        "0:42",
        "12:05",
        "1:02:30",
    ]


def test_a_mat_whose_reader_is_not_connected_has_a_banner(client: TestClient) -> None:
    page = client.get("/races/half").text
    assert "The start, 10 km and finish mats are not live" in page
    with client.websocket_connect("/uplink") as ws:
        ws.send_json(hello("MID", TOKENS["MID"]))
        assert ws.receive_json()["type"] == "welcome"
        page = client.get("/races/half").text
        assert (
            "The start and finish mats are not live" in page
            and "10 km" not in page.split("</header>")[1].split("</div>")[0]
        )
    assert "10 km and finish mats are not live" in client.get("/").text


# The half with a second split before the finish (a 15 km point on the 10 km reader):
# "on record pace" needs a projection from two splits.
TWO_SPLITS = EVENT_TOML.replace(
    '[[races.points]]\nid = "finish"',
    '[[races.points]]\nid = "15k"\ndistance_m = 15000\nreader = "MID"\nantennas = [4]\n\n'
    '[[races.points]]\nid = "finish"',
)


def test_runner_on_world_record_pace_says_which_record(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, [person(101), person(102, "M")], toml=TWO_SPLITS)
    g = gun_ms(settings)
    with TestClient(create_app(settings)) as client:
        # 45:00 at 10 km, 1:07:30 at 15 km project a 1:39 half, under the 1:40:29 men's best.
        uplink(client, "START", [read(1, "F0102", 1, g + 4_000), read(2, "B0102", 1, g + 4_100)])
        ten = g + 2_704_000
        gate = [read(1, "F0102", 1, ten), read(2, "B0102", 1, ten + 100)]
        gate += [read(3, "F0102", 2, ten + 1_000), read(4, "B0102", 2, ten + 1_100)]
        uplink(client, "MID", gate)
        page = client.get("/athletes/102").text
        assert "record pace" not in page  # one split projects nothing yet
        fifteen = g + 4_054_000
        uplink(client, "MID", [read(5, "F0102", 4, fifteen), read(6, "B0102", 4, fifteen + 100)])
        wait_for(lambda: client.get("/api/athletes/102").json()["on_record_pace"])
        api = client.get("/api/athletes/102").json()
        assert api["status"] == "RUN" and api["record_watch"][0]["scope"] == "world"
        page = client.get("/athletes/102").text
        assert "On world-record pace: measured against 1:40:29 by Achim Aretz (GER, 2009)." in page
        assert "Expected at" not in page and "Projected finish:" in page and "±" in page
        assert "3 of 4 points passed · 15 km of 21.1 km" in page
        board = client.get("/races/half").text
        assert "world-record pace" in board
        view = client.get("/api/races/half/announcer").json()
        assert view["last_split"] == "15 km"
        (coming,) = view["runners"]
        assert coming["bib"] == "102" and coming["to_line"] == "any moment"
        assert coming["nation"] == "GBR" and coming["category_place"] == 1
        assert any("102" in line and "world-record pace" in line for line in view["alerts"])


def test_following_lists_each_runner_once_in_the_order_given(client: TestClient) -> None:
    page = client.get("/following?bibs=102,nobody,101,102").text
    assert page.index('id="follow-102"') < page.index('id="follow-101"')
    assert page.count('id="follow-102"') == 1 and "nobody" not in page.split("<main")[1]
    assert "You follow nobody yet." in client.get("/following").text


def test_sex_and_category_filters(client: TestClient) -> None:
    rows = client.get("/api/races/half?sex=M").json()["rows"]
    assert [r["bib"] for r in rows] == ["102"]
    women = client.get("/races/half?sex=F").text
    assert 'id="bib-101"' in women and 'id="bib-102"' not in women
