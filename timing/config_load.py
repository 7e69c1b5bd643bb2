"""Loading `event.toml`: every problem at once (file, line, key), so a timer fixes a
folder in one pass instead of one error per run.

The keys, their defaults and ranges are the rows of `timing/settings.py`; the tables'
shapes are checked by `timing/config_check.py` before any value is read.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from timing.config import Event, ReaderConfig, Validation
from timing.config_check import Checker, Locator
from timing.config_races import race_from, unique
from timing.errors import Problem
from timing.settings import SETTINGS
from timing.textfile import read_text

# Tables of one value set for the whole event, as opposed to [[readers]] and [[races]].
EVENT_WIDE = ("timing", "categories", "validation", "rules", "records")


def load_event(path: Path, formats: set[str] | None = None) -> tuple[Event | None, list[Problem]]:
    """Parse event.toml; return the event (None if unusable) and every problem found.

    `formats` are the reader-format names the caller knows (timing/ does not parse
    reader lines, so it does not know them itself).
    """
    file = path.name
    text, problems = read_text(path)
    if text is None:
        return None, problems
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib names the line only in its message: "... (at line 46, column 14)".
        at = re.search(r"\(at line (\d+), column \d+\)$", str(exc))
        line = int(at[1]) if at else None
        return None, [Problem(file, line, "-", f"not valid TOML: {exc}")]
    check = Checker(file, Locator(text))
    check.top(data)
    meta = check.values(check.table(data, "event"), ("event",), "event")
    wide = {name: check.values(check.table(data, name), (name,), name) for name in EVENT_WIDE}
    readers = _readers(check, data, formats)
    races = tuple(
        race_from(check, race, ("races", i), readers, meta["date"], meta["timezone"])
        for i, race in enumerate(check.items(data, (), "races"))
    )
    unique(check, [(r.id, ("races", i, "id")) for i, r in enumerate(races)], "race id")
    event = Event(
        name=meta["name"],
        date=meta["date"],
        timezone=meta["timezone"],
        readers=readers,
        races=races,
        age_bounds=wide["categories"]["age_bounds"],
        dedupe_window_ms=round(wide["timing"]["dedupe_window_s"] * 1000),
        validation=Validation(**wide["validation"]),
        dq_on=tuple(wide["rules"]["dq_on"]),
        watch_margin=wide["records"]["watch_margin"],
        world_bests=wide["records"]["world_bests"],
        given=_given(data),
    )
    return event, check.problems


def _readers(
    check: Checker, data: dict[str, Any], formats: set[str] | None
) -> dict[str, ReaderConfig]:
    readers: dict[str, ReaderConfig] = {}
    for i, item in enumerate(check.items(data, (), "readers")):
        path = ("readers", i)
        values = check.values(item, path, "readers")
        if values["id"] in readers:
            check.add((*path, "id"), f"duplicate reader id {values['id']!r}")
        fmt = values["format"]
        if formats is not None and fmt and fmt not in formats:
            check.add(
                (*path, "format"),
                f"unknown reader format {fmt!r} (known: {', '.join(sorted(formats))})",
            )
        if (fmt == "llrp") != str(values["port"]).startswith("tcp://"):
            check.add(
                (*path, "port"),
                'an LLRP reader (format "llrp") and only it has a port "tcp://HOST:5084", '
                f"got {values['port']!r}",
            )
        readers[values["id"]] = ReaderConfig(**values)
    return readers


def _given(data: dict[str, Any]) -> dict[str, Any]:
    """The event-wide keys the file sets, as written: what `retrotime check` shows."""
    given = {}
    for s in SETTINGS:
        table = data.get(s.table)
        if s.table in EVENT_WIDE and isinstance(table, dict) and s.key in table:
            given[f"{s.table}.{s.key}"] = table[s.key]
    return given
