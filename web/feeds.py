"""A race's numbered leaderboard feed: the rows in board order, and the updates between
two states, built by the writer and applied by fan-out workers and phones alike.

An update carries the rows whose content changed and, in `moved`, `[bib, pos]` for the
runners whose place in the board order changed relative to the others: the fewest
runners to lift out and put back (everyone but a longest increasing run of old
positions). Everyone else's position follows from the order. One runner moving up
600 places is one pair, not the 600 renumbered behind them.

    order = [b for b in order if b not in moved and b not in gone]; insert each moved
    bib at pos - 1, in ascending pos; a row's pos is its index + 1. (`gone`, present only
    when not empty, lists runners no longer in the race: moved to another one.)
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from typing import Any

Row = dict[str, Any]
BACKLOG = 500  # updates kept per race for spectators that reconnect with ?since=


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def moves(old: list[str], new: list[str]) -> list[list[Any]]:
    """The `moved` pairs that turn board order `old` into `new` (see the module doc)."""
    # Runners at the head and tail of the board that kept their places stay put: the
    # longest run is looked for only between them (most updates touch a few places).
    head, tail = 0, 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    middle = new[head : len(new) - tail]
    where = {bib: i for i, bib in enumerate(old[head : len(old) - tail])}
    keep = _longest_run([where.get(bib, -1) for bib in middle])
    return [[bib, head + i + 1] for i, bib in enumerate(middle) if i not in keep]


def _longest_run(values: list[int]) -> set[int]:
    """Indexes into `values` of a longest strictly increasing run of values >= 0
    (patience sorting, n log n)."""
    tails: list[int] = []  # value ending the best run of each length
    tail_at: list[int] = []  # its index
    before = [-1] * len(values)
    for i, v in enumerate(values):
        if v < 0:
            continue
        k = bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_at.append(i)
        else:
            tails[k], tail_at[k] = v, i
        before[i] = tail_at[k - 1] if k else -1
    run: set[int] = set()
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        run.add(i)
        i = before[i]
    return run


@dataclass
class Feed:
    """One race's board as its spectators hold it: update number, rows, order, backlog."""

    race: str
    seq: int = 0
    rows: dict[str, Row] = field(default_factory=dict)  # bib -> row (pos as last sent)
    order: list[str] = field(default_factory=list)
    backlog: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=BACKLOG))
    _snapshot: tuple[int, str] | None = None

    # ---- the writer: a new state in, an update out ---------------------------------

    def update(self, rows: list[Row], changed: set[str] | None, at_ms: int) -> dict | None:
        """The update from the current state to `rows` (board order), or None if nothing
        changed. `changed`: the bibs whose rows may differ (None: any may)."""
        order = [row["bib"] for row in rows]
        moved = moves(self.order, order) if order != self.order else []
        by_bib = {row["bib"]: row for row in rows}
        candidates = by_bib.keys() if changed is None else changed & by_bib.keys()
        fresh = [
            by_bib[bib] for bib in candidates if not _same_but_pos(self.rows.get(bib), by_bib[bib])
        ]
        gone = [bib for bib in self.order if bib not in by_bib]  # moved to another race
        if not fresh and not moved and not gone:
            return None
        fresh.sort(key=lambda row: row["pos"])
        self.rows, self.order = by_bib, order
        self.seq += 1
        message = {
            "type": "update", "race": self.race, "seq": self.seq, "at_ms": at_ms,
            "rows": fresh, "moved": moved,
        }  # fmt: skip
        if gone:
            message["gone"] = gone
        self.backlog.append((self.seq, dumps(message)))
        return message

    def reset(self, rows: list[Row], seq: int) -> None:
        """Take `rows` as the state at update `seq` (a writer starting, a snapshot)."""
        self.rows = {row["bib"]: row for row in rows}
        self.order = [row["bib"] for row in rows]
        self.seq = seq
        self.backlog.clear()
        self._snapshot = None

    # ---- fan-out: an update in ---------------------------------------------------

    def apply(self, message: dict[str, Any], text: str) -> None:
        """Apply the next update (`message["seq"] == self.seq + 1`) or a snapshot."""
        if message["type"] == "snapshot":
            self.reset(message["rows"], message["seq"])
            return
        moved = {bib: pos for bib, pos in message["moved"]}
        gone = set(message.get("gone", ()))
        for bib in gone:
            self.rows.pop(bib, None)
        if moved or gone:
            order = [bib for bib in self.order if bib not in moved and bib not in gone]
            for bib, pos in sorted(moved.items(), key=lambda m: m[1]):
                order.insert(pos - 1, bib)
            self.order = order
        for row in message["rows"]:
            self.rows[row["bib"]] = row
        self.seq = message["seq"]
        self.backlog.append((self.seq, text))
        self._snapshot = None

    # ---- spectators --------------------------------------------------------------

    def ordered_rows(self) -> list[Row]:
        rows = []
        for pos, bib in enumerate(self.order, start=1):
            row = self.rows[bib]
            rows.append(row if row.get("pos") == pos else {**row, "pos": pos})
        return rows

    def snapshot(self, at_ms: int) -> str:
        if self._snapshot is None or self._snapshot[0] != self.seq:
            message = {
                "type": "snapshot", "race": self.race, "seq": self.seq, "at_ms": at_ms,
                "rows": self.ordered_rows(),
            }  # fmt: skip
            self._snapshot = (self.seq, dumps(message))
        return self._snapshot[1]

    def catch_up(self, since: int | None, at_ms: int) -> list[str]:
        """What a spectator at update `since` needs: the updates it missed, or a snapshot."""
        if (
            since is not None
            and self.backlog
            and self.backlog[0][0] <= since + 1
            and since <= self.seq
        ):
            return [text for seq, text in self.backlog if seq > since]
        return [self.snapshot(at_ms)]


def _same_but_pos(old: Row | None, new: Row) -> bool:
    return old is not None and (
        old is new or all(old.get(k) == v for k, v in new.items() if k != "pos")
    )


# A spectator's websocket carries "ping" (answered with PONG) and nothing else: any other
# message closes it with ONLY_LISTEN. The writer and the fan-out workers answer alike.
PONG = '{"type":"pong"}'
ONLY_LISTEN = (1003, "spectators only listen")


def answer(message: str | bytes) -> str | None:
    """The reply to a spectator's message, or None: close the connection."""
    return PONG if message == "ping" else None


def parse_since(text: str | None) -> int | None:
    """A spectator's `?since=N`: ASCII digits, at most 15 of them (a sequence number
    reached in no race). Anything else is no number, and gets a fresh snapshot."""
    if text and len(text) <= 15 and text.isascii() and text.isdigit():
        return int(text)
    return None


def channel_name(race_id: str) -> str:
    # Channel names stay lowercase and fixed: a Redis backend has been seen to change case.
    return f"race-{race_id.lower()}"
