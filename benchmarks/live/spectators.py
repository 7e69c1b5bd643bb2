"""Role: up to 2,500 websocket spectators in one asyncio process, as live.js behaves.

Each connects to `URL?since=N` (N: the page's update number), offering
permessage-deflate as browsers do, and records (receive ns, type, seq) of every
message; an update past the next number (a gap) or a `resync` closes the socket and
resumes with `?since=` the last number applied. Client 0 of process 0 also keeps the
texts: the analysis reads which update first shows each crossing from them. The
connections on which the server took up permessage-deflate are counted, so the baseline
can do as the service did. Stops on "stop [SEQ]" from stdin (or after `max_seconds`):
with SEQ, once every client has shown update SEQ or `CATCH_UP_S` went by (an update
still on its way then is late, and counted in the latencies, not lost); then it writes
everything to `out`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

PER_PROCESS = 2500
CATCH_UP_S = 30.0  # after "stop SEQ": the most the clients may take to show SEQ
TYPE_RE = re.compile(r'"type":\s*"(\w+)"')
SEQ_RE = re.compile(r'"seq":\s*(\d+)')
HEAD = 300  # type and seq come first in every message


def kind_and_seq(text: str) -> tuple[str, int | None]:
    m = TYPE_RE.search(text, 0, HEAD)
    s = SEQ_RE.search(text, 0, HEAD)
    return (m.group(1) if m else ""), (int(s.group(1)) if s else None)


def _extensions(ws: Any) -> str:
    response = ws.response
    return (response.headers.get("Sec-WebSocket-Extensions") or "") if response else ""


async def caught_up(
    seq: int, shown: list[int], connected: list[int], tasks: list[asyncio.Task]
) -> None:
    """Bounded wait until every connected client still running has shown update `seq`."""
    deadline = time.monotonic() + CATCH_UP_S
    while time.monotonic() < deadline:
        behind = [
            i for i, t in enumerate(tasks) if connected[i] and not t.done() and shown[i] < seq
        ]
        if not behind:
            return
        await asyncio.sleep(0.05)


def run(args: argparse.Namespace) -> None:
    asyncio.run(spectators(args))


async def spectators(args: argparse.Namespace) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    n = args.count
    logs: list[list[tuple[int, str, int]]] = [[] for _ in range(n)]
    connected: list[int] = [0] * n  # ns of the first open
    shown: list[int] = [-1] * n  # the last update number each client showed
    texts: list[tuple[int, str]] = []
    stats = {"gaps": 0, "resyncs": 0, "reconnects": 0, "failed": 0, "deflate": 0}
    opened = 0
    all_open = asyncio.Event()
    gate = asyncio.Semaphore(50)  # connection attempts in flight
    compression = None if args.no_deflate else "deflate"
    reference = args.reference

    def one_opened() -> None:
        nonlocal opened
        opened += 1
        if opened == n:
            all_open.set()

    async def client(i: int) -> None:
        last: int | None = args.since
        first = True
        while True:
            url = args.url + (f"?since={last}" if last is not None and args.resume else "")
            try:
                async with gate:
                    ws = await connect(
                        url,
                        open_timeout=60,
                        ping_interval=None,  # browsers do not ping; the server does
                        max_size=None,
                        compression=compression,
                        close_timeout=1,
                    )
            except (OSError, TimeoutError, ConnectionClosed) as exc:
                if first:
                    stats["failed"] += 1
                    print(f"spectator {i}: {exc!r}", file=sys.stderr)
                    one_opened()
                    return
                await asyncio.sleep(0.5)
                continue
            if first:
                first = False
                connected[i] = time.time_ns()
                stats["deflate"] += "permessage-deflate" in _extensions(ws)
                one_opened()
            else:
                stats["reconnects"] += 1
            log = logs[i]
            try:
                async for text in ws:
                    t = time.time_ns()
                    if not isinstance(text, str):
                        continue
                    kind, seq = kind_and_seq(text)
                    if reference and i == 0:
                        texts.append((t, text))
                    if kind == "resync":  # the server asks for a reconnect with ?since=
                        stats["resyncs"] += 1
                        break
                    if seq is None or kind not in ("update", "snapshot"):
                        continue
                    if kind == "update" and args.resume and last is not None:
                        if seq <= last:
                            continue  # a duplicate around the snapshot: live.js drops it
                        if seq > last + 1:  # missed some: resume, showing nothing of it
                            stats["gaps"] += 1
                            break
                    log.append((t, kind, seq))  # what the page shows, from now
                    last = shown[i] = seq
            except ConnectionClosed:
                pass
            finally:
                await ws.close()

    tasks = [asyncio.create_task(client(i)) for i in range(n)]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_open.wait(), args.max_seconds)
    print(f"ready {opened - stats['failed']} {stats['failed']}", flush=True)
    loop = asyncio.get_running_loop()
    stdin = loop.run_in_executor(None, sys.stdin.readline)
    line = ""
    with contextlib.suppress(TimeoutError):
        line = await asyncio.wait_for(stdin, args.max_seconds)
    words = line.split()
    if len(words) == 2 and words[1].isdigit():
        await caught_up(int(words[1]), shown, connected, tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out: dict[str, Any] = {"logs": logs, "connected": connected, "texts": texts, "stats": stats}
    Path(args.out).write_text(json.dumps(out))
    print("written", flush=True)
    os._exit(0)  # the stdin reader thread may still block
