"""`retrotime simulate`: a simulated race as the readers would log it, written to files
or streamed live to the readers' ports.

Registered in `web/cli.py` with `main.add_command(simulate)`.
"""

from __future__ import annotations

from pathlib import Path

import click

from timing.folder import EventFolder
from web.cli_support import console, event_folder


@click.command()
@click.argument("event_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one log per reader here, in the reader's format.",
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write what really happened (true crossing times) as JSON.",
)
@click.option(
    "--live",
    is_flag=True,
    help="Stream each reader's lines to its port in event.toml, as the race unfolds.",
)
@click.option(
    "--speed",
    default=20.0,
    show_default=True,
    help="With --live: the race clock runs this many times faster than real time.",
)
@click.option(
    "--inject",
    is_flag=True,
    help="Add the demo's incidents: a runner on world-record pace, one facing forwards, "
    "one running a gate the wrong way, one cutting the course (the lowest bibs of the "
    "shortest road race with a gate).",
)
def simulate(
    event_dir: Path,
    out_dir: Path | None,
    seed: int,
    truth: Path | None,
    live: bool,
    speed: float,
    inject: bool,
) -> None:
    """Simulate the event's race: reader logs as the hardware would write them."""
    from readers.simulator import simulate as run_simulation
    from web.course import course_from_folder
    from web.demo import demo_incidents

    folder = event_folder(event_dir)
    if out_dir is None and not live:
        raise click.UsageError("give --out LOG_DIR, or --live to stream to the readers' ports")
    incidents = demo_incidents(folder) if inject else {}
    for bib, behaviours in incidents.items():
        console.print(f"  bib {bib}: {', '.join(str(b.kind) for b in behaviours)}")
    sim = run_simulation(course_from_folder(folder), seed, incidents)
    if truth:
        sim.write_truth(truth)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        sim.write_logs(out_dir)
        console.print(
            f"{sim.read_count():,} reads and {sim.garbage_count} garbage lines from "
            f"{len(sim.reader_ids)} readers written to {out_dir}"
        )
    if live:
        _stream(folder, sim, speed)


def _stream(folder: EventFolder, sim: object, speed: float) -> None:
    """Each reader's lines to its configured port (any pyserial URL), one thread each, on
    one accelerated race clock; Ctrl-C stops them."""
    import threading
    import time

    from readers.simulator import stream_live

    stop = threading.Event()
    first_gun = min(w.gun_ms for race in folder.event.races for w in race.waves)
    started = time.monotonic()
    threads = [
        threading.Thread(
            target=stream_live,
            args=(sim, r.id, r.port, speed, stop),
            kwargs={"baudrate": r.baudrate, "start_ms": first_gun - 5_000, "started_at": started},
            daemon=True,
            name=f"reader {r.id}",
        )
        for r in folder.event.readers.values()
    ]
    console.print(f"streaming {len(threads)} readers at x{speed:g}; Ctrl-C stops")
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(0.2)
    except KeyboardInterrupt:
        stop.set()
    for thread in threads:
        thread.join(5)
