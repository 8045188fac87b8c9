"""The REST API: app factory, envelope, error handling, dependencies and routes."""
