"""A database that goes away: 503 with a log line, nothing half-written, and service resumes."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from trellis import App
from trellis.db import Database, Session, select
from trellis.testing import TestClient

from .models import Base, User

MakeClient = Callable[..., TestClient]


class TCPProxy:
    """Forwards 127.0.0.1:<port> to a target; `stop()` drops every connection and refuses new
    ones, `start()` serves again on the same port, like a database server restarting."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def proxied_postgres(postgres_url: str) -> Iterator[tuple[str, TCPProxy]]:
    url = make_url(postgres_url)
    proxy = TCPProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    try:
        yield url.set(port=proxy.port).render_as_string(hide_password=False), proxy
    finally:
        proxy.stop()


def test_database_down_is_503_and_service_resumes_when_it_is_back(
    proxied_postgres: tuple[str, TCPProxy],
    make_client: MakeClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, proxy = proxied_postgres
    app = App(settings={"DATABASE_URL": url, "DATABASE_CONNECT_TIMEOUT": "2"})
    db = Database(app, model=Base, root_path=tmp_path)
    db.drop_all()
    db.create_all()

    @app.post("/users/{name}")
    def create(name: str, session: Session) -> dict[str, int]:
        session.add(User(email=f"{name}@example.com", name=name))
        return {"users": len(session.scalars(select(User)).all())}

    client = make_client(app)
    try:
        assert client.post("/users/before").json() == {"users": 1}
        proxy.stop()
        with caplog.at_level(logging.ERROR, logger="trellis.db"):
            down = client.post("/users/during")
        assert down.status_code == 503
        assert down.headers["retry-after"] == "2"
        assert "database is unavailable" in down.json()["detail"]
        assert any(
            "Database unavailable during POST /users/during" in r.message for r in caplog.records
        )
        assert "password" not in caplog.text
        proxy.start()
        assert client.post("/users/after").json() == {"users": 2}
    finally:
        proxy.start() if proxy._listener is None else None
        db.drop_all()
        db.engine.dispose()


def test_connection_killed_mid_request_is_503_with_no_partial_write_and_next_request_works(
    postgres_url: str, make_client: MakeClient, tmp_path: Path
) -> None:
    app = App(settings={"DATABASE_URL": postgres_url})
    db = Database(app, model=Base, root_path=tmp_path)
    db.drop_all()
    db.create_all()
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")

    @app.post("/users/{name}")
    def create(name: str, session: Session, kill: bool = False) -> dict[str, int]:
        session.add(User(email=f"{name}@example.com", name=name))
        session.flush()
        if kill:
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
            with admin.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        session.add(User(email=f"{name}2@example.com", name=name))
        session.flush()
        return {"users": len(session.scalars(select(User)).all())}

    client = make_client(app)
    try:
        assert client.post("/users/killed?kill=true").status_code == 503
        assert client.post("/users/next").json() == {"users": 2}
    finally:
        admin.dispose()
        db.drop_all()
        db.engine.dispose()


def test_sqlite_locked_by_another_writer_is_503_then_recovers(
    make_client: MakeClient, tmp_path: Path
) -> None:
    path = tmp_path / "app.db"
    # Wait only 100 ms for the lock instead of the default five seconds.
    app = App(settings={"DATABASE_URL": f"sqlite:///{path}", "DATABASE_BUSY_TIMEOUT": "100"})
    db = Database(app, model=Base, root_path=tmp_path)
    db.create_all()

    @app.post("/users/{name}")
    def create(name: str, session: Session) -> dict[str, int]:
        session.add(User(email=f"{name}@example.com", name=name))
        session.flush()
        return {"users": len(session.scalars(select(User)).all())}

    import sqlite3

    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("PRAGMA busy_timeout=0")
    blocker.execute("BEGIN EXCLUSIVE")
    client = make_client(app)
    try:
        assert client.post("/users/locked").status_code == 503
        blocker.execute("ROLLBACK")
        assert client.post("/users/free").json() == {"users": 1}
    finally:
        blocker.close()
        db.engine.dispose()


def test_statement_over_the_timeout_is_503_on_postgres(
    postgres_url: str, make_client: MakeClient, tmp_path: Path
) -> None:
    settings = {"DATABASE_URL": postgres_url, "DATABASE_STATEMENT_TIMEOUT": "100"}
    app = App(settings=settings)
    db = Database(app, model=Base, root_path=tmp_path)

    @app.get("/slow")
    def slow(session: Session) -> dict[str, bool]:
        session.execute(text("SELECT pg_sleep(2)"))
        return {"done": True}

    @app.get("/fast")
    def fast(session: Session) -> dict[str, int]:
        return {"one": session.execute(text("SELECT 1")).scalar_one()}

    client = make_client(app)
    try:
        assert client.get("/slow").status_code == 503
        assert client.get("/fast").json() == {"one": 1}
    finally:
        db.engine.dispose()
