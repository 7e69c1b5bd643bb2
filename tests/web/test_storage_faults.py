"""Storage faults through the real command: a full disk (a small tmpfs), a read-only
event folder (a read-only bind mount: root ignores permission bits, not the mount), a
journal locked by another program, a database server that does not answer. Each ends
in one line saying what, where and what to do, exit code 2, with what was stored kept;
run again once the fault is gone, the command resumes and the journal is exactly that
of an undisturbed run. Where this machine refuses mount, those tests skip and say so."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "riverside"
READERS = ("START", "K5", "K10", "K15", "FIN")
FOLDER_FILES = ("event.toml", "participants.csv", "records.csv")


def retrotime(*args: str | Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "web.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "100"},
    )


def replay(folder: Path) -> subprocess.CompletedProcess[str]:
    logs = [a for r in READERS for a in ("--log", f"{r}={EXAMPLE / 'logs' / f'{r}.log'}")]
    return retrotime("replay", folder, *logs)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exit code 2 and said why in one line, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def copy_folder(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in FOLDER_FILES:
        shutil.copy(EXAMPLE / name, target / name)
    return target


def journal(db: Path) -> tuple[set[tuple], set[tuple], int]:
    """What a journal holds: read origins with their content, quarantined origins, and
    the number of reads (to see that none is stored twice)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        reads = set(conn.execute("SELECT reader_id, source, seq, chip, time_ms FROM raw_reads"))
        bad = set(conn.execute("SELECT reader_id, source, seq, reason FROM quarantined_lines"))
        count = conn.execute("SELECT count(*) FROM raw_reads").fetchone()[0]
    return reads, bad, count


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"this machine refuses mount {' '.join(args)}: {done.stderr.strip()}")


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A small file system of `size`, to fill; `remount(path, size)` frees space."""
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)


@contextlib.contextmanager
def read_only(source: Path, view: Path) -> Iterator[Path]:
    """`source` seen read-only at `view`, as a write-protected card or share would be."""
    view.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(source), str(view))
    try:
        _mount("-o", "remount,bind,ro", str(view))
        yield view
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


def tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example replayed with no fault: the journal every resumed run must match."""
    folder = copy_folder(tmp_path_factory.mktemp("undisturbed") / "event")
    assert replay(folder).returncode == 0
    return folder


def test_replay_on_a_full_disk_keeps_what_was_stored_and_resumes(
    tmp_path: Path, undisturbed: Path
) -> None:
    # 8 MB holds the first logs and part of K10 (the whole journal takes about 9 MB).
    with tmpfs(tmp_path / "disk", "8m") as disk:
        folder = copy_folder(disk / "event")
        line = one_error_line(replay(folder))
        assert line == (
            f"error: cannot journal reads: the disk of the journal {folder / 'retrotime.db'} "
            "is full (database or disk is full); free space on that disk, then run the same "
            "command again: what was stored is kept"
        )
        kept, _, _ = journal(folder / "retrotime.db")
        expected_reads, expected_bad, expected_count = journal(undisturbed / "retrotime.db")
        assert 0 < len(kept) < len(expected_reads) and kept <= expected_reads
        remount(disk, "64m")
        again = replay(folder)
        assert again.returncode == 0, again.stderr
        assert "lines already stored" in again.stdout
        assert journal(folder / "retrotime.db") == (expected_reads, expected_bad, expected_count)


def test_replay_on_a_read_only_folder_says_so(tmp_path: Path) -> None:
    source = copy_folder(tmp_path / "event")
    with read_only(source, tmp_path / "view") as view:
        assert one_error_line(replay(view)) == (
            f"error: cannot open the journal: the folder {view} is read-only (unable to open "
            "database file); make it writable, or keep the journal on a writable disk"
        )
    assert sorted(p.name for p in source.iterdir()) == sorted(FOLDER_FILES)


def test_serve_on_a_read_only_folder_says_so(tmp_path: Path, undisturbed: Path) -> None:
    source = tmp_path / "event"
    shutil.copytree(undisturbed, source)
    tokens = "".join(f'{r} = "token-{r}"\n' for r in READERS)
    (source / "tokens.toml").write_text(tokens)
    with read_only(source, tmp_path / "view") as view:
        line = one_error_line(retrotime("serve", view, "--password", "x", "--port", "0"))
        assert line.startswith(f"error: cannot open the journal: the folder {view} is read-only")
    (source / "tokens.toml").unlink()
    with read_only(source, tmp_path / "view") as view:
        line = one_error_line(retrotime("serve", view, "--password", "x", "--port", "0"))
        assert line == (
            f"error: cannot write {view / 'tokens.toml'}: Read-only file system; the disk is "
            "mounted read-only: make it writable or write elsewhere"
        )


def test_publish_on_a_full_disk_leaves_no_partial_files(tmp_path: Path, undisturbed: Path) -> None:
    when = ("--generated-at", "2026-04-12T18:00:00+01:00")
    with tmpfs(tmp_path / "disk", "400k") as disk:
        line = one_error_line(retrotime("publish", undisturbed, "--out", disk / "site", *when))
        assert line == (
            f"error: cannot write {disk / 'site'}: No space left on device; free space on that "
            "disk, then run the same command again"
        )
        assert list(disk.iterdir()) == []  # not even the empty folder it made
        remount(disk, "16m")
        assert retrotime("publish", undisturbed, "--out", disk / "site", *when).returncode == 0
        site = tree(disk / "site")
        assert "retrotime-site.json" in site and len(site) > 200
        remount(disk, "3m")  # the site takes about 2.8 MB: no room for a second copy
        one_error_line(retrotime("publish", undisturbed, "--out", disk / "site", *when))
        assert tree(disk / "site") == site  # the earlier site, whole and unchanged
        assert [p.name for p in (disk / "site").iterdir() if p.name.startswith(".")] == []


def test_replay_on_a_locked_journal_says_so_then_resumes(
    tmp_path: Path, undisturbed: Path
) -> None:
    folder = copy_folder(tmp_path / "event")
    first = retrotime("replay", folder, "--log", f"FIN={EXAMPLE / 'logs' / 'FIN.log'}")
    assert first.returncode == 0
    holder = sqlite3.connect(folder / "retrotime.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another program writing, for longer than we wait
        line = one_error_line(replay(folder))
    finally:
        holder.close()
    assert line == (
        f"error: cannot journal reads: the journal {folder / 'retrotime.db'} is locked "
        "(database is locked); another program is writing the journal (a running serve or "
        "replay?): stop it or let it finish, then run the same command again"
    )
    assert replay(folder).returncode == 0
    assert journal(folder / "retrotime.db") == journal(undisturbed / "retrotime.db")


def test_replay_to_a_database_server_that_does_not_answer(tmp_path: Path) -> None:
    folder = copy_folder(tmp_path / "event")
    url = "postgresql+psycopg://timer:secret@127.0.0.1:1/race"
    line = one_error_line(
        retrotime("replay", folder, "--log", f"FIN={EXAMPLE / 'logs' / 'FIN.log'}",
                  "--database-url", url)
    )  # fmt: skip
    assert line.startswith(
        "error: cannot open the journal: the journal postgresql+psycopg://timer:***@127.0.0.1:1/"
        "race cannot be reached (connection failed:"
    )
    assert line.endswith("check that the database server runs and the URL is right, then run again")
    assert "secret" not in line
