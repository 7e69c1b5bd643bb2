"""`participants.csv`: who runs, in which race and wave, wearing which chips.

Header names, any column order, UTF-8 with or without BOM (UTF-16 with a BOM, as
spreadsheets save "Unicode text", is read too); columns RetroTime does not know are
kept in `extra`. Every bad row is reported with its line number.

`role` (optional) is `runner`, the default, or `spotter`: someone who runs beside a
runner (`guides` names the bib), wearing chips so that their reads are known, but is
never timed, ranked or counted for anyone. A spotter may leave sex and age empty.
"""

from __future__ import annotations

import csv
import difflib
import io
import itertools
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from timing.config import Event
from timing.errors import Problem
from timing.textfile import read_text

REQUIRED = ("bib", "first_name", "last_name", "sex", "race", "wave", "chip_front")
KNOWN = (*REQUIRED, "birth_date", "age", "chip_back", "club", "nation", "role", "guides")
SEXES = ("F", "M", "X")
ROLES = ("runner", "spotter")
AGES = (3, 120)  # on race day, from the birth date or the age column


@dataclass(frozen=True, slots=True)
class Participant:
    bib: str
    first_name: str
    last_name: str
    sex: str
    age: int | None
    race: str
    wave: str
    chip_front: str
    chip_back: str | None
    club: str = ""
    nation: str = ""
    birth_date: date | None = None
    category: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    role: str = "runner"  # or "spotter"
    guides: str = ""  # a spotter: the bib of the runner they accompany

    @property
    def is_spotter(self) -> bool:
        return self.role == "spotter"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def chips(self) -> tuple[str, ...]:
        return (self.chip_front,) if not self.chip_back else (self.chip_front, self.chip_back)


def category_for(sex: str, age: int | None, bounds: tuple[int, ...]) -> str:
    """Sex plus age band on race day: U20, 20-34, 35-39 ... 80+ with the default bounds."""
    if age is None:
        return sex
    if not bounds or age < bounds[0]:
        return f"{sex}U{bounds[0]}" if bounds else sex
    for low, high in itertools.pairwise(bounds):
        if low <= age < high:
            return f"{sex}{low}-{high - 1}"
    return f"{sex}{bounds[-1]}+"


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def load_participants(path: Path, event: Event) -> tuple[list[Participant], list[Problem]]:
    file = path.name
    text, problems = read_text(path, utf16=True)
    if text is None:
        return [], problems
    rows = csv.DictReader(io.StringIO(text, newline=""))
    people: list[Participant] = []
    lines: list[int] = []
    try:
        header = [h.strip() for h in rows.fieldnames or []]
        rows.fieldnames = header
        missing = [c for c in REQUIRED if c not in header]
        if "birth_date" not in header and "age" not in header:
            missing.append("birth_date or age")
        if missing:
            return [], [Problem(file, 1, "header", f"missing column(s): {', '.join(missing)}")]
        for row in rows:
            person = _row(file, rows.line_num, row, event, problems)
            if person is not None:
                people.append(person)
                lines.append(rows.line_num)
    except csv.Error as exc:  # a field over the csv module's limit (131,072 characters)
        line = rows.reader.line_num  # DictReader.line_num is not advanced on an error
        problems.append(Problem(file, line, "-", f"{exc}; the rows after it not read"))
    _check_unique(file, people, lines, problems)
    _check_spotters(file, people, lines, problems)
    return people, problems


def _row(
    file: str, line: int, row: dict[str, str | None], event: Event, problems: list[Problem]
) -> Participant | None:
    value = {k: (v or "").strip() for k, v in row.items() if k is not None}
    before = len(problems)

    def bad(column: str, message: str) -> None:
        problems.append(Problem(file, line, column, message))

    if None in row:
        bad("-", "more fields than the header has columns")
    elif any(v is None for v in row.values()):
        missing = sum(v is None for v in row.values())
        bad("-", f"{missing} field(s) fewer than the header has columns")
    if not value["bib"]:
        bad("bib", "is empty")
    role = value.get("role", "").lower() or "runner"
    if role not in ROLES:
        bad("role", f"{value['role']!r} must be runner or spotter (or empty: runner)")
    spotter = role == "spotter"
    guides = value.get("guides", "")
    if guides and not spotter:
        bad("guides", f"only a spotter guides a runner (role is {role!r})")
    sex = value["sex"].upper()
    if sex not in SEXES and not (spotter and not sex):
        bad("sex", f"{value['sex']!r} must be F, M or X")
    if spotter and not value.get("birth_date") and not value.get("age"):
        birth, age = None, None
    else:
        birth, age = _age(value, event.date, bad)
    race = event.race(value["race"])
    if race is None and spotter and not value["race"]:
        bad("race", "a spotter must be in a race: the race of the runner they guide")
    elif race is None:
        hint = _near(value["race"], [r.id for r in event.races])
        bad("race", f"unknown race {value['race']!r}{hint}")
    elif race.wave(value["wave"]) is None:
        hint = _near(value["wave"], [w.id for w in race.waves])
        bad("wave", f"unknown wave {value['wave']!r} of race {race.id!r}{hint}")
    if not value["chip_front"]:
        bad("chip_front", "is empty")
    back = value.get("chip_back") or None
    if back and race is not None and race.chips == ("front",):
        bad("chip_back", f"race {race.id!r} is a one-chip race")
    if len(problems) > before:
        return None
    extra = {k: v for k, v in value.items() if k not in KNOWN}
    return Participant(
        value["bib"],
        value["first_name"],
        value["last_name"],
        sex,
        age,
        value["race"],
        value["wave"],
        value["chip_front"],
        back,
        value.get("club", ""),
        value.get("nation", ""),
        birth,
        category_for(sex, age, event.age_bounds) if not spotter else "",
        extra,
        role,
        guides,
    )


def _near(name: str, known: list[str]) -> str:
    """`; did you mean 'half'?` for a near miss (a typo, another case), else nothing."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    folded = [k for k in known if k.casefold() == name.casefold()]
    return f"; did you mean {(folded or close)[0]!r}?" if folded or close else ""


def _age(value: dict[str, str], day: date, bad) -> tuple[date | None, int | None]:
    if value.get("birth_date"):
        try:
            birth = date.fromisoformat(value["birth_date"])
        except ValueError:
            bad("birth_date", f"{value['birth_date']!r} is not an ISO date like 1980-05-17")
            return None, None
        age = age_on(birth, day)
        if not AGES[0] <= age <= AGES[1]:
            bad("birth_date", f"{birth} gives an age of {age} on race day ({day}), not "
                f"{AGES[0]} to {AGES[1]}")  # fmt: skip
            return None, None
        return birth, age
    if value.get("age"):
        # ASCII digits only: str.isdigit() takes "²", which int() refuses.
        if not re.fullmatch(r"[0-9]{1,3}", value["age"]) or not (
            AGES[0] <= int(value["age"]) <= AGES[1]
        ):
            bad("age", f"{value['age']!r} is not an age in years ({AGES[0]} to {AGES[1]})")
            return None, None
        return None, int(value["age"])
    bad("birth_date", "give birth_date or age")
    return None, None


def _check_unique(
    file: str, people: list[Participant], lines: list[int], problems: list[Problem]
) -> None:
    bibs: dict[str, int] = {}
    chips: dict[str, tuple[str, int]] = {}
    for person, line in zip(people, lines, strict=True):
        if person.bib in bibs:
            problems.append(
                Problem(
                    file,
                    line,
                    "bib",
                    f"duplicate bib {person.bib!r} (first on line {bibs[person.bib]})",
                )
            )
        bibs.setdefault(person.bib, line)
        if person.chip_back and person.chip_back == person.chip_front:
            problems.append(
                Problem(
                    file, line, "chip_back", f"bib {person.bib}: front and back chip are the same"
                )
            )
        for column, chip in (("chip_front", person.chip_front), ("chip_back", person.chip_back)):
            if not chip:
                continue
            owner = chips.get(chip)
            if owner is not None and owner[0] != person.bib:
                problems.append(
                    Problem(
                        file,
                        line,
                        column,
                        f"chip {chip!r} is shared by bib "
                        f"{owner[0]} (line {owner[1]}) and bib {person.bib}",
                    )
                )
            chips.setdefault(chip, (person.bib, line))


def _check_spotters(
    file: str, people: list[Participant], lines: list[int], problems: list[Problem]
) -> None:
    """A spotter guides a runner (not a spotter) of their own race."""
    by_bib = {p.bib: p for p in people}
    for person, line in zip(people, lines, strict=True):
        if not person.is_spotter or not person.guides:
            continue
        runner = by_bib.get(person.guides)
        if runner is None:
            message = f"spotter {person.bib} guides an unknown bib {person.guides!r}"
        elif runner.is_spotter:
            message = f"spotter {person.bib} guides bib {runner.bib}, another spotter"
        elif runner.race != person.race:
            message = (
                f"spotter {person.bib} is in race {person.race!r} but bib {runner.bib} "
                f"runs race {runner.race!r}"
            )
        else:
            continue
        problems.append(Problem(file, line, "guides", message))
