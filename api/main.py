"""ASGI entry point for servers: ``uvicorn api.main:app`` (or ``lms serve``)."""

from api.app import create_app

app = create_app()
