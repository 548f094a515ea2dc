"""Trellis with its database integration: `/db` (one random row as JSON), `/fortunes` (HTML)."""

from __future__ import annotations

from common import ADDED_FORTUNE, database_url, random_id

from trellis import App, Template, render
from trellis.db import Database, Mapped, Model, Session, String, mapped_column, select

app = App(settings={"DATABASE_URL": database_url(), "DATABASE_POOL_SIZE": "4"})
db = Database(app)


class World(Model):
    __tablename__ = "world"
    id: Mapped[int] = mapped_column(primary_key=True)
    randomnumber: Mapped[int]


class Fortune(Model):
    __tablename__ = "fortune"
    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str] = mapped_column(String(2048))


@app.get("/db")
def single_query(session: Session) -> dict[str, int]:
    row = session.get_or_404(World, random_id())
    return {"id": row.id, "randomNumber": row.randomnumber}


@app.get("/fortunes")
def fortunes(session: Session) -> Template:
    rows = list(session.scalars(select(Fortune)))
    rows.append(Fortune(id=0, message=ADDED_FORTUNE))
    rows.sort(key=lambda f: f.message)
    return render("fortunes.html", fortunes=rows)
