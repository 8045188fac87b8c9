"""The SQLAdmin panel at /admin, generated from the same declarations as the data API."""
