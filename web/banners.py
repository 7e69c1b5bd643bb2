"""Status banners for spectators: which mats are not live, so a missing split has a reason.

A reader is not live when its agent is not connected, when the agent says its reader
(the serial source) is gone, or when nothing has come from it for `SILENT_MS` (agents
send health every 10 s, so three missed beats).
"""

from __future__ import annotations

from results.format import point_name
from timing.config import Event
from web.live import ReaderHealth

SILENT_MS = 45_000


def is_live(health: ReaderHealth, now_ms: int) -> bool:
    if not health.connected or health.health.get("source_connected") is False:
        return False
    return health.last_message_ms is not None and now_ms - health.last_message_ms < SILENT_MS


def mat_names(event: Event, reader: str) -> list[str]:
    """The points a reader times, as spectators name them ("the 10 km mat")."""
    names: dict[str, None] = {}
    for race in event.races:
        last = len(race.points) - 1
        for i, point in enumerate(race.points):
            if point.reader == reader:
                names[f"the {point_name(point.distance_m, i == 0, i == last).lower()} mat"] = None
    return list(names)


def reader_banners(event: Event, health: dict[str, ReaderHealth], now_ms: int) -> list[str]:
    """One line per mat that is not live, in course order."""
    lines: list[str] = []
    for reader, h in health.items():
        if is_live(h, now_ms):
            continue
        for name in mat_names(event, reader):
            text = f"{name.capitalize()} is not live: splits there will show when it is back."
            if text not in lines:
                lines.append(text)
    return lines
