"""The example event replayed once per session, and its published site."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from readers.formats import format_names
from results.evidence import write_evidence
from results.site import publish_site
from timing.engine import Engine, EventResults
from timing.folder import EventFolder, load_folder
from timing.ingest import build_engine
from timing.store import Store
from web.replay import replay

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "riverside"
READERS = ("START", "K5", "K10", "K15", "FIN")
GENERATED = datetime(2026, 4, 12, 18, 0, tzinfo=UTC)


@dataclass
class Example:
    folder: EventFolder
    url: str
    store: Store
    engine: Engine
    results: EventResults


@pytest.fixture(scope="session")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    """The example event journalled into a SQLite file, as `make example` does."""
    folder = load_folder(EXAMPLE, set(format_names()))
    url = f"sqlite:///{tmp_path_factory.mktemp('journal') / 'example.db'}"
    store = Store(url)
    replay(folder, store, [(r, EXAMPLE / "logs" / f"{r}.log") for r in READERS])
    engine = build_engine(folder, store)
    yield Example(folder, url, store, engine, engine.results())
    store.close()


@pytest.fixture(scope="session")
def site(example: Example, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    publish_site(
        out,
        example.folder,
        example.results,
        example.store.count_quarantined(),
        GENERATED,
        example.store.actions(),
    )
    return out


def copy_journal(url: str, path: Path) -> str:
    """A copy of an SQLite journal, for tests that record director actions."""
    source = sqlite3.connect(url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as target:
        source.backup(target)
    source.close()
    return f"sqlite:///{path}"


BIB = "506"  # the half marathon's winner


@pytest.fixture(scope="session")
def journal(example: Example, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the example's journal: the decisions recorded here stay here."""
    return copy_journal(example.url, tmp_path_factory.mktemp("evidence") / "journal.db")


@pytest.fixture(scope="session")
def pack(example: Example, journal: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = Store(journal)
    store.record_action("director", "status", BIB, {"status": "DQ"}, "testing a DQ")
    store.record_action("director", "status", BIB, {"status": ""}, "DQ withdrawn")
    store.record_action("director", "status", "101", {"status": "DNF"}, "someone else")
    gun = example.folder.event.races[0].waves[0].gun_ms
    store.record_action(
        "director", "gun", "half", {"race": "half", "wave": "H1", "time_ms": gun}, "gun"
    )
    engine = build_engine(example.folder, store)
    out = tmp_path_factory.mktemp("evidence") / f"bib-{BIB}.zip"
    write_evidence(out, engine, store, BIB, GENERATED)
    store.close()
    return out
