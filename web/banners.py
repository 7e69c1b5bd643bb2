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


def mat_names(event: Event, reader: str, race_id: str | None = None) -> list[str]:
    """The points a reader times ("10 km", "Finish"), in one race or in all."""
    names: dict[str, None] = {}
    for race in event.races:
        if race_id is not None and race.id != race_id:
            continue
        last = len(race.points) - 1
        for i, point in enumerate(race.points):
            if point.reader == reader:
                names[point_name(point.distance_m, i == 0, i == last).lower()] = None
    return list(names)


def reader_banners(
    event: Event, health: dict[str, ReaderHealth], now_ms: int, race_id: str | None = None
) -> list[str]:
    """One line naming the mats that are not live (of one race, or of all), or none."""
    down: list[str] = []
    for reader, h in health.items():
        if not is_live(h, now_ms):
            names = mat_names(event, reader, race_id)
            if names:
                down.append(" / ".join(names))
    if not down:
        return []
    if len(down) == 1:
        return [f"The {down[0]} mat is not live: splits there will show when it is back."]
    listed = ", ".join(down[:-1]) + " and " + down[-1]
    return [f"The {listed} mats are not live: splits there will show when they are back."]
