"""What the API process builds once at start-up and shares across requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.database import async_session_factory, make_async_engine
from core.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis | None

    @classmethod
    def build(cls, settings: Settings) -> AppState:
        engine = make_async_engine(settings)
        redis: Redis | None = None
        if settings.redis.url:
            timeout = settings.redis.socket_timeout_seconds
            redis = Redis.from_url(
                settings.redis.url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        return cls(settings, engine, async_session_factory(engine), redis)

    async def close(self, *_: Any) -> None:
        await self.engine.dispose()
        if self.redis is not None:
            await self.redis.aclose()
