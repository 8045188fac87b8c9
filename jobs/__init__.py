"""Background work: the Huey queue and its consumer (``lms worker``)."""
