"""`filmkb serve`: a read-only web view of the knowledge base, a thin shell over kb/ and jobs/ like cli.py.

    from filmkb.web import create_app
    app = create_app("filmkb.duckdb")      # a FastAPI app; every request opens the file read-only
"""

from .app import create_app, serve

__all__ = ["create_app", "serve"]
