"""Shared by the database benchmark apps: the schema, the seed data and the fortunes page."""

from __future__ import annotations

import os
import random
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert

WORLD_ROWS = 10_000
ADDED_FORTUNE = "A fortune added while the request was served."
FORTUNES = [
    "A watched kettle still boils, eventually.",
    "Measure twice, benchmark three times.",
    "<script>alert('escaped?')</script>",
    "The cache you did not warm is the one you need.",
    "フレームワークのベンチマーク",
    "Every index has its price.",
    "A join a day keeps the N+1 away.",
    "Latency hides in the tail.",
    'Quote & escape: "always".',
    "Premature optimisation is still premature.",
    "The slowest query is the one you run twice.",
    "Connection pools are shared by those who wait.",
]

metadata = MetaData()
world = Table(
    "world",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("randomnumber", Integer, nullable=False),
)
fortune = Table(
    "fortune",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message", String(2048), nullable=False),
)

# The one fortunes template, read by every framework (Trellis loads it from templates/ itself).
FORTUNES_TEMPLATE = (Path(__file__).parent / "templates" / "fortunes.html").read_text()


def database_url() -> str:
    """The SQLAlchemy URL of the seeded database (set by run.py)."""
    return os.environ["BENCH_DATABASE_URL"]


def random_id() -> int:
    return random.randint(1, WORLD_ROWS)


def seed(url: str) -> None:
    """Create and fill the `world` and `fortune` tables."""
    engine = create_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    rng = random.Random(42)
    with engine.begin() as connection:
        connection.execute(
            insert(world),
            [{"id": i, "randomnumber": rng.randint(1, 10_000)} for i in range(1, WORLD_ROWS + 1)],
        )
        connection.execute(
            insert(fortune), [{"id": i, "message": m} for i, m in enumerate(FORTUNES, 1)]
        )
    engine.dispose()
