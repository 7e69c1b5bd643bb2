"""Checking a parsed `event.toml`: shape-checked accessors for its tables and keys,
each problem with the line it is on, unknown names answered with a "did you mean".

Every accessor returns a usable value even when the file is wrong (an empty table, a
key's default or a stand-in), so one pass reports every problem of the file.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from timing.errors import Problem
from timing.settings import TABLES, header, settings_of, subtables

Path = tuple[Any, ...]  # ("races", 0, "points", 2, "distance_m")


class Locator:
    """Line numbers for keys of a TOML file, which tomllib does not report."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.headers: dict[Path, int] = {}
        self.keys: dict[Path, int] = {}
        counts: dict[Path, int] = {}
        current: Path = ()
        for number, line in enumerate(text.splitlines(), start=1):
            match = self._HEADER.match(line)
            if match:
                is_array = match.group(1) == "[["
                current = self._path(is_array, match.group(2).split("."), counts)
                self.headers.setdefault(current, number)
                if is_array:  # the array itself is where its first table is
                    self.headers.setdefault(current[:-1], number)
                continue
            key = self._KEY.match(line)
            if key:
                self.keys.setdefault((*current, key.group(1)), number)

    def _path(self, is_array: bool, names: list[str], counts: dict[Path, int]) -> Path:
        path: Path = ()
        for depth, name in enumerate(names):
            path = (*path, name)
            last = depth == len(names) - 1
            if last and is_array:
                counts[path] = counts.get(path, -1) + 1
                # A new array item restarts the counts of the arrays nested in it.
                for other in [p for p in counts if p[: len(path)] == path and len(p) > len(path)]:
                    del counts[other]
                path = (*path, counts[path])
            elif not last and path in counts:
                path = (*path, counts[path])
        return path

    def line(self, *path: Any) -> int | None:
        for end in range(len(path), 0, -1):
            found = self.keys.get(path[:end]) or self.headers.get(path[:end])
            if found:
                return found
        return None


def did_you_mean(name: str, known: list[str], shown: str = "{}") -> str:
    """`; did you mean [rules]?` for a near miss, else the known names."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {shown.format(close[0])}?"
    return f" (known: {', '.join(shown.format(k) for k in known)})"


def dotted(path: Path) -> str:
    return ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")


class Checker:
    def __init__(self, file: str, locator: Locator) -> None:
        self.file = file
        self.at = locator
        self.problems: list[Problem] = []

    def add(self, path: Path, message: str) -> None:
        self.problems.append(Problem(self.file, self.at.line(*path), dotted(path), message))

    def top(self, data: dict[str, Any]) -> None:
        """Names at the top of the file that are no table RetroTime reads."""
        known = [t for t in TABLES if "." not in t]
        for name, value in data.items():
            if name in known:
                continue
            if isinstance(value, dict | list):
                self.add((name,), f"unknown table [{name}]" + did_you_mean(name, known, "[{}]"))
            else:
                self.add((name,), "unknown key outside any table" + did_you_mean(name, known))

    def table(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        """A `[name]` table; {} (and a problem) if it is missing but required, or no table."""
        value = data.get(name)
        if value is None:
            if TABLES[name][1]:
                self.add((name,), f"a [{name}] table is required")
            return {}
        if not isinstance(value, dict):
            self.add((name,), f"must be a table: write [{name}] with its keys below it")
            return {}
        return value

    def items(self, data: dict[str, Any], path: Path, table: str) -> list[dict[str, Any]]:
        """An array of tables, `[[races]]`; [] (and a problem) for any other shape."""
        key = table.rsplit(".", 1)[-1]
        value = data.get(key)
        if value is None or value == []:
            if TABLES[table][1]:
                self.add((*path, key), f"at least one {header(table)} table is required")
            return []
        if isinstance(value, dict):
            self.add((*path, key), f"must be an array of tables: write {header(table)} for each")
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.add((*path, key), f"must be {header(table)} tables, not {_shape(value)}")
            return []
        return value

    def values(self, item: dict[str, Any], path: Path, table: str) -> dict[str, Any]:
        """Every key of `table` parsed by its setting's kind: the default where the key is
        absent, a problem and a stand-in where it is required or bad; unknown keys too."""
        settings = settings_of(table)
        nested = subtables(table)
        known = [*settings, *nested]
        for key in item:
            if key not in known:
                where = header(table)
                self.add((*path, key), f"unknown key in {where}" + did_you_mean(key, known))
        values: dict[str, Any] = {}
        for key, setting in settings.items():
            if key not in item:
                if setting.required:
                    self.add((*path, key), "is required")
                    values[key] = setting.kind.fallback
                else:
                    values[key] = setting.default
                continue
            try:
                values[key] = setting.kind.parse(item[key])
            except ValueError as exc:
                self.add((*path, key), str(exc))
                values[key] = setting.kind.fallback if setting.required else setting.default
        return values


def _shape(value: Any) -> str:
    if isinstance(value, list):
        inner = next((v for v in value if not isinstance(v, dict)), None)
        return f"a list holding {type(inner).__name__} {inner!r}"[:80]
    return f"{type(value).__name__} {value!r}"[:80]
