"""Fixed-window request counters: in Redis when configured (shared by every API process),
in memory on the embedded default (one process).

A window is a whole number of seconds; a key counts hits in the current window and the
caller hears how long until the window ends. Redis failing open is deliberate: an outage of
the cache must not take sign-in down with it (the failure is logged).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.logging import get_logger

log = get_logger("core.ratelimit")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int


def _window(now: float, window: int) -> tuple[int, int]:
    index = int(now // window)
    return index, max(1, math.ceil((index + 1) * window - now))


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window: int = 60) -> Decision: ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, *, limit: int, window: int = 60) -> Decision:
        index, retry_after = _window(time.time(), window)
        previous_index, count = self._counts.get(key, (index, 0))
        count = count + 1 if previous_index == index else 1
        self._counts[key] = (index, count)
        if len(self._counts) > 100_000:
            self._forget_old(index)
        return Decision(count <= limit, retry_after)

    def _forget_old(self, index: int) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[0] >= index}


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str = "lms:rl") -> None:
        self._redis = redis
        self._prefix = prefix

    async def hit(self, key: str, *, limit: int, window: int = 60) -> Decision:
        index, retry_after = _window(time.time(), window)
        name = f"{self._prefix}:{key}:{index}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window + 1)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("rate limiter unavailable, allowing request", error=type(exc).__name__)
            return Decision(True, 0)
        return Decision(int(count) <= limit, retry_after)
