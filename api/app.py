"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from admin import mount_admin
from api.data.router import build_data_router
from api.docs import install_docs
from api.envelope import ERROR_RESPONSES
from api.errors import install_error_handlers
from api.limits import BodySizeLimitMiddleware
from api.middleware import RequestContextMiddleware
from api.ratelimit import RateLimitMiddleware
from api.routes import (
    auth,
    catalog,
    certificates,
    enrollments,
    health,
    media,
    notifications,
    pages,
    payments,
    progress,
    quizzes,
    reviews,
    wellknown,
)
from api.sandbox import mount_paystack_sandbox
from api.state import AppState
from core.logging import configure_logging
from core.settings import Settings, get_settings
from resources.registry import RESOURCES


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    state = AppState.build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await state.close()

    app = FastAPI(
        title=settings.app.name,
        version="1.0.0",
        description="REST API of the online learning platform. Every answer is wrapped in the "
        "envelope {status, data, error, timestamp}; JSON fields are camelCase.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
        # FastAPI's own pages load their files from a CDN: ours work offline (api/docs.py).
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    app.state.lms = state
    install_error_handlers(app)
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    if settings.ratelimit.enabled:
        app.add_middleware(RateLimitMiddleware, state=state)
    # Added last runs first: the body limit comes before rate limiting, authentication and
    # parsing, inside the request context (so a 413 has its request id and access log line).
    app.add_middleware(BodySizeLimitMiddleware, settings=settings)
    app.add_middleware(RequestContextMiddleware)
    if settings.server.trusted_proxies:
        # Outermost, so the request log and the per-IP limits see the client a trusted proxy
        # names. uvicorn itself never reads forwarded headers (cli/main.py: server_options).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.server.trusted_proxies)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(catalog.router)
    app.include_router(notifications.router)
    app.include_router(media.router)
    app.include_router(payments.initiate_router)
    app.include_router(payments.router)
    app.include_router(enrollments.router)
    app.include_router(progress.router)
    app.include_router(quizzes.router)
    app.include_router(reviews.router)
    app.include_router(certificates.router)
    app.include_router(wellknown.router)
    app.include_router(pages.router)
    app.include_router(build_data_router(RESOURCES))
    mount_admin(app, state)
    if settings.paystack.sandbox:
        mount_paystack_sandbox(app, settings)
    return app
