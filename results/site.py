"""The static result site: pages, downloads and a manifest, written to a folder.

    index.html                      races, with links to their pages and downloads
    results.json                    the event's results JSON (as `retrotime replay` writes)
    races/<race>/index.html         full results, with filters and name search
    races/<race>/results.csv|json   downloads of one race
    races/<race>/categories/<c>.html
    races/<race>/athletes/<bib>.html  splits, segment paces, pace chart, flags, records
    static/site.css, static/site.js
    retrotime-site.json             manifest: marks the folder as a RetroTime site and
                                    lists every file with its SHA-256

The same inputs give byte-identical files: the only time written is `generated_at`,
which the caller passes in, and everything is written in a stable order. Publishing
again into an earlier site replaces it (files the new site no longer has are removed);
any other non-empty folder is refused unless `force` is given.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from results.errors import ResultsError, SiteRefused
from results.exports import json_bytes, race_csv, race_json
from results.pages import (
    STATUS_LABELS,
    Page,
    RacePage,
    build_pages,
    public_flags,
)
from timing.engine import EventResults
from timing.flags import is_public
from timing.folder import EventFolder
from timing.report import results_json
from timing.store import DirectorAction

MANIFEST = "retrotime-site.json"
GENERATOR = "RetroTime"
HERE = Path(__file__).parent
STATIC = HERE / "static"


@dataclass(frozen=True, slots=True)
class PublishSummary:
    files: int
    pages: int
    bytes: int
    removed: int  # files of the earlier site the new one no longer has


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["STATUS_LABELS"] = STATUS_LABELS
    return env


def render(page: Page) -> bytes:
    return environment().get_template(page.template).render(page=page).encode("utf-8")


def public_json(data: dict[str, Any]) -> dict[str, Any]:
    """The results JSON as published: the same contract, with only the flags the director
    confirmed (open or dismissed suspicions are not for the public)."""
    races = [
        {
            **race,
            "results": [
                {
                    **r,
                    "flags": [f for f in r["flags"] if is_public(str(f.get("status", "")))],
                }
                for r in race["results"]
            ],
        }
        for race in data["races"]
    ]
    return {**data, "races": races}


def site_files(
    folder: EventFolder,
    results: EventResults,
    quarantined: int,
    generated_at: datetime,
    actions: Iterable[DirectorAction] = (),
) -> tuple[int, Iterator[tuple[str, bytes]]]:
    """How many files the site has, and the files (path, content) in a stable order."""
    pages = build_pages(folder, results, generated_at, actions)
    event = folder.event
    data = public_json(results_json(event.name, results, quarantined, event.timezone, generated_at))
    statics = sorted(p for p in STATIC.iterdir() if p.is_file())
    by_id = {rr.race.id: rr for rr in results.races}

    def files() -> Iterator[tuple[str, bytes]]:
        for path in statics:
            yield f"static/{path.name}", path.read_bytes()
        yield "results.json", json_bytes(data)
        for page in pages:
            yield page.path, render(page)
            if isinstance(page, RacePage):
                rr = by_id[page.race.id]
                shown = {r.bib: " ".join(f.code for f in public_flags(r.flags)) for r in rr.results}
                base = page.path.rsplit("/", 1)[0]
                yield f"{base}/results.csv", race_csv(rr, event.date, event.timezone, shown)
                yield f"{base}/results.json", json_bytes(race_json(data, rr.race.id))

    races = sum(isinstance(p, RacePage) for p in pages)
    return len(statics) + 1 + len(pages) + 2 * races, files()


def publish_site(
    out: Path,
    folder: EventFolder,
    results: EventResults,
    quarantined: int,
    generated_at: datetime,
    actions: Iterable[DirectorAction] = (),
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PublishSummary:
    """Write the site into `out`; `progress(done, total)` is called as files are written.

    The files are written into a staging folder inside `out` and moved into place only
    once all of them are written: a full disk leaves `out` as it was.
    """
    made_out = not out.exists()
    earlier = prepare_folder(out, force)
    staging = Path(tempfile.mkdtemp(prefix=".publishing-", dir=out))
    try:
        hashes, pages, size = _write_all(staging, folder, results, quarantined, generated_at,
                                         actions, progress)  # fmt: skip
        manifest = {
            "generator": GENERATOR,
            "version": 1,
            "event": folder.event.name,
            "generated_at": generated_at.isoformat(timespec="seconds"),
            "files": dict(sorted(hashes.items())),
        }
        content = json_bytes(manifest)
        (staging / MANIFEST).write_bytes(content)
    except BaseException as exc:
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(out)  # a full disk fails the write, which names no file
        shutil.rmtree(staging, ignore_errors=True)
        if made_out and not any(out.iterdir()):
            out.rmdir()
        raise
    _move_into(staging, out)
    shutil.rmtree(staging, ignore_errors=True)
    removed = _remove_stale(out, earlier - hashes.keys())
    return PublishSummary(len(hashes) + 1, pages, size + len(content), removed)


def _move_into(source: Path, target: Path) -> None:
    """Move the tree `source` into `target` by renames alone (a folder `target` lacks is
    renamed whole), which need no space: a full disk cannot stop them half way."""
    for entry in sorted(source.iterdir()):
        there = target / entry.name
        if entry.is_dir() and there.is_dir():
            _move_into(entry, there)
        else:
            os.replace(entry, there)


def _write_all(
    staging: Path,
    folder: EventFolder,
    results: EventResults,
    quarantined: int,
    generated_at: datetime,
    actions: Iterable[DirectorAction],
    progress: Callable[[int, int], None] | None,
) -> tuple[dict[str, str], int, int]:
    """Every file of the site into `staging`: (SHA-256 by name, pages, bytes)."""
    total, files = site_files(folder, results, quarantined, generated_at, actions)
    hashes: dict[str, str] = {}
    made: set[Path] = set()
    size = pages = 0
    for done, (name, content) in enumerate(files, start=1):
        target = staging / name
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        target.write_bytes(content)
        hashes[name] = hashlib.sha256(content).hexdigest()
        size += len(content)
        pages += name.endswith(".html")
        if progress is not None and (done % 250 == 0 or done == total):
            progress(done, total)
    return hashes, pages, size


def prepare_folder(out: Path, force: bool) -> set[str]:
    """Check that `out` may be written; return the files of the earlier site in it."""
    if out.exists() and not out.is_dir():
        raise ResultsError(f"{out} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    for left in out.glob(".publishing-*"):  # the staging folder of a publish cut short
        shutil.rmtree(left, ignore_errors=True)
    if not any(out.iterdir()):
        return set()
    earlier = read_manifest(out)
    if earlier is None:
        if force:
            return set()
        raise SiteRefused(
            f"{out} is not empty and is not a site RetroTime published "
            f"(no {MANIFEST}); choose an empty folder or give --force"
        )
    return earlier


def read_manifest(out: Path) -> set[str] | None:
    """The files an earlier RetroTime site in `out` lists; None if there is none."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("generator") != GENERATOR:
        return None
    files = data.get("files")
    return {name for name in files if isinstance(name, str)} if isinstance(files, dict) else None


def _remove_stale(out: Path, names: Iterable[str]) -> int:
    """Delete files of the earlier site, never outside `out`; then their empty folders."""
    root = out.resolve()
    removed = 0
    for name in sorted(names):
        target = (out / name).resolve()
        if root not in target.parents or not target.is_file():
            continue
        target.unlink()
        removed += 1
        for parent in target.parents:
            if parent == root or any(parent.iterdir()):
                break
            parent.rmdir()
    return removed
