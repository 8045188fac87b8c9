"""The Plotly Dash analytics app at /dashboards, reading the same database."""
