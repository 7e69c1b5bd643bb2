"""`retrotime agent`: beside a reader, its lines journalled locally and uplinked.

Registered in `web/cli.py` with `main.add_command(agent)`.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from readers.formats import format_names
from web.cli_support import err, event_folder


@click.command()
@click.option("--reader", "reader_id", required=True, help="The reader's id in event.toml.")
@click.option("--port", "port_url", help="pyserial URL: /dev/ttyUSB0, socket://host:23, ...")
@click.option(
    "--format", "format_name", type=click.Choice(format_names()), help="The reader's format."
)
@click.option("--server", "server_url", required=True, help="ws://HOST:8000/uplink of the service.")
@click.option(
    "--token",
    required=True,
    envvar="RETROTIME_AGENT_TOKEN",
    help="This reader's uplink token (env RETROTIME_AGENT_TOKEN).",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Local journal (default agent-READER.db).",
)
@click.option(
    "--event",
    "event_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Event folder: port, format, baud rate, timezone and date.",
)
@click.option("--timezone", "tz_name", help="IANA zone of the reader's clock (without --event).")
@click.option(
    "--day",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Event date for formats that send a time of day only (default: --event's, else today).",
)
@click.option("--baudrate", type=int, help="Serial speed (default from event.toml, else 9600).")
@click.option(
    "--health-interval",
    default=10.0,
    show_default=True,
    help="Seconds between health reports to the service.",
)
@click.option(
    "--max-backoff",
    default=10.0,
    show_default=True,
    help="Longest wait, in seconds, between reconnection attempts (port and service).",
)
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING...")
def agent(
    reader_id: str,
    port_url: str | None,
    format_name: str | None,
    server_url: str,
    token: str,
    journal: Path | None,
    event_dir: Path | None,
    tz_name: str | None,
    day: datetime | None,
    baudrate: int | None,
    health_interval: float,
    max_backoff: float,
    log_level: str,
) -> None:
    """Run a reader agent: journal every read locally, then uplink it to the service.

    Exit status: 2 for a configuration error, 3 when the service refuses the reader
    (bad token, unknown reader), 1 when the reader's port cannot be driven.
    """
    import logging

    from readers.agent import AgentConfig, AgentConfigError, AgentError, UplinkRejected, run_agent
    from readers.llrp_source import with_antennas
    from readers.sources import PortSettings

    event_day = day.date() if day is not None else None
    devices: tuple[tuple[str, int], ...] = ()
    if event_dir is not None:
        folder = event_folder(event_dir)
        reader = folder.event.readers.get(reader_id)
        if reader is None:
            raise click.BadParameter(f"unknown reader {reader_id!r}", param_hint="--reader")
        port_url = port_url or reader.port
        if port_url.startswith("tcp://"):  # an LLRP reader inventories the points' antennas
            port_url = with_antennas(port_url, folder.event.antennas_of(reader_id))
        format_name = format_name or reader.format
        baudrate = baudrate or reader.baudrate
        tz_name = tz_name or folder.event.timezone.key
        event_day = event_day or folder.event.date
        devices = reader.devices
    if not port_url or not format_name or not tz_name:
        raise click.UsageError("give --event EVENT_DIR, or --port, --format and --timezone")
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = AgentConfig(
        reader_id,
        port_url,
        format_name,
        server_url,
        token,
        journal or Path(f"agent-{reader_id}.db"),
        tz_name,
        port=PortSettings(baudrate=baudrate or 9600),
        day=event_day,
        devices=devices,
        health_interval_s=health_interval,
        max_backoff_s=max_backoff,
    )
    try:
        run_agent(config)
    except AgentConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)
    except UplinkRejected as exc:
        err.print(f"[bold red]the service refused this agent:[/] {exc}")
        sys.exit(3)
    except AgentError as exc:
        err.print(f"[bold red]agent stopped:[/] {exc}")
        sys.exit(1)
