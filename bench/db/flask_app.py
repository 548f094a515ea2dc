"""Flask + Flask-SQLAlchemy: the same two endpoints."""

from __future__ import annotations

from common import ADDED_FORTUNE, FORTUNES_TEMPLATE, database_url, random_id
from flask import Flask, jsonify, render_template
from flask_sqlalchemy import SQLAlchemy
from jinja2 import DictLoader
from sqlalchemy.orm import Mapped, mapped_column

app = Flask(__name__)
app.jinja_loader = DictLoader({"fortunes.html": FORTUNES_TEMPLATE})  # compiled once, cached
app.config["SQLALCHEMY_DATABASE_URI"] = database_url()
app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
db = SQLAlchemy(app)


class World(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "world"
    id: Mapped[int] = mapped_column(primary_key=True)
    randomnumber: Mapped[int]


class Fortune(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "fortune"
    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str]


@app.get("/db")
def single_query():  # type: ignore[no-untyped-def]
    row = db.get_or_404(World, random_id())
    return jsonify(id=row.id, randomNumber=row.randomnumber)


@app.get("/fortunes")
def fortunes():  # type: ignore[no-untyped-def]
    rows = list(db.session.scalars(db.select(Fortune)))
    rows.append(Fortune(id=0, message=ADDED_FORTUNE))
    rows.sort(key=lambda f: f.message)
    return render_template("fortunes.html", fortunes=rows)
