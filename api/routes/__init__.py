"""Hand-written endpoints, one module per area."""
