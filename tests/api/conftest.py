"""Fixtures for API keys and resources: each test runs on SQLite and on the real PostgreSQL.

PostgreSQL is shared with other test runs, so this run creates its own database
(`trellis_api_<random>`, through the `test` database) and drops it at the end. Set
TEST_POSTGRES_URL to use another server. Without CI the PostgreSQL half is skipped when the
server is unreachable; under CI=true it fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'keys.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
