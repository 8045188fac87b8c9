"""Request and response schemas: camelCase on the wire, snake_case in Python."""
