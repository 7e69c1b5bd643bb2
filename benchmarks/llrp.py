"""LLRP reports per second through the agent: from an LLRP reader on loopback TCP (the
emulator releasing the reports it held while no client was connected, as a reader does
after a reconnect) through the source's decode and parse into the agent's journal
(SQLite, fsync per commit).

    python -m benchmarks.llrp [--reports 50000]

Baselines, measured in the same run on the same frames:
- bare TCP: the frames sent over a loopback socket and split by their length field,
  nothing decoded (what the link itself allows);
- bare decode: `llrpkit.protocol.decode_message` of each frame in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from llrpkit.protocol import decode_message

from readers.agent import Agent, AgentConfig
from readers.formats.llrp import TagReport
from readers.llrp_emulator import LlrpReaderEmulator, report_frame

BASE_US = 1_775_980_800_000_000  # 2026-04-12 09:00 London


def sample(count: int) -> list[TagReport]:
    return [TagReport(bytes.fromhex(f"e2000017{i:016x}"), 1 + i % 4, -40 - i % 40 / 2,
                      BASE_US + i * 1_373) for i in range(count)]  # fmt: skip


def bare_tcp(frames: list[bytes]) -> float:
    data = b"".join(frames)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def send() -> None:
        conn, _ = server.accept()
        conn.sendall(data)
        conn.close()

    sender = threading.Thread(target=send)
    sender.start()
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        buf, seen = bytearray(), 0
        while seen < len(frames):
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 10 and len(buf) >= int.from_bytes(buf[2:6], "big"):
                del buf[: int.from_bytes(buf[2:6], "big")]
                seen += 1
    elapsed = time.perf_counter() - t
    sender.join()
    server.close()
    return seen / elapsed


def bare_decode(frames: list[bytes]) -> float:
    t = time.perf_counter()
    for frame in frames:
        decode_message(frame)
    return len(frames) / (time.perf_counter() - t)


def run_agent(config: AgentConfig) -> tuple[Agent, threading.Thread]:
    agent = Agent(config)
    thread = threading.Thread(target=lambda: asyncio.run(agent.run()), daemon=True)
    thread.start()
    return agent, thread


def journalled(path: Path) -> int:
    db = sqlite3.connect(path, timeout=10)
    try:
        return db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def through_agent(tags: list[TagReport], tmp: Path) -> float:
    with LlrpReaderEmulator() as emu:
        config = AgentConfig("FIN", f"{emu.url}?keepalive_ms=5000", "llrp",
                             "ws://127.0.0.1:9/uplink", "t", tmp / "agent.db", "Europe/London",
                             min_backoff_s=0.05, max_backoff_s=1.0)  # fmt: skip
        agent, thread = run_agent(config)  # sets the reader up, then leaves
        deadline = time.monotonic() + 30
        while not emu.inventorying() and time.monotonic() < deadline:
            time.sleep(0.02)
        agent.stop()
        thread.join(15)
        for tag in tags:  # read while no client is connected: the reader holds them
            emu.report(tag)
        t = time.perf_counter()
        agent, thread = run_agent(config)
        while journalled(config.journal_path) < len(tags) and time.perf_counter() - t < 300:
            time.sleep(0.01)
        elapsed = time.perf_counter() - t
        got = journalled(config.journal_path)
        agent.stop()
        thread.join(15)
    if got != len(tags):
        raise SystemExit(f"only {got} of {len(tags)} reports journalled")
    return got / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=50_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    tags = sample(args.reports)
    frames = [report_frame(tag) for tag in tags]
    tcp, decode = bare_tcp(frames), bare_decode(frames)
    with tempfile.TemporaryDirectory() as tmp:
        agent = through_agent(tags, Path(tmp))
    print(f"{args.reports:,} RO_ACCESS_REPORTs of one tag each ({len(frames[0])} bytes)")
    print(f"{'path':<44} {'reports/s':>12} {'ratio':>7}")
    print(f"{'bare TCP, split by length (baseline)':<44} {tcp:>12,.0f} {1:>7.2f}")
    print(f"{'bare llrpkit decode_message, in-process':<44} {decode:>12,.0f} {decode / tcp:>7.3f}")
    print(f"{'agent: TCP, decode, parse, SQLite journal':<44} {agent:>12,.0f} {agent / tcp:>7.3f}")


if __name__ == "__main__":
    main()
