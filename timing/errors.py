"""Errors of the timing domain.

    TimingError
    └── FolderError        an event folder with one or more problems (all listed at once)

A `Problem` names the file, line and field so a timer can find and fix it.
"""

from __future__ import annotations

from dataclasses import dataclass


class TimingError(Exception):
    """Root of the errors raised by `timing/`."""


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}"


class FolderError(TimingError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
