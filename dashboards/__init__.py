"""Reserved for the analytics dashboards (Plotly Dash), which arrive with the analytics work;
nothing is served from here yet."""
