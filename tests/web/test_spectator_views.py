"""What spectators read on the live pages, in process: the shared search rule, the
banners of mats that are not live, the record a runner is on pace for, the announcer's
arrivals and the following list."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient

from results.format import format_short, matches, point_name, search_key
from tests.web.conftest import TOKENS, gun_ms, hello, read
from tests.web.test_live_service import uplink, wait_for
from web.settings import Settings


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
        if text.split():
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


def test_runner_on_world_record_pace_says_which_record(client: TestClient, settings: Settings):
    g = gun_ms(settings)
    # 45:00 at 10 km projects a 1:39:18 half, under the 1:40:29 men's world best.
    uplink(client, "START", [read(1, "F0102", 1, g + 4_000), read(2, "B0102", 1, g + 4_100)])
    uplink(client, "MID", [read(1, "F0102", 1, g + 2_704_000), read(2, "F0102", 2, g + 2_705_000)])
    api = wait_for(lambda: (a := client.get("/api/athletes/102").json())["on_record_pace"] and a)
    assert api["status"] == "RUN" and api["record_watch"][0]["scope"] == "world"
    page = client.get("/athletes/102").text
    assert "On world-record pace: measured against 1:40:29 by Achim Aretz (GER, 2009)." in page
    assert "Expected at" not in page and "Projected finish:" in page and "±" in page
    assert "2 of 3 points passed · 10 km of 21.1 km" in page
    board = client.get("/races/half").text
    assert "world-record pace" in board
    view = client.get("/api/races/half/announcer").json()
    assert view["last_split"] == "10 km"
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
