"""`retrotime fanout`, and the fan-out workers `retrotime serve --workers N` starts.

A worker started by `serve` that dies is started again after a second; its
spectators reconnect meanwhile to the workers still listening on the same port. A
worker ends when `serve` does, however it ends (kill -9 too): it holds the read end of
a pipe only `serve` writes to, and its end of file is the sign.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import click

from web.cli_support import console, database_option, event_folder, journal_url

RESTART_S = 1.0


@click.command()
@click.argument("event_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True)
@click.option(
    "--redis-url",
    default=None,
    envvar="RETROTIME_REDIS_URL",
    help="Hear the writer's updates on Redis (without it: poll the journal's outbox).",
)
@click.option(
    "--slow-kib",
    default=1024,
    show_default=True,
    type=click.IntRange(1, 1 << 20),
    help="Close a spectator's connection once this much (KiB) waits unsent to it; it "
    "resumes from its last update.",
)
@click.option(
    "--with-parent",
    is_flag=True,
    hidden=True,
    help="End when standard input ends (serve --workers holds its other end).",
)
@database_option
def fanout(
    event_dir: Path,
    host: str,
    port: int,
    redis_url: str | None,
    slow_kib: int,
    with_parent: bool,
    database_url: str | None,
) -> None:
    """Serve live leaderboards to spectators from the writer's updates (no engine).

    Run several on one port (on this machine or others sharing the journal database):
    the system spreads the spectators over them."""
    from web.fanout import run_fanout

    folder = event_folder(event_dir)
    races = [race.id for race in folder.event.races]
    url = journal_url(folder, database_url)
    run_fanout(races, url, redis_url, host, port, slow_kib, with_parent)


class Workers:
    """N `retrotime fanout` processes, started again when one dies."""

    def __init__(self, count: int, command: list[str]) -> None:
        self.command = command
        self.procs: list[subprocess.Popen[bytes]] = []
        self.stopping = threading.Event()
        for _ in range(count):
            self.procs.append(self._start())
        threading.Thread(target=self._watch, name="fan-out workers", daemon=True).start()
        # uvicorn ends on SIGTERM by raising it again once shut down, which ends the
        # process before `serve` can stop its workers: this handler stops them first.
        signal.signal(signal.SIGTERM, self._terminated)

    def _terminated(self, signum: int, _frame: object) -> None:
        self.stop()
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command, stdin=subprocess.PIPE)

    def _watch(self) -> None:
        while not self.stopping.wait(RESTART_S):
            for i, proc in enumerate(self.procs):
                if proc.poll() is not None and not self.stopping.is_set():
                    console.print(f"fan-out worker {proc.pid} ended ({proc.returncode}); again")
                    self.procs[i] = self._start()

    def stop(self) -> None:
        self.stopping.set()
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_workers(
    count: int, event_dir: Path, database_url: str, redis_url: str | None, host: str, port: int
) -> Workers:
    command = [
        sys.executable, "-m", "web.cli", "fanout", str(event_dir), "--host", host,
        "--port", str(port), "--database-url", database_url, "--with-parent",
        *(["--redis-url", redis_url] if redis_url else []),
    ]  # fmt: skip
    return Workers(count, command)
