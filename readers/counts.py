"""Every line accounted for: what became of each line a reader sent.

A line is a read, a reply or status line (banner, heartbeat, command reply, a frame
that carries no read), or quarantined with its reason; nothing else, so the three add
up to the lines received. Replay prints them and a reader's health can show them; a
stream counts each line as it comes, `counts += READ` (or `REPLY`, `QUARANTINED`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LineCounts:
    reads: int = 0
    replies: int = 0  # valid lines that are not reads: status, replies, blank separators
    quarantined: int = 0

    @property
    def lines(self) -> int:
        return self.reads + self.replies + self.quarantined

    def __add__(self, other: LineCounts) -> LineCounts:
        return LineCounts(
            self.reads + other.reads,
            self.replies + other.replies,
            self.quarantined + other.quarantined,
        )

    def __str__(self) -> str:
        return (
            f"{self.lines:,} lines = {self.reads:,} reads + {self.replies:,} replies/status "
            f"+ {self.quarantined:,} quarantined"
        )


READ = LineCounts(reads=1)
REPLY = LineCounts(replies=1)
QUARANTINED = LineCounts(quarantined=1)
