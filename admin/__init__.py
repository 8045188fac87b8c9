"""The admin panel at ``/admin``: SQLAdmin views generated from the resource declarations."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from fastapi import FastAPI
from sqladmin import Admin
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin.auth import BASE_URL, NoStore, PanelAuthentication, PanelAuthorization
from admin.overrides import OVERRIDES
from admin.views import ResourceView, view_for
from api.state import AppState
from resources import Resource
from resources.registry import RESOURCES


def on_site(location: str, host: str) -> str:
    """``location`` as a path when it points at the panel's own host (``host``, the one the
    request named): the browser then stays on the site it is on. Another site's address
    (an external media link) is left for its view to vouch for."""
    parts = urlsplit(location)
    if parts.netloc.lower() != host.lower() or parts.scheme not in ("http", "https"):
        return location
    # One leading slash: "//evil.example" or "/\\evil.example" would leave the site.
    path = "/" + parts.path.lstrip("/\\")
    query = f"?{parts.query}" if parts.query else ""
    return path + query


class SameSiteRedirects:
    """The panel's redirects never leave the site through the ``Host`` header.

    sqladmin writes absolute redirects from ``request.url_for``, that is from the Host
    header the client (or a proxy passing it on) chose: ``Host: evil.example`` sent a signed-in
    admin to ``http://evil.example/admin/`` after signing in, acting or saving. Each is
    rewritten to its path, which the browser resolves against the site it is on.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")

        async def send_on_site(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                headers = MutableHeaders(scope=message)
                if "location" in headers:
                    headers["location"] = on_site(headers["location"], host)
            await send(message)

        await self.app(scope, receive, send_on_site)


def mount_admin(
    app: FastAPI,
    state: AppState,
    resources: Sequence[Resource] = RESOURCES,
    *,
    base_url: str = BASE_URL,
) -> Admin:
    """Mount the panel of ``resources`` (every declared model by default) at ``base_url``."""
    authentication = PanelAuthentication(state, path=base_url)
    authorization = PanelAuthorization()
    panel = Admin(
        app,
        session_maker=state.sessions,
        base_url=base_url,
        title=f"{state.settings.app.name} · Admin",
        authentication_backend=authentication,
        authorization_backend=authorization,
        middlewares=[Middleware(NoStore), Middleware(SameSiteRedirects)],
    )
    authentication.admin = panel
    registry = {resource.table_name: resource for resource in resources}
    for resource in resources:
        base: type[ResourceView] = OVERRIDES.get(resource.model, ResourceView)
        view = view_for(resource, registry=registry, state=state, base=base)
        panel.add_view(view)
        authorization.views[view.identity] = panel.views[-1]  # type: ignore[assignment]
    return panel


__all__ = ["BASE_URL", "mount_admin"]
