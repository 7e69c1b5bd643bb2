"""The writer's side of fan-out over Redis: every published update, in order, to the
event's Redis channel. Fan-out workers treat Redis as a fast signal only: an update
lost here (Redis down, restarting) is read from the outbox by its number."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
QUEUE = 10_000  # updates waiting for Redis; past that the oldest go (the outbox has them)


class RedisRelay:
    def __init__(self, url: str, channel: str) -> None:
        self.redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self.channel = channel
        self.queue: asyncio.Queue[str] = asyncio.Queue(QUEUE)
        self.down = False

    def send(self, text: str) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(text)

    async def run(self) -> None:
        """One connection, one message at a time: the updates reach Redis in order."""
        while True:
            text = await self.queue.get()
            try:
                await self.redis.publish(self.channel, text)
            except (RedisError, OSError) as exc:
                if not self.down:
                    log.warning("Redis unreachable (%s): fan-out workers read the outbox", exc)
                self.down = True
                await asyncio.sleep(0.5)
                continue
            if self.down:
                log.info("Redis reachable again")
                self.down = False

    async def close(self) -> None:
        await self.redis.aclose()
