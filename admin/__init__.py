"""The admin panel at ``/admin``: SQLAdmin views generated from the resource declarations."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from sqladmin import Admin
from starlette.middleware import Middleware

from admin.auth import BASE_URL, NoStore, PanelAuthentication, PanelAuthorization
from admin.overrides import OVERRIDES
from admin.views import ResourceView, view_for
from api.state import AppState
from resources import Resource
from resources.registry import RESOURCES


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
        middlewares=[Middleware(NoStore)],
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
