"""The public board: app.py, callbacks.py, figures.py, data.py (docs/dashboards.md)."""
