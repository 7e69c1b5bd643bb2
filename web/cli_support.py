"""What every `retrotime` command shares: the consoles, loading an event folder (or
exiting with its problems), where the journal is, and storage faults as one line and
exit code 2."""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from readers.formats import format_names
from timing.config import Event
from timing.errors import FolderError
from timing.folder import EventFolder, load_folder
from timing.settings import changed, value_text
from timing.store import StorageError, Store

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


def print_changed_settings(event: Event) -> None:
    """`check`: the settings the event changes from their default, and what each does."""
    for setting, value in changed(event.given):
        console.print(
            f"  [{setting.table}] {setting.key} = {value_text(value)} "
            f"(default {value_text(setting.default)}): {setting.help}",
            markup=False,
            highlight=False,
        )


def check_journal(url: str) -> None:
    """Raise `StorageError` if the journal at `url` cannot be opened and written."""
    store = Store(url)
    try:
        store.check_writable()
    finally:
        store.close()


def journal_url(folder: EventFolder, url: str | None) -> str:
    return url or os.environ.get("RETROTIME_DATABASE_URL") or folder.default_database_url


database_option = click.option(
    "--database-url",
    default=None,
    help="SQLAlchemy URL of the journal (default: retrotime.db in the event folder; "
    "env RETROTIME_DATABASE_URL).",
)


# Errors of a disk, not of RetroTime: said in one line, never as a traceback.
_DISK_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EIO}
_DISK_ADVICE = {
    errno.ENOSPC: "free space on that disk, then run the same command again",
    errno.EDQUOT: "free space (the disk quota is used up), then run the same command again",
    errno.EROFS: "the disk is mounted read-only: make it writable or write elsewhere",
}


class Main(click.Group):
    """The `retrotime` group: a storage fault in any command ends it with one line
    saying what, where and what to do, and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StorageError as exc:
            fault(str(exc))
        except OSError as exc:
            if exc.errno not in _DISK_ERRNOS:
                raise
            code = exc.errno or 0
            advice = _DISK_ADVICE.get(code, "check the path, its disk and its permissions")
            verb = "write" if code in _DISK_ADVICE else "open"
            fault(f"cannot {verb} {exc.filename or 'a file'}: {exc.strerror}; {advice}")


def fault(message: str) -> None:
    err.print(f"error: {message}", style="bold red", markup=False, highlight=False, soft_wrap=True)
    sys.exit(2)


def write_file(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all: into a temporary file beside it, then renamed
    over it, so a full disk never leaves half a file."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # a full disk fails the write, which names no file
        raise
