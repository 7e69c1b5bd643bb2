"""Role: the bare baseline, a minimal `websockets` server that `broadcast()`s the very
messages the service published, with their original spacing, after "go" on stdin;
then it writes when it sent each one."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from benchmarks.live.spectators import kind_and_seq


def run(args: argparse.Namespace) -> None:
    asyncio.run(serve(args))


async def serve(args: argparse.Namespace) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast
    from websockets.asyncio.server import serve as listen

    messages: list[tuple[int, str]] = json.loads(Path(args.messages).read_text())
    clients: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    loop = asyncio.get_running_loop()
    async with listen(
        handler,
        "127.0.0.1",
        args.port,
        ping_interval=None,
        max_size=None,
        compression=None if args.no_deflate else "deflate",
        backlog=4096,
    ):
        print("listening", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # "go"
        start = time.time_ns()
        first = messages[0][0] if messages else 0
        sends: list[tuple[int, int]] = []
        for at, text in messages:
            delay = (start + at - first - time.time_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            sends.append((kind_and_seq(text)[1] or -1, time.time_ns()))
            broadcast(clients, text)
        Path(args.out).write_text(json.dumps({"sends": sends, "clients": len(clients)}))
        print("done", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
    os._exit(0)
