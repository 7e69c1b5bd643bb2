"""Storage faults of the journal, named for the timer: what failed, where, what to do.

The drivers say `database or disk is full`, `unable to open database file`,
`database is locked`; a timer on race day needs the file, the cause and the next step.
SQLite's error names (`sqlite_errorname`) and PostgreSQL's SQLSTATE classes are mapped
to a few kinds; an error that is not about storage (a bug, a constraint) is left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL

from timing.errors import TimingError

FULL, READ_ONLY, LOCKED, CANNOT_OPEN, DISK, UNREACHABLE = (
    "full",
    "read-only",
    "locked",
    "cannot open",
    "disk error",
    "unreachable",
)

_SQLITE = {
    "SQLITE_FULL": FULL,
    "SQLITE_READONLY": READ_ONLY,
    "SQLITE_BUSY": LOCKED,
    "SQLITE_LOCKED": LOCKED,
    "SQLITE_CANTOPEN": CANNOT_OPEN,
    "SQLITE_IOERR": DISK,
    "SQLITE_PERM": READ_ONLY,
}
_POSTGRES = {"53100": FULL, "25006": READ_ONLY, "55P03": LOCKED, "40P01": LOCKED}

_SAYS = {
    FULL: "the disk of {} is full",
    READ_ONLY: "{} is read-only",
    LOCKED: "{} is locked",
    CANNOT_OPEN: "{} cannot be opened",
    DISK: "{} gave a disk error",
    UNREACHABLE: "{} cannot be reached",
}
_ADVICE = {
    FULL: "free space on that disk, then run the same command again: what was stored is kept",
    READ_ONLY: "make it writable, or keep the journal on a writable disk",
    LOCKED: "another program is writing the journal (a running serve or replay?): stop it "
    "or let it finish, then run the same command again",
    CANNOT_OPEN: "check that its folder exists and can be written",
    DISK: "check the disk (full, removed, read-only?), then run the same command again",
    UNREACHABLE: "check that the database server runs and the URL is right, then run again",
}


class StorageError(TimingError):
    """The journal could not be read or written; nothing stored before is lost."""

    def __init__(self, doing: str, where: str, kind: str, detail: str) -> None:
        self.doing, self.where, self.kind, self.detail = doing, where, kind, detail
        says = _SAYS[kind].format(where)
        super().__init__(f"cannot {doing}: {says} ({detail}); {_ADVICE[kind]}")


def storage_fault(url: URL, doing: str, orig: BaseException | None) -> StorageError | None:
    """The `StorageError` for a driver error, or None if it is not about storage."""
    detail = str(orig).strip().splitlines()[0] if orig is not None and str(orig) else "no detail"
    if url.get_backend_name() == "sqlite":
        name = getattr(orig, "sqlite_errorname", "") or ""
        kind = next((k for prefix, k in _SQLITE.items() if name.startswith(prefix)), None)
        if kind is None:
            return None
        path = Path(url.database or ":memory:").absolute()
        if kind in (CANNOT_OPEN, DISK, READ_ONLY) and _read_only(path.parent):
            return StorageError(doing, f"the folder {path.parent}", READ_ONLY, detail)
        return StorageError(doing, f"the journal {path}", kind, detail)
    where = f"the journal {url.render_as_string(hide_password=True)}"
    state = getattr(orig, "sqlstate", None)
    if state in _POSTGRES:
        return StorageError(doing, where, _POSTGRES[state], detail)
    if (state is None and _about_the_link(orig)) or (state or "").startswith("08"):
        return StorageError(doing, where, UNREACHABLE, detail)  # no answer, or the link failed
    return None


def _about_the_link(orig: BaseException | None) -> bool:
    """A driver error without SQLSTATE is about the link only if PEP 249 calls it an
    OperationalError or InterfaceError; a DataError (a NUL in text) is the row's fault."""
    names = {cls.__name__ for cls in type(orig).__mro__}
    return bool(names & {"OperationalError", "InterfaceError"})


def _read_only(folder: Path) -> bool:
    """Whether the file system of `folder` is mounted read-only (root ignores the
    permission bits, not the mount)."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY) or not os.access(folder, os.W_OK)
    except OSError:
        return False
