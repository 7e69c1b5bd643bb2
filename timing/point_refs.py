"""Where a flag is: a point of the course, or one crossing of a lap line.

On the road a flag names a point by its id ("10k"); a check about the whole race names
none (""). In a lap race a flag on one crossing of the lap line names the line's point
and the crossing's local time of day to the tenth: the crossing's own time names it, so
a director's decision stays with its crossing whatever is counted before it. Its text
form, in the results JSON and in journalled actions, is "track@10:23:45.6".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class PointRef:
    point: str = ""  # a point id; "" for the race as a whole
    at: str = ""  # a crossing of the lap line: its local time of day, "HH:MM:SS.s"

    def __str__(self) -> str:
        return f"{self.point}@{self.at}" if self.at else self.point

    @property
    def is_crossing(self) -> bool:
        return bool(self.at)

    @classmethod
    def parse(cls, text: str) -> PointRef:
        """The reference a text form names ("10k", "track@10:23:45.6", "")."""
        point, sep, at = text.rpartition("@")
        return cls(point, at) if sep else cls(text)

    @classmethod
    def crossing(cls, point_id: str, time_ms: int, tz: ZoneInfo) -> PointRef:
        """A crossing of `point_id` named by its local time of day, tenths rounded down."""
        when = datetime.fromtimestamp(time_ms // 1000, UTC).astimezone(tz)
        return cls(point_id, f"{when:%H:%M:%S}.{time_ms % 1000 // 100}")


def point_ref(point: str | PointRef | None) -> PointRef:
    """A reference from its text form or itself (None: the race as a whole)."""
    if isinstance(point, PointRef):
        return point
    return PointRef.parse(point or "")
