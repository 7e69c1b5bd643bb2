"""Loopback servers for tests and benchmarks: a free port, and the app under uvicorn in a
background thread, configured as `retrotime serve` configures it."""

from __future__ import annotations

import threading
import time

import uvicorn

from benchmarks.procs import free_port as free_port  # one copy, shared with benchmarks
from web.cli import server_config


class ServerThread:
    """`app` under uvicorn on 127.0.0.1:`port` in a daemon thread; a context manager."""

    def __init__(self, app: object, port: int | None = None) -> None:
        self.port = free_port() if port is None else port
        self.server = uvicorn.Server(server_config(app, "127.0.0.1", self.port))
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
