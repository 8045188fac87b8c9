"""What the API process builds once at start-up and shares across requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.crypto import TokenCipher
from core.database import async_session_factory, make_async_engine
from core.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from core.settings import Settings
from core.tasks import queue_info
from integrations.cards import PaystackCardGateway
from integrations.oauth import OAuthVerifier
from integrations.paystack import AsyncPaystack
from integrations.storage import Storage, make_storage, storage_info
from jobs.runtime import Jobs
from jobs.tasks import build_jobs
from services.credentials import signing_key
from services.payment_flows import Gateways


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # For the API's writing requests and units of work: on SQLite they queue for the write
    # lock instead of failing under concurrent writers (core.database.WRITER).
    write_sessions: async_sessionmaker[AsyncSession]
    redis: Redis | None
    limiter: RateLimiter
    http: httpx.AsyncClient
    cipher: TokenCipher
    storage: Storage
    # The queue of this app's settings: services enqueue through their session's info.
    jobs: Jobs

    @classmethod
    def build(cls, settings: Settings) -> AppState:
        engine = make_async_engine(settings)
        redis: Redis | None = None
        limiter: RateLimiter = MemoryRateLimiter()
        if settings.redis.url:
            timeout = settings.redis.socket_timeout_seconds
            redis = Redis.from_url(
                settings.redis.url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
            limiter = RedisRateLimiter(redis)
        jobs = build_jobs(settings)
        storage = make_storage(settings)
        # A malformed certificate key stops the start, not the first credential download.
        signing_key(settings)
        # Sessions carry the queue and the file store: domain functions enqueue and remove
        # files through their session (the write pipeline passes nothing else).
        info = queue_info(jobs) | storage_info(storage)
        return cls(
            settings=settings,
            engine=engine,
            sessions=async_session_factory(engine, info=info),
            write_sessions=async_session_factory(engine, info=info, writer=True),
            redis=redis,
            limiter=limiter,
            http=httpx.AsyncClient(),
            cipher=TokenCipher.from_settings(settings),
            storage=storage,
            jobs=jobs,
        )

    @property
    def oauth(self) -> OAuthVerifier:
        return OAuthVerifier(self.settings.oauth, self.http)

    @property
    def payment_gateways(self) -> Gateways:
        paystack = AsyncPaystack(self.settings.paystack, self.http)
        return Gateways(
            paystack=paystack, cards=PaystackCardGateway(paystack), settings=self.settings
        )

    async def close(self, *_: Any) -> None:
        await self.engine.dispose()
        await self.http.aclose()
        self.jobs.close()
        if self.redis is not None:
            await self.redis.aclose()
