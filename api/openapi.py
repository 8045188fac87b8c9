"""The OpenAPI document, committed as docs/api-spec.yaml (the seed asks for it there)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from api.app import create_app
from core.settings import Settings


def openapi_document() -> dict[str, Any]:
    # Plain settings, no generated secrets: the document must not depend on this machine.
    return create_app(Settings()).openapi()


def render_openapi() -> str:
    return yaml.safe_dump(openapi_document(), sort_keys=False, allow_unicode=True)


def write_openapi(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_openapi())
