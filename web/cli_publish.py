"""`retrotime publish` and `retrotime evidence`: the static result site and a record
evidence pack, both rebuilt from the journal (no reader logs needed).

Registered in `web/cli.py` with `main.add_command(publish)` and
`main.add_command(evidence)`; the helpers both share are in `web/cli_support.py`.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from results.errors import ResultsError, SiteRefused
from results.evidence import write_evidence
from results.evidence_print import pdf_available
from results.site import publish_site
from timing.errors import TimingError
from timing.ingest import build_engine
from timing.store import Store
from web.cli_support import (
    console,
    database_option,
    err,
    event_folder,
    journal_url,
    missing_sqlite_file,
)

generated_option = click.option(
    "--generated-at",
    "generated_at",
    default=None,
    metavar="ISO8601",
    help="The time written as 'generated' (default: SOURCE_DATE_EPOCH if set, else now); "
    "the same journal and time give byte-identical files.",
)


def _generated_at(value: str | None) -> datetime:
    if value:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise click.BadParameter(
                f"{value!r} is not an ISO 8601 time like 2026-04-12T18:00:00+01:00",
                param_hint="--generated-at",
            ) from None
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC).replace(microsecond=0)


@click.command()
@click.argument("event_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the site (empty, or an earlier RetroTime site).",
)
@click.option("--force", is_flag=True, help="Write into a non-empty folder that is not a site.")
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Publish even from a journal with no reads (every runner DNS).",
)
@generated_option
@database_option
def publish(
    event_dir: Path,
    out_dir: Path,
    force: bool,
    allow_empty: bool,
    generated_at: str | None,
    database_url: str | None,
) -> None:
    """Publish the static result site: race, category and athlete pages, CSV and JSON."""
    folder = event_folder(event_dir)
    when = _generated_at(generated_at)
    url = journal_url(folder, database_url)
    missing = missing_sqlite_file(url)
    if missing is not None and not allow_empty:
        err.print(
            f"[bold red]refused:[/] no journal at {missing}: replay the reader logs or serve "
            "the event first (or give --database-url); --allow-empty publishes every runner DNS",
            highlight=False,
        )
        sys.exit(2)
    if missing is not None:
        url = "sqlite://"  # an empty journal in memory: reading creates no file
    store = Store(url)
    try:
        if store.count_reads() == 0 and not allow_empty:
            err.print(
                "[bold red]refused:[/] the journal holds no reads: every runner would be DNS "
                "(--allow-empty publishes it anyway)",
                highlight=False,
            )
            sys.exit(2)
        engine = build_engine(folder, store)
        results = engine.results()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("publishing", total=None)
            summary = publish_site(
                out_dir,
                folder,
                results,
                store.count_quarantined(),
                when,
                store.actions(),
                force=force,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except SiteRefused as exc:
        err.print(f"[bold red]refused:[/] {exc}", highlight=False)
        sys.exit(2)
    except (ResultsError, TimingError) as exc:
        err.print(f"[bold red]cannot publish:[/] {exc}", highlight=False)
        sys.exit(2)
    finally:
        store.close()
    console.print(
        f"{summary.files:,} files ({summary.pages:,} pages, {summary.bytes / 1e6:.1f} MB) "
        f"written to {out_dir}"
        + (f"; {summary.removed:,} files of the earlier site removed" if summary.removed else ""),
        highlight=False,
    )


@click.command()
@click.argument("event_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--bib", required=True, help="The bib whose result the pack documents.")
@click.option(
    "--out",
    "out_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The zip file to write.",
)
@generated_option
@database_option
def evidence(
    event_dir: Path,
    bib: str,
    out_file: Path,
    generated_at: str | None,
    database_url: str | None,
) -> None:
    """Write the record evidence pack of one bib: raw reads, crossings, flags, decisions,
    and the documents of a record claim (cover letter, log book, statements) to print."""
    folder = event_folder(event_dir)
    when = _generated_at(generated_at)
    url = journal_url(folder, database_url)
    missing = missing_sqlite_file(url)
    if missing is not None:
        err.print(f"[bold red]no evidence pack:[/] no journal at {missing}", highlight=False)
        sys.exit(2)
    store = Store(url)
    try:
        engine = build_engine(folder, store)
        size, digest = write_evidence(out_file, engine, store, bib, when)
    except (ResultsError, TimingError) as exc:
        err.print(f"[bold red]no evidence pack:[/] {exc}", highlight=False)
        sys.exit(2)
    finally:
        store.close()
    console.print(f"{out_file} ({size:,} bytes) SHA-256 {digest}", highlight=False)
    no_pdf = pdf_available()
    if no_pdf is not None:
        err.print(f"[yellow]{no_pdf}; the HTML documents print from any browser[/]")
