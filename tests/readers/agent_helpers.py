"""Helpers for the agent tests: an in-process agent on a pty, its journal, its command."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from readers.agent import Agent, AgentConfig, AgentError
from tests.readers.serial_helpers import Pty, csv_line, wait_until

TOKEN = "s3cret"


def make_config(tmp: Path, pty: Pty, url: str, token: str = TOKEN, **kw: object) -> AgentConfig:
    options: dict = dict(min_backoff_s=0.1, max_backoff_s=0.5, health_interval_s=0.5, batch_size=50)
    options.update(kw)
    return AgentConfig(
        "FIN", pty.name, "retrotime-csv", url, token, tmp / "agent.db", "Europe/London",
        **options,
    )  # fmt: skip


@contextmanager
def agent_running(config: AgentConfig) -> Iterator[tuple[Agent, list[BaseException]]]:
    agent = Agent(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(agent.run())
        except AgentError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_until(lambda: agent._loop is not None or not thread.is_alive())
    try:
        yield agent, errors
    finally:
        agent.stop()
        thread.join(15)
        assert not thread.is_alive(), "agent did not stop"


def journal_rows(path: Path) -> list[tuple[int, str, int]]:
    db = sqlite3.connect(path, timeout=10)
    try:
        return db.execute(
            "SELECT seq, raw, (SELECT COALESCE(MAX(seq), 0) FROM acked) FROM entries ORDER BY seq"
        ).fetchall()
    except sqlite3.OperationalError as exc:  # an agent process still creating its journal
        assert "no such table" in str(exc)
        return []
    finally:
        db.close()


def write_lines(pty: Pty, numbers: range) -> list[str]:
    lines = [csv_line(i) for i in numbers]
    pty.write("".join(line + "\r\n" for line in lines).encode())
    return lines


def agent_cli(port: str, fmt: str, url: str, journal: Path, reader: str = "FIN") -> list[str]:
    """`retrotime agent` as a child process, with quick health and back-off."""
    return [
        sys.executable, "-m", "web.cli", "agent", "--reader", reader, "--port", port,
        "--format", fmt, "--server", url, "--token", TOKEN, "--journal", str(journal),
        "--timezone", "Europe/London", "--day", "2026-04-12",
        "--health-interval", "1", "--max-backoff", "1",
    ]  # fmt: skip
