"""Specification of sessions with the default signed-cookie backend, and of flash messages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from trellis import App, Request, WebSocket
from trellis.sessions import Session, flash, get_flashed_messages
from trellis.sessions.cookie import CookieSessionBackend
from trellis.testing import TestClient

MakeClient = Callable[..., TestClient]
KEY = "test-secret-key-one"


@pytest.fixture
def app() -> App:
    """An app with a SECRET_KEY and routes that read and write the session (CSRF is tested
    elsewhere; here it would only add tokens to every post)."""
    app = App(settings={"SECRET_KEY": KEY, "CSRF_ENABLED": False})

    @app.get("/plain")
    def plain() -> str:
        return "no session here"

    @app.get("/get")
    def get_value(request: Request) -> dict[str, Any]:
        return {"value": request.session.get("value")}

    @app.post("/set")
    def set_value(request: Request, value: str) -> dict[str, Any]:
        request.session["value"] = value
        return {"ok": True}

    @app.post("/clear")
    def clear(request: Request) -> None:
        request.session.clear()

    @app.post("/flash")
    def add_flash(request: Request, message: str, category: str = "info") -> None:
        flash(request, message, category)

    @app.get("/flashes")
    def flashes(request: Request, category: str = "") -> list[Any]:
        return get_flashed_messages(
            request, with_categories=True, category_filter=[category] if category else []
        )

    return app


def set_cookie_headers(response: Any) -> list[str]:
    return response.headers.get_list("set-cookie")


def test_a_request_that_never_touches_the_session_gets_no_cookie(client: TestClient) -> None:
    response = client.get("/plain")

    assert set_cookie_headers(response) == []


def test_reading_an_empty_session_sets_no_cookie(client: TestClient) -> None:
    response = client.get("/get")

    assert response.json() == {"value": None}
    assert set_cookie_headers(response) == []


def test_a_value_stored_in_the_session_is_there_on_the_next_request(client: TestClient) -> None:
    client.post("/set", params={"value": "hello"})

    assert client.get("/get").json() == {"value": "hello"}


def test_reading_a_stored_session_does_not_set_the_cookie_again(client: TestClient) -> None:
    client.post("/set", params={"value": "hello"})

    response = client.get("/get")

    assert set_cookie_headers(response) == []


def test_the_session_cookie_is_httponly_and_samesite_lax_without_max_age(
    client: TestClient,
) -> None:
    response = client.post("/set", params={"value": "x"})

    (cookie,) = set_cookie_headers(response)
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Max-Age" not in cookie  # a browser-session cookie unless remember-me


def test_clearing_the_session_deletes_the_cookie(client: TestClient) -> None:
    client.post("/set", params={"value": "x"})

    response = client.post("/clear")

    (cookie,) = set_cookie_headers(response)
    assert "Max-Age=0" in cookie
    assert client.get("/get").json() == {"value": None}


def test_garbage_in_the_session_cookie_gives_an_empty_session(client: TestClient) -> None:
    client.cookies.set("session", "not-a-signed-value")

    response = client.get("/get")

    assert response.status_code == 200
    assert response.json() == {"value": None}


def test_a_cookie_signed_with_a_fallback_key_still_verifies(make_client: MakeClient) -> None:
    old = App(settings={"SECRET_KEY": "old-key"})
    old.sessions.use(CookieSessionBackend(["old-key"]))
    value = CookieSessionBackend(["old-key"]).save("sid", {"value": "kept"}, time.time() + 60)
    rotated = App(settings={"SECRET_KEY": "new-key", "SECRET_KEY_FALLBACKS": "old-key"})

    @rotated.get("/get")
    def get_value(request: Request) -> dict[str, Any]:
        return {"value": request.session.get("value")}

    client = make_client(rotated)
    client.cookies.set("session", value)

    assert client.get("/get").json() == {"value": "kept"}


def test_a_cookie_signed_with_a_retired_key_is_ignored(make_client: MakeClient) -> None:
    value = CookieSessionBackend(["retired-key"]).save("sid", {"value": "x"}, time.time() + 60)
    app = App(settings={"SECRET_KEY": "new-key"})

    @app.get("/get")
    def get_value(request: Request) -> dict[str, Any]:
        return {"value": request.session.get("value")}

    client = make_client(app)
    client.cookies.set("session", value)

    assert client.get("/get").json() == {"value": None}


def test_new_sessions_are_signed_with_the_current_key_not_a_fallback() -> None:
    app = App(settings={"SECRET_KEY": "new-key", "SECRET_KEY_FALLBACKS": ["old-key"]})
    value = app.sessions.backend.save("sid", {"a": 1}, time.time() + 60)

    assert CookieSessionBackend(["new-key"]).load(value) is not None
    assert CookieSessionBackend(["old-key"]).load(value) is None


def test_an_expired_cookie_gives_an_empty_session(client: TestClient) -> None:
    expired = CookieSessionBackend([KEY]).save("sid", {"value": "old"}, time.time() - 1)
    client.cookies.set("session", expired)

    assert client.get("/get").json() == {"value": None}


def test_a_session_past_half_its_lifetime_is_refreshed_when_used(client: TestClient) -> None:
    soon = CookieSessionBackend([KEY]).save("sid", {"value": "v"}, time.time() + 60)
    client.cookies.set("session", soon)

    response = client.get("/get")

    assert response.json() == {"value": "v"}
    assert len(set_cookie_headers(response)) == 1


def test_sessions_outside_debug_without_secret_key_fail_with_advice(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    app = App(settings={})

    @app.get("/get")
    def get_value(request: Request) -> str:
        return str(request.session.get("value"))

    response = make_client(app).get("/get")

    assert response.status_code == 500
    assert "Sessions needs a SECRET_KEY" in caplog.text
    assert "TRELLIS_SECRET_KEY" in caplog.text


def test_sessions_in_debug_without_secret_key_use_a_process_key_with_a_warning(
    make_client: MakeClient,
) -> None:
    app = App(settings={"DEBUG": True, "CSRF_ENABLED": False})

    @app.post("/set")
    def set_value(request: Request) -> None:
        request.session["value"] = "x"

    @app.get("/get")
    def get_value(request: Request) -> str:
        return str(request.session.get("value"))

    client = make_client(app)
    with pytest.warns(RuntimeWarning, match="no SECRET_KEY set"):
        client.post("/set")
    assert client.get("/get").text == "x"


def test_a_session_too_big_for_a_cookie_is_a_clear_error(
    client: TestClient, app: App, caplog: pytest.LogCaptureFixture
) -> None:
    @app.post("/big")
    def big(request: Request) -> None:
        request.session["blob"] = "x" * 5000 + "".join(str(i) for i in range(2000))

    response = client.post("/big")

    assert response.status_code == 500
    assert "too big for a cookie" in caplog.text


def test_session_tracks_changes_and_ids() -> None:
    session = Session({"a": 1}, "old-id", time.time() + 60)
    assert not session.modified and not session.new

    session.regenerate()

    assert session.id != "old-id"
    assert session.stale_ids == ["old-id"]
    assert session["a"] == 1
    assert session.modified


def test_invalidate_drops_data_and_id() -> None:
    session = Session({"a": 1}, "old-id", time.time() + 60)

    session.invalidate()

    assert dict(session) == {}
    assert session.id != "old-id"
    assert session.stale_ids == ["old-id"]


# -- flash messages --


def test_a_flash_message_is_shown_once(client: TestClient) -> None:
    client.post("/flash", params={"message": "Saved."})

    assert client.get("/flashes").json() == [["info", "Saved."]]
    assert client.get("/flashes").json() == []


def test_flash_messages_keep_their_order_and_categories(client: TestClient) -> None:
    client.post("/flash", params={"message": "one", "category": "success"})
    client.post("/flash", params={"message": "two", "category": "error"})

    assert client.get("/flashes").json() == [["success", "one"], ["error", "two"]]


def test_a_category_filter_leaves_other_messages_for_later(client: TestClient) -> None:
    client.post("/flash", params={"message": "one", "category": "success"})
    client.post("/flash", params={"message": "two", "category": "error"})

    assert client.get("/flashes", params={"category": "error"}).json() == [["error", "two"]]
    assert client.get("/flashes").json() == [["success", "one"]]


def test_asking_for_flashes_without_a_cookie_creates_no_session(client: TestClient) -> None:
    response = client.get("/flashes")

    assert response.json() == []
    assert set_cookie_headers(response) == []


class CountingBackend(CookieSessionBackend):
    """The real cookie backend, counting how often the store is read and written."""

    def __init__(self) -> None:
        super().__init__([KEY])
        self.loads = 0
        self.saves = 0

    def load(self, cookie_value: str) -> Any:
        self.loads += 1
        return super().load(cookie_value)

    def save(self, session_id: str, data: dict[str, Any], expires_at: float) -> str:
        self.saves += 1
        return super().save(session_id, data, expires_at)


def test_a_request_with_a_session_cookie_that_never_touches_it_loads_nothing(
    app: App, client: TestClient
) -> None:
    backend = CountingBackend()
    app.sessions.use(backend)
    client.post("/set", params={"value": "x"})
    loads, saves = backend.loads, backend.saves

    response = client.get("/plain")

    assert response.text == "no session here"
    assert (backend.loads, backend.saves) == (loads, saves)
    assert set_cookie_headers(response) == []


def test_a_handler_can_take_the_session_by_annotation(app: App, client: TestClient) -> None:
    @app.get("/by-annotation")
    def by_annotation(session: Session) -> dict[str, Any]:
        return {"value": session.get("value")}

    client.post("/set", params={"value": "injected"})

    assert client.get("/by-annotation").json() == {"value": "injected"}


# -- server-side backends under ASGI: their I/O stays off the event loop --


class RecordingBackend:
    """An in-memory store that says it blocks and notes, per call, whether it ran on a thread
    with a running event loop."""

    blocking = True

    def __init__(self) -> None:
        self.rows: dict[str, tuple[dict[str, Any], float]] = {}
        self.calls: list[tuple[str, bool]] = []

    def _note(self, name: str) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.calls.append((name, False))
        else:
            self.calls.append((name, True))

    def load(self, cookie_value: str) -> tuple[str, dict[str, Any], float] | None:
        self._note("load")
        row = self.rows.get(cookie_value)
        return (cookie_value, dict(row[0]), row[1]) if row else None

    def save(self, session_id: str, data: dict[str, Any], expires_at: float) -> str:
        self._note("save")
        self.rows[session_id] = (dict(data), expires_at)
        return session_id

    def delete(self, session_id: str) -> None:
        self._note("delete")
        self.rows.pop(session_id, None)


def add_async_session_routes(app: App) -> None:
    @app.post("/async-set")
    async def async_set(request: Request, value: str) -> dict[str, Any]:
        request.session["value"] = value
        return {"ok": True}

    @app.get("/async-get")
    async def async_get(request: Request) -> dict[str, Any]:
        return {"value": request.session.get("value")}


def test_a_blocking_backend_is_never_called_on_the_event_loop_under_asgi(app: App) -> None:
    backend = RecordingBackend()
    app.sessions.use(backend)
    add_async_session_routes(app)

    with TestClient(app, protocol="asgi") as client:
        assert client.post("/async-set", params={"value": "tea"}).status_code == 200
        assert client.get("/async-get").json() == {"value": "tea"}
        assert client.get("/get").json() == {"value": "tea"}

    assert [name for name, _ in backend.calls] == ["save", "load", "load"]
    assert not any(on_loop for _, on_loop in backend.calls)


def test_a_websocket_reads_a_blocking_session_off_the_event_loop(app: App) -> None:
    backend = RecordingBackend()
    app.sessions.use(backend)
    add_async_session_routes(app)

    @app.websocket("/ws")
    async def greet(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(f"hello {ws.request.session.get('value')}")

    with TestClient(app, protocol="asgi") as client:
        client.post("/async-set", params={"value": "ada"})
        with client.websocket_connect("/ws") as session:
            assert session.receive_text() == "hello ada"

    assert [name for name, _ in backend.calls] == ["save", "load"]
    assert not any(on_loop for _, on_loop in backend.calls)


def test_a_request_without_the_session_cookie_does_not_touch_a_blocking_backend(
    app: App,
) -> None:
    backend = RecordingBackend()
    app.sessions.use(backend)

    with TestClient(app, protocol="asgi") as client:
        assert client.get("/plain").status_code == 200
    assert backend.calls == []


def test_a_failing_session_store_is_a_500_not_a_dropped_connection(app: App) -> None:
    class Unreachable(RecordingBackend):
        def load(self, cookie_value: str) -> tuple[str, dict[str, Any], float] | None:
            raise ConnectionError("the session store is down")

    app.sessions.use(Unreachable())
    with TestClient(app, protocol="asgi", raise_server_exceptions=False) as client:
        client.cookies.set("session", "abc")
        response = client.get("/get")

    assert response.status_code == 500
    assert "the session store is down" not in response.text


def test_the_cookie_backend_runs_inline_and_server_side_ones_say_they_block() -> None:
    from trellis.sessions.database import DatabaseSessionBackend
    from trellis.sessions.redis import RedisSessionBackend

    assert CookieSessionBackend.blocking is False
    assert RedisSessionBackend.blocking is True
    assert DatabaseSessionBackend.blocking is True
    assert App(settings={"SESSION_BACKEND": "redis"}).sessions.blocking is True
    assert App().sessions.blocking is False


def test_a_backend_that_does_not_say_is_taken_to_block(app: App) -> None:
    class Quiet:
        def load(self, cookie_value: str) -> None:
            return None

        def save(self, session_id: str, data: dict[str, Any], expires_at: float) -> str:
            return session_id

        def delete(self, session_id: str) -> None:
            return None

    app.sessions.use(Quiet())
    assert app.sessions.blocking is True
    app.sessions.use(CookieSessionBackend([KEY]))
    assert app.sessions.blocking is False
