"""The pages of the published site as typed data: one dataclass per page.

`build_pages` turns the engine's results into page objects; `results.site` renders each
with its Jinja2 template and writes it at `page.path`. Every link a page holds is
relative to the site's root; templates prefix it with `page.root`, so the site works
from any folder, a web server or `file://`.

What the public sees of validation: only flags the director confirmed (the one rule,
`timing.flags.is_public`), and the reason given for a DQ. The full evidence is in the
record evidence pack.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from results.chart import PaceChart, pace_chart, segment_pace
from results.format import category_key, format_distance, format_km, format_pace, search_key, slug
from results.record_lines import RecordLine, record_book_line, record_line
from timing.config import Race
from timing.engine import EventResults, RaceResults
from timing.flags import RunnerFlag, is_public
from timing.folder import EventFolder
from timing.records import Record
from timing.report import state_text
from timing.results import Result
from timing.store import DirectorAction
from timing.times import format_duration

FLAG_LABELS = {
    "FORWARD_FACING": "ran facing forwards",
    "WRONG_WAY": "crossed the mat against the course",
    "IMPLAUSIBLE_PACE": "pace faster than backwards running allows",
    "MISSED_SPLIT": "not seen at a timing point",
    "CHIP_SEPARATED": "front and back chips seen apart",
}
STATUS_LABELS = {
    "FIN": "finished",
    "RUN": "on course",
    "DNF": "did not finish",
    "DNS": "did not start",
    "DQ": "disqualified",
}


@dataclass(frozen=True, slots=True)
class SiteInfo:
    event: str
    date: str  # ISO date of race day
    generated: str  # the one line saying when the site was made


@dataclass(frozen=True, slots=True)
class FlagLine:
    code: str
    label: str
    point: str
    decision: str  # the director's reason, if given


@dataclass(frozen=True, slots=True)
class ResultRow:
    place: int | None
    place_sex: int | None
    place_category: int | None
    bib: str
    name: str
    sex: str
    category: str
    club: str
    nation: str
    status: str
    chip_time: str
    gun_time: str
    href: str  # the athlete page
    category_href: str
    search: str  # what the page's name search matches
    flags: tuple[FlagLine, ...]
    records: tuple[RecordLine, ...]
    dq_reason: str
    laps: str = ""  # lap races: laps completed
    distance: str = ""  # lap races: km covered (a timed race's result)


@dataclass(frozen=True, slots=True)
class SplitRow:
    point: str
    distance: str  # km
    chip_time: str
    segment_time: str
    pace: str  # M:SS per km
    manual: bool


@dataclass(frozen=True, slots=True)
class RaceLink:
    id: str
    name: str
    distance: str
    href: str
    csv_href: str
    json_href: str
    entrants: int
    counts: tuple[tuple[str, int], ...]  # (status, how many), FIN first
    kind: str = "road"  # "road", "laps" (a distance by laps) or "timed"
    state: str = ""  # the results' lifecycle: "Provisional results, protests until 14:30"


@dataclass(frozen=True, slots=True)
class CategoryLink:
    name: str
    href: str
    entrants: int


@dataclass(frozen=True, slots=True)
class Page:
    template: ClassVar[str]
    path: str  # where the page is written, relative to the site root
    title: str
    site: SiteInfo

    @property
    def root(self) -> str:
        """The way back to the site's root from this page."""
        return "../" * self.path.count("/")


@dataclass(frozen=True, slots=True)
class IndexPage(Page):
    template: ClassVar[str] = "index.html"
    races: tuple[RaceLink, ...]
    json_href: str


@dataclass(frozen=True, slots=True)
class RacePage(Page):
    template: ClassVar[str] = "race.html"
    race: RaceLink
    rows: tuple[ResultRow, ...]
    sexes: tuple[str, ...]
    categories: tuple[CategoryLink, ...]
    record_book: tuple[str, ...]
    record_rows: tuple[ResultRow, ...]  # results that carry record lines


@dataclass(frozen=True, slots=True)
class CategoryPage(Page):
    template: ClassVar[str] = "category.html"
    race: RaceLink
    category: str
    rows: tuple[ResultRow, ...]
    categories: tuple[CategoryLink, ...]


@dataclass(frozen=True, slots=True)
class AthletePage(Page):
    template: ClassVar[str] = "athlete.html"
    race: RaceLink
    row: ResultRow
    places: tuple[tuple[str, str], ...]  # ("overall", "3 of 113"), ...
    splits: tuple[SplitRow, ...]
    chart: PaceChart | None


def build_pages(
    folder: EventFolder,
    results: EventResults,
    generated_at: datetime,
    actions: Iterable[DirectorAction] = (),
) -> list[Page]:
    """Every page of the site, in a stable order (index, then race by race)."""
    event = folder.event
    site = SiteInfo(
        event.name,
        event.date.isoformat(),
        f"Results generated {generated_at.isoformat(timespec='seconds')} by RetroTime.",
    )
    reasons = dq_reasons(actions)
    links = [race_link(rr, event.timezone) for rr in results.races]
    pages: list[Page] = [IndexPage("index.html", event.name, site, tuple(links), "results.json")]
    for rr, link in zip(results.races, links, strict=True):
        pages.extend(race_pages(rr, link, site, folder.records, reasons))
    return pages


def race_dir(race: Race) -> str:
    return f"races/{slug(race.id)}"


def race_link(rr: RaceResults, tz: Any = None) -> RaceLink:
    base = race_dir(rr.race)
    counts = Counter(r.status for r in rr.results)
    race = rr.race
    kind = "timed" if race.is_timed else "laps" if race.is_lap_race else "road"
    distance = format_distance(race.distance_m)
    if kind == "timed":
        distance = f"{format_duration(race.duration_ms)[:-2]} timed, {race.lap_m:g} m laps"
    elif kind == "laps":
        distance = f"{distance}, {race.laps} laps of {race.lap_m:g} m"
    return RaceLink(
        rr.race.id,
        rr.race.name,
        distance,
        f"{base}/index.html",
        f"{base}/results.csv",
        f"{base}/results.json",
        len(rr.results),
        tuple((s, counts[s]) for s in ("FIN", "RUN", "DNF", "DQ", "DNS") if counts[s]),
        kind,
        state_text(rr.state, tz) if tz is not None else "",
    )


def race_pages(
    rr: RaceResults,
    link: RaceLink,
    site: SiteInfo,
    book: Iterable[Record],
    reasons: dict[str, str],
) -> list[Page]:
    race, base = rr.race, race_dir(rr.race)
    rows = [result_row(r, base, reasons.get(r.bib, "")) for r in rr.results]
    by_category: dict[str, list[ResultRow]] = {}
    for row in rows:
        by_category.setdefault(row.category, []).append(row)
    categories = tuple(
        CategoryLink(c, f"{base}/categories/{slug(c)}.html", len(by_category[c]))
        for c in sorted(by_category, key=category_key)
    )
    sexes = tuple(s for s in ("F", "M", "X") if any(r.sex == s for r in rows))
    pages: list[Page] = [
        RacePage(
            link.href,
            f"{race.name}: results",
            site,
            link,
            tuple(rows),
            sexes,
            categories,
            tuple(record_book_line(r) for r in book if r.distance_m == race.distance_m),
            tuple(r for r in rows if r.records),
        )
    ]
    for category in categories:
        chosen = by_category[category.name]
        pages.append(
            CategoryPage(
                category.href,
                f"{race.name}: {category.name or 'no category'}",
                site,
                link,
                category.name,
                tuple(chosen),
                categories,
            )
        )
    sizes = {
        "overall": sum(1 for r in rows if r.status == "FIN"),
        **{f"sex {s}": sum(1 for r in rows if r.status == "FIN" and r.sex == s) for s in sexes},
        **{
            f"category {c.name}": sum(1 for r in by_category[c.name] if r.status == "FIN")
            for c in categories
        },
    }
    for result, row in zip(rr.results, rows, strict=True):
        places = (
            ("overall", row.place, sizes["overall"]),
            (f"among {row.sex}", row.place_sex, sizes[f"sex {row.sex}"]),
            (f"in {row.category}", row.place_category, sizes[f"category {row.category}"]),
        )
        pages.append(
            AthletePage(
                row.href,
                f"{row.name} ({row.bib}): {race.name}",
                site,
                link,
                row,
                tuple((what, f"{p} of {n}") for what, p, n in places if p is not None),
                split_rows(result),
                pace_chart(result.splits, race.distance_m),
            )
        )
    return pages


def result_row(r: Result, base: str, dq_reason: str) -> ResultRow:
    p = r.participant
    flags = public_flags(r.flags)
    if r.status == "DQ" and not dq_reason:
        dq_reason = "; ".join(f.decision for f in flags if f.decision)
    return ResultRow(
        r.place,
        r.place_sex,
        r.place_category,
        p.bib,
        p.name,
        p.sex,
        p.category,
        p.club,
        p.nation,
        r.status,
        format_duration(r.chip_time_ms) or "",
        format_duration(r.gun_time_ms) or "",
        f"{base}/athletes/{slug(p.bib)}.html",
        f"{base}/categories/{slug(p.category)}.html",
        search_key(p.name, p.bib, p.club),
        flags,
        tuple(record_line(x) for x in r.records),
        dq_reason if r.status == "DQ" else "",
        str(r.laps_completed) if r.laps_completed is not None else "",
        format_km(r.distance_m) if r.distance_m is not None else "",
    )


def split_rows(r: Result) -> tuple[SplitRow, ...]:
    rows = []
    previous = 0.0
    laps = r.laps_completed is not None  # a lap race: one split per counted lap
    for number, split in enumerate(r.splits, start=1):
        rows.append(
            SplitRow(
                f"Lap {number}" if laps else split.point,
                f"{split.distance_m / 1000:g}",
                format_duration(split.chip_time_ms) or "",
                format_duration(split.segment_time_ms) or "",
                format_pace(segment_pace(split, previous)).removesuffix(" /km"),
                split.manual,
            )
        )
        previous = split.distance_m
    return tuple(rows)


def public_flags(flags: Iterable[object]) -> tuple[FlagLine, ...]:
    """The flags the public sees (`is_public`), as lines. A flag is the engine's value or
    its JSON form (a results.json read back); anything else is no flag."""
    shown = []
    for flag in flags:
        if isinstance(flag, RunnerFlag):
            code, point, status = flag.code, str(flag.point), flag.status
            decision = flag.decision.reason if flag.decision else ""
        elif isinstance(flag, Mapping):
            code, point = str(flag.get("code") or ""), str(flag.get("point") or "")
            status, decision = str(flag.get("status") or ""), _decision_text(flag.get("decision"))
        else:
            continue
        if is_public(status):
            label = FLAG_LABELS.get(code, code.replace("_", " ").lower())
            shown.append(FlagLine(code, label, point, decision))
    return tuple(shown)


def _decision_text(decision: Any) -> str:
    if isinstance(decision, dict):
        for key in ("reason", "why", "note", "action"):
            if decision.get(key):
                return str(decision[key])
        return ""
    return "" if decision is None else str(decision)


def dq_reasons(actions: Iterable[DirectorAction]) -> dict[str, str]:
    """The reason of each bib's latest status decision, where that decision is a DQ."""
    latest: dict[str, tuple[str, str]] = {}
    for action in actions:
        if action.kind != "status":
            continue
        try:
            payload = json.loads(action.payload or "{}")
        except ValueError:
            payload = {}
        status = payload.get("status") if isinstance(payload, dict) else None
        latest[action.target] = (str(status or ""), action.reason)
    return {bib: reason for bib, (status, reason) in latest.items() if status == "DQ" and reason}
