"""Alembic's environment for this app, written by `trellis db init`.

Trellis finds the app (as `trellis run` does), its Database and the models' metadata, and runs
the migrations on the app's DATABASE_URL. Use `trellis db ...` rather than `alembic ...`.
"""

from trellis.db.migrations import run_migrations

run_migrations()
