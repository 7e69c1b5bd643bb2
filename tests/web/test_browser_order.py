"""The board order in a real Chromium: updates move only the runners who passed others
(web/feeds.py), and live.js must put everyone else in place from that. After each
wave of reads, the page's rows, their order and their place cells are the service's.

Without /usr/bin/chromium these tests skip, except under CI (env CI set), where they fail.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.timing.builders import person, write_folder
from tests.web.conftest import PASSWORD, TOKENS, Service, running
from tests.web.test_browser import open_live
from web.settings import Settings, hash_password

pytestmark = pytest.mark.timeout(180)
BIBS = list(range(201, 225))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    people = [person(b, "FM"[b % 2]) for b in BIBS]
    folder = write_folder(tmp_path / "event", people)
    settings = Settings(
        folder, f"sqlite:///{tmp_path / 'live.db'}", hash_password(PASSWORD), dict(TOKENS),
        publish_interval_s=0.05,
    )  # fmt: skip
    with running(settings) as svc:
        yield svc


def board_of(page) -> list[tuple[str, str, str]]:
    """(bib, data-pos, place cell) of every row, in page order."""
    rows = page.evaluate(
        "[...document.querySelectorAll('#board tbody tr')].map((tr) => [tr.id.slice(4),"
        " tr.dataset.pos, tr.querySelector('.c-place').textContent])"
    )
    return [tuple(row) for row in rows]


def api(service: Service, path: str) -> dict:
    with urllib.request.urlopen(service.url + path, timeout=5) as response:
        return json.loads(response.read())


def expected(service: Service, query: str = "") -> list[tuple[str, str, str]]:
    rows = api(service, f"/api/races/half{query}")["rows"]
    shown = lambda r: str(r["place"] or (r["pos"] if r["status"] == "RUN" else ""))  # noqa: E731
    return [(r["bib"], str(r["pos"]), shown(r)) for r in rows]


def settled(page, service: Service, query: str = "") -> None:
    """Wait (bounded) until the page shows the service's board: the writer scores
    after the ack, so both may still move for a moment."""
    for _ in range(50):
        want = expected(service, query)
        if board_of(page) == want:
            return
        page.wait_for_timeout(100)
    assert board_of(page) == expected(service, query)


@pytest.mark.parametrize("query", ["", "?sex=M"])
def test_runners_passing_others_reorder_the_board_in_place(
    service: Service, new_page, query: str
) -> None:
    page = new_page(390, 844)
    open_live(page, f"{service.url}/races/half{query}")
    # Everyone starts; then they reach the 10k in reverse bib order, a few at a time, so
    # each wave passes runners who were ahead; then the last to start passes them all.
    service.uplink("START", [(f"F{b:04d}", 1, 4_000 + b) for b in BIBS])
    settled(page, service, query)
    for wave in range(0, len(BIBS), 5):
        late = list(reversed(BIBS))[wave : wave + 5]
        at = 4_200_000 + 60_000 * wave  # a backwards 10k in 70 minutes and more
        service.uplink(
            "MID",
            [
                (f"F{b:04d}", ant, at + 1_000 * i + 300 * ant)
                for i, b in enumerate(late)
                for ant in (1, 2)
            ],
        )
        settled(page, service, query)
    service.uplink("FIN", [(f"F{BIBS[-1]:04d}", 2, 9_000_000)])
    settled(page, service, query)
    assert board_of(page)[0][0] == str(BIBS[-1]) or query  # the finisher leads
    assert page.errors == []
