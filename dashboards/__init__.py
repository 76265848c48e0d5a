"""The Dash boards, served under /dash/ by the same ASGI application as Django (city/asgi.py).

One folder per board: app.py (its layout), callbacks.py, figures.py (pure data frame -> figure functions)
and data.py (the only module that calls the domain: selectors, and one service). server.py builds the
boards and the WSGI application in front of them, which lets the Django session decide who sees which
board, checks CSRF on Dash's callbacks and sets the boards' own Content-Security-Policy. docs/dashboards.md."""
