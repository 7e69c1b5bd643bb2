"""The `retrotime` command: the composition root of the project.

Only this module reads the environment; everything below takes its settings as
arguments.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import sys
from pathlib import Path

import click
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from timing.folder import EventFolder
from timing.report import results_json
from timing.store import Store
from web import cli_support as support
from web.cli_agent import agent
from web.cli_fanout import fanout, start_workers
from web.cli_publish import evidence, publish
from web.cli_simulate import simulate
from web.cli_support import console, database_option, err, event_folder, journal_url
from web.replay import replay
from web.settings import Settings, hash_password, load_tokens

SWITCH_INTERVAL_S = 0.0005


@click.group(cls=support.Main)
@click.version_option(package_name="retrotime")
def main() -> None:
    """RetroTime: timing for backwards running races."""


@main.command()
@click.argument("event_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def check(event_dir: Path) -> None:
    """Check an event folder and print a summary, or every problem in it."""
    folder = event_folder(event_dir)
    event = folder.event
    console.print(f"[bold]{event.name}[/] {event.date} ({event.timezone.key})")
    for reader in event.readers.values():
        console.print(
            f"  reader {reader.id}: {reader.format} on {reader.port or '-'}"
            f" (clock offset {reader.clock_offset_s:+g} s)"
        )
    for race in event.races:
        people = sum(1 for p in folder.participants if p.race == race.id)
        console.print(
            f"  race {race.id} '{race.name}': {race.distance_m:g} m, "
            f"{len(race.waves)} wave(s), {len(race.points)} point(s), "
            f"{people} participant(s), chips {'+'.join(race.chips)}, "
            f"ranked by {race.ranking} time"
        )
    support.print_changed_settings(event)
    console.print(f"  {len(folder.participants)} participants, {len(folder.records)} records: OK")


def _parse_log(value: str) -> tuple[str, Path]:
    reader, sep, path = value.partition("=")
    if not sep or not reader or not path:
        raise click.BadParameter(f"{value!r}: give READER=PATH, e.g. FIN=finish.log")
    return reader, Path(path)


@main.command(name="replay")
@click.argument("event_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--log",
    "logs",
    multiple=True,
    metavar="READER=PATH",
    help="A reader log in that reader's format (repeatable).",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the results JSON here.",
)
@click.option("--table", is_flag=True, help="Print the results as a table.")
@click.option(
    "--final",
    is_flag=True,
    help="The logs are complete and the race is over: runners not in are DNF "
    "(without it they are on course until a cutoff passes or the director closes the race).",
)
@database_option
def replay_command(
    event_dir: Path,
    logs: tuple[str, ...],
    json_out: Path | None,
    table: bool,
    final: bool,
    database_url: str | None,
) -> None:
    """Score an event from reader logs (re-running adds nothing already stored)."""
    folder = event_folder(event_dir)
    pairs = [_parse_log(v) for v in logs]
    for reader, path in pairs:
        if reader not in folder.event.readers:
            raise click.BadParameter(f"unknown reader {reader!r}", param_hint="--log")
        if not path.is_file():
            raise click.BadParameter(f"{path} is not a file", param_hint="--log")
    store = Store(journal_url(folder, database_url))
    total = sum(path.stat().st_size for _, path in pairs)
    with Progress(
        *Progress.get_default_columns()[:-1],
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("replaying", total=total)
        results, summary = replay(folder, store, pairs, lambda n: bar.advance(task, n), final)
    quarantined = store.count_quarantined()
    data = results_json(folder.event.name, results, quarantined, folder.event.timezone)
    if json_out:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        support.write_file(json_out, text.encode())
    if table:
        _print_tables(data)
    finishers = sum(1 for r in data["races"] for x in r["results"] if x["status"] == "FIN")
    console.print(
        f"reads {results.reads:,} ({summary.new_reads:,} new, {summary.skipped_lines:,} lines "
        f"already stored) · crossings {results.crossings:,} · finishers {finishers:,} · "
        f"unknown chips {len(results.unknown_chips):,} · quarantined lines {quarantined:,}"
    )
    console.print(f"read this time: {summary.counts}")
    if summary.pending:
        console.print(
            f"{summary.pending} log(s) end in a line without its end of line: "
            "left for the next replay, once the reader has written it"
        )
    store.close()


def _print_tables(data: dict) -> None:
    # Piped into a file or a pager, rich would squeeze the table into 80 columns.
    out = console if console.is_terminal else Console(width=160)
    for race in data["races"]:
        laps = "lap_m" in race  # lap races: laps completed beside the times
        title = f"{race['name']} ({race['distance_m'] / 1000:g} km)"
        if race.get("duration"):
            title = f"{race['name']} ({race['duration']} timed, {race['lap_m']:g} m laps)"
        table = Table(title=title)
        columns = [
            "place",
            "bib",
            "name",
            "cat",
            "cat pl",
            "status",
            *(["laps"] * laps),
            "chip",
            "gun",
            "flags",
        ]
        for column in columns:
            table.add_column(
                column, justify="right" if column in ("place", "cat pl", "laps") else "left"
            )
        for r in race["results"]:
            lap_cell = [str(r.get("laps_completed") or "")] if laps else []
            table.add_row(
                str(r["place"] or ""),
                r["bib"],
                r["name"],
                r["category"],
                str(r["place_category"] or ""),
                r["status"],
                *lap_cell,
                r["chip_time"] or "",
                r["gun_time"] or "",
                " ".join(f["code"] for f in r["flags"]),
            )
        out.print(table)


@main.command()
@click.argument("event_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option(
    "--password",
    envvar="RETROTIME_DIRECTOR_PASSWORD",
    help="Director password (env RETROTIME_DIRECTOR_PASSWORD; asked if not given).",
)
@click.option(
    "--tokens",
    "tokens_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Reader uplink tokens (default tokens.toml in the event folder; made if missing).",
)
@click.option(
    "--redis-url",
    default=None,
    envvar="RETROTIME_REDIS_URL",
    help="Send live updates to fan-out workers through Redis (see --workers).",
)
@click.option(
    "--workers",
    default=0,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Fan-out worker processes for spectators, all on --port + 1 (0: this process "
    "serves them).",
)
@click.option(
    "--proxied",
    is_flag=True,
    help="A reverse proxy in front sends /ws/races/ to the fan-out workers: pages open "
    "live updates on their own address, not on --port + 1.",
)
@click.option(
    "--secure-cookies",
    is_flag=True,
    envvar="RETROTIME_SECURE_COOKIES",
    help="Send cookies over HTTPS only: for a service behind a TLS reverse proxy.",
)
@click.option(
    "--session-minutes",
    default=120,
    show_default=True,
    type=click.IntRange(1, 24 * 60),
    help="A director session ends after this long without a request.",
)
@database_option
def serve(
    event_dir: Path,
    host: str,
    port: int,
    password: str | None,
    tokens_file: Path | None,
    redis_url: str | None,
    secure_cookies: bool,
    session_minutes: int,
    database_url: str | None,
    workers: int,
    proxied: bool,
) -> None:
    """Run the live service for an event folder: the writer (uplinks, engine, director,
    pages) and, with --workers, fan-out processes for the spectators' live updates."""
    folder = event_folder(event_dir)
    if not password:
        password = click.prompt("Director password", hide_input=True, confirmation_prompt=True)
    settings = dataclasses.replace(
        _settings(folder, password, tokens_file, redis_url, database_url),
        secure_cookies=secure_cookies,
        session_idle_s=session_minutes * 60,
        live_port=port + 1 if workers and not proxied else None,
    )
    support.check_journal(settings.database_url)  # one that cannot be written: say so now
    console.print(
        f"RetroTime live: http://{host}:{port}/  ·  director: http://{host}:{port}"
        f"/director  ·  agent tokens in {tokens_file or event_dir / 'tokens.toml'}"
    )
    if not workers:
        run_server(settings, host, port)
        return
    if not redis_url:
        console.print("no --redis-url: the fan-out workers poll the journal (slower)")
    console.print(f"  {workers} fan-out worker(s) for live updates on port {port + 1}")
    pool = start_workers(workers, event_dir, settings.database_url, redis_url, host, port + 1)
    try:
        run_server(settings, host, port)
    finally:
        pool.stop()


def _settings(
    folder: EventFolder,
    password: str,
    tokens_file: Path | None,
    redis_url: str | None,
    database_url: str | None,
) -> Settings:
    tokens = load_tokens(tokens_file or folder.path / "tokens.toml", list(folder.event.readers))
    return Settings(
        folder.path, journal_url(folder, database_url), hash_password(password), tokens, redis_url
    )


def server_config(app: object, host: str, port: int, **extra: object) -> uvicorn.Config:
    """How the live service runs under uvicorn; benchmarks and tests use the same."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        ws="websockets-sansio",
        # Per-message deflate compresses each update once per phone on the event loop:
        # at 1,000 spectators zlib took 29.5 of 32 s and starved the uplink.
        ws_per_message_deflate=False,
        ws_max_size=16 * 1024 * 1024,  # docs/uplink.md: a server accepts up to 16 MiB
        **extra,
    )


def run_server(settings: Settings, host: str, port: int) -> None:
    from web.app import create_app

    # Scoring runs in a thread beside the event loop: with the default 5 ms switch
    # interval, every uplink message waited up to 5 ms per hand-over of the GIL while a
    # refresh ran (a convoy: acks tens of ms late at an idle CPU).
    sys.setswitchinterval(SWITCH_INTERVAL_S)

    # uvicorn handles Ctrl-C, shuts down cleanly, then raises it again: that is the end.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(server_config(create_app(settings), host, port)).run()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option(
    "--speed",
    default=60.0,
    show_default=True,
    help="Race clock speed-up: 60 runs a backwards half marathon in a few minutes.",
)
@click.option("--seed", default=7, show_default=True)
def demo(host: str, port: int, speed: float, seed: int) -> None:
    """A whole simulated race through real pseudo-serial ports, live in the browser."""
    import threading

    from web import demo as sample

    workdir = sample.new_workdir()
    readers = list(event_folder(sample.SAMPLE).event.readers)
    ports = sample.open_ports(readers)
    sample.write_event(workdir / "event", {r: p[2] for r, p in ports.items()})
    folder = event_folder(workdir / "event")
    password = sample.new_password()
    settings = _settings(folder, password, None, None, None)
    stop = threading.Event()
    sample.start_streams(folder, ports, speed, seed, stop)
    agents = sample.start_agents(
        folder, ports, settings.tokens, f"ws://{host}:{port}/uplink", workdir
    )
    console.print(
        f"[bold]RetroTime demo[/]: {folder.event.name}, race clock x{speed:g}, "
        f"{len(readers)} readers on pseudo-terminals, agents uplinking over websockets"
    )
    console.print(f"  spectators: http://{host}:{port}/")
    console.print(f"  director:   http://{host}:{port}/director  (password: {password})")
    console.print(f"  files:      {workdir}  ·  Ctrl-C stops everything")
    # `kill` (SIGTERM) stops the demo as Ctrl-C does: the agents run in sessions of
    # their own and would otherwise outlive it, still reading the pseudo-terminals.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        run_server(settings, host, port)
    finally:
        sample.stop_all(agents, stop, ports)
        console.print("demo stopped")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


main.add_command(agent)
main.add_command(fanout)
main.add_command(publish)
main.add_command(simulate)
main.add_command(evidence)

if __name__ == "__main__":
    main()
