"""Live path latency: reader line written -> spectator's websocket shows the row change.

    python -m benchmarks.live [--spectators 1000] [--rate 500] [--seconds 30] [--readers 8]
        [--workers K --redis-url URL] [--ingest-only] [--json OUT] [--keep]

The real path, each part in its own process (the machine has 2 cores):

    writer (this process) -> one pseudo-terminal per reader -> one `retrotime agent` per
    reader (pyserial, SQLite journal, batching as it does on its own) -> uplink
    websocket -> `retrotime serve EVENT --port P` (with `--workers K`: its fan-out
    workers on port P+1) -> ceil(N / 2,500) spectator processes of asyncio websocket
    clients, subscribed to /ws/races/half?since=N like live.js.

Modules: `race` (the event and its lines), `uplink` (pseudo-terminals, agents,
their journals), `spectators` and `baseline` (child roles), `observe` (the service's
trace), `run` (the runs), `analysis` and `report`, `__main__` (options).

The service is observed through its own trace (`RETROTIME_TRACE`, web/trace.py):
"stored" once per committed uplink message, "scored", "published" with the text,
"sent" by fan-out workers. Latency is matched from the outside: for every crossing,
the time its first line was written to the pseudo-terminal, to the time each
spectator showed the first update whose changed rows show it (status no longer DNS
for the start mat, `last_point` at the split otherwise). Every update published
after a spectator connected must reach it (as an update or inside a snapshot):
the rest are holes.

Bare baseline, measured in the same run: a minimal `websockets` server that
`broadcast()`s the very messages the service published, on the same schedule, to
the same number of clients in as many spectator processes; the report gives the
ratio of the service's figures to it.

`--ingest-only`: no spectators; every second each agent's unacknowledged backlog
(journalled minus acked, from its own journal) and the service's stored reads/s.
"""
