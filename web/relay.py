"""The writer's side of fan-out over Redis: every update, in order, to the event's Redis
channel, sent from the scoring thread the moment it is in the outbox (no wait for the
event loop). Fan-out workers treat Redis as a fast signal only: an update lost here
(Redis down, restarting) is read from the outbox by its number, so a Redis that does
not answer is left alone for `RETRY_S` rather than slowing the scoring."""

from __future__ import annotations

import logging
import time

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
TIMEOUT_S = 0.5
RETRY_S = 1.0


class RedisRelay:
    def __init__(self, url: str, channel: str) -> None:
        self.redis = Redis.from_url(url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S)
        self.channel = channel
        self.down = False
        self._retry_at = 0.0

    def send(self, texts: list[str]) -> None:
        """Publish, in order; called by one thread at a time (the writer's scoring)."""
        if not texts or (self.down and time.monotonic() < self._retry_at):
            return
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for text in texts:
                    pipe.publish(self.channel, text)
                pipe.execute()
        except (RedisError, OSError) as exc:
            if not self.down:
                log.warning("Redis unreachable (%s): fan-out workers read the outbox", exc)
            self.down, self._retry_at = True, time.monotonic() + RETRY_S
            return
        if self.down:
            log.info("Redis reachable again")
            self.down = False

    def close(self) -> None:
        self.redis.close()
