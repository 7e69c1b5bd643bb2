"""The numbered updates: what a fan-out worker or a phone rebuilds from them is the
writer's board, row for row and in order, however the board changes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from web.feeds import Feed, moves

BIBS = [str(100 + i) for i in range(30)]


def board(order: list[str], values: dict[str, int]) -> list[dict]:
    return [
        {"pos": pos, "bib": bib, "time": values.get(bib, 0)}
        for pos, bib in enumerate(order, start=1)
    ]


states = st.lists(
    st.tuples(
        st.permutations(BIBS).flatmap(
            lambda p: st.integers(len(p) // 2, len(p)).map(lambda n: list(p[:n]))
        ),
        st.dictionaries(st.sampled_from(BIBS), st.integers(0, 3), max_size=6),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(states)
def test_a_follower_rebuilds_the_writers_board_from_its_updates(steps: list) -> None:
    writer, follower = Feed("half"), Feed("half")
    for order, values in steps:
        rows = board(order, values)
        message = writer.update(rows, None, 0)
        if message is None:
            assert writer.ordered_rows() == rows
            continue
        text = json.dumps(message)
        follower.apply(json.loads(text), text)  # as it travels: JSON
        assert follower.seq == writer.seq
        assert follower.ordered_rows() == rows


@settings(max_examples=300, deadline=None)
@given(st.permutations(BIBS), st.permutations(BIBS))
def test_moves_keep_the_longest_run_in_place(old: list[str], new: list[str]) -> None:
    moved = moves(old, new)
    kept = [bib for bib in new if bib not in {b for b, _ in moved}]
    assert kept == [bib for bib in old if bib in set(kept)]  # in their old order
    # Nobody is moved who could have stayed: no longer run keeps its order.
    where = {bib: i for i, bib in enumerate(old)}
    best = [0] * len(new)
    for i, bib in enumerate(new):
        best[i] = 1 + max((best[j] for j in range(i) if where[new[j]] < where[bib]), default=0)
    assert len(kept) == max(best)


def test_one_runner_passing_many_is_one_move() -> None:
    old = [str(i) for i in range(1000)]
    new = ["999", *old[:-1]]
    assert moves(old, new) == [["999", 1]]


def test_a_spectator_behind_gets_the_updates_it_missed_or_a_snapshot() -> None:
    feed = Feed("half")
    feed.update(board(["1", "2"], {}), None, 0)
    feed.update(board(["2", "1"], {}), None, 0)
    feed.update(board(["2", "1"], {"1": 5}), None, 0)
    assert [json.loads(t)["seq"] for t in feed.catch_up(1, 0)] == [2, 3]
    assert feed.catch_up(3, 0) == []
    (snapshot,) = feed.catch_up(None, 0)
    assert json.loads(snapshot)["rows"] == board(["2", "1"], {"1": 5})
    (ahead,) = feed.catch_up(99, 0)  # a number from before a restart: start over
    assert json.loads(ahead)["type"] == "snapshot"
