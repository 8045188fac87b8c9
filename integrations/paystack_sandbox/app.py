"""``create_sandbox``: the sandbox as one ASGI app, to serve alone or mount in another app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from integrations.paystack_sandbox.api import LIVE_KEY_PREFIX, api_routers
from integrations.paystack_sandbox.checkout import checkout_router
from integrations.paystack_sandbox.config import SandboxConfig, SandboxError
from integrations.paystack_sandbox.payments import Sandbox
from integrations.paystack_sandbox.store import Store
from integrations.paystack_sandbox.webhooks import WebhookSender


def failure(message: str, status_code: int) -> JSONResponse:
    return JSONResponse({"status": False, "message": message}, status_code=status_code)


async def _sandbox_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, SandboxError)
    return failure(error.message, error.status_code)


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return failure(str(error.detail), error.status_code)


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    fields = sorted({str(problem["loc"][-1]) for problem in error.errors()})
    return failure(f"Invalid value for {', '.join(fields)}", 400)


def create_sandbox(config: SandboxConfig) -> FastAPI:
    """The sandbox over ``config.state_path`` (created on first use)."""
    if not config.secret_key:
        raise ValueError("the sandbox needs a secret key")
    if config.secret_key.startswith(LIVE_KEY_PREFIX):
        raise ValueError("the sandbox refuses a live secret key")
    store = Store(config.state_path)
    webhooks = WebhookSender(
        store,
        url=config.webhook_url,
        secret_key=config.secret_key,
        timeout=config.webhook_timeout_seconds,
    )
    sandbox = Sandbox(config=config, store=store, webhooks=webhooks)
    # No docs: they would load their assets from a CDN, and this is not the platform's API.
    app = FastAPI(title="Paystack sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(SandboxError, _sandbox_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for router in api_routers(sandbox):
        app.include_router(router)
    app.include_router(checkout_router(sandbox))
    return app
