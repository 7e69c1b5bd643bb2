"""What every `retrotime` command shares: the consoles, loading an event folder (or
exiting with its problems), and where the journal is."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console

from readers.formats import format_names
from timing.errors import FolderError
from timing.folder import EventFolder, load_folder

console = Console()
err = Console(stderr=True)


def event_folder(path: Path) -> EventFolder:
    """The checked event folder; every problem printed and exit code 2 if it has any."""
    try:
        return load_folder(path, set(format_names()))
    except FolderError as exc:
        err.print(f"[bold red]{len(exc.problems)} problem(s) in {path}:[/]")
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False, highlight=False)
        sys.exit(2)


def journal_url(folder: EventFolder, url: str | None) -> str:
    return url or os.environ.get("RETROTIME_DATABASE_URL") or folder.default_database_url


def missing_sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names, if it does not exist (opening it would create it)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix + ":memory:":
        return None
    path = Path(url[len(prefix) :].split("?", 1)[0])
    return None if path.exists() else path


database_option = click.option(
    "--database-url",
    default=None,
    help="SQLAlchemy URL of the journal (default: retrotime.db in the event folder; "
    "env RETROTIME_DATABASE_URL).",
)
