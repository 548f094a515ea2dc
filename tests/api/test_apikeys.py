"""API keys over HTTP: headers, scopes, revocation, expiry, rotation, caching, limits."""

from __future__ import annotations

import hashlib
import secrets
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from trellis import App
from trellis.auth import apikeys as apikeys_module
from trellis.auth.apikeys import APIKey, APIKeys, requires_scope
from trellis.auth.keystore import KEY_TAG, APIKeyStore, parse_duration
from trellis.errors import ConfigurationError
from trellis.testing import TestClient


class Features(BaseModel):
    x: float


@pytest.fixture
def keys(database_url: str) -> Iterator[APIKeys]:
    app = App(settings={})
    authenticator = APIKeys(app, database_url=database_url)
    authenticator.store.create_table()

    @app.get("/public")
    def public() -> dict[str, str]:
        return {"ok": "yes"}

    @app.post("/predict")
    @requires_scope("models:predict")
    def predict(features: Features) -> dict[str, float]:
        return {"y": features.x * 2}

    @app.get("/admin")
    @requires_scope("admin", "models:predict")
    def admin() -> dict[str, str]:
        return {"admin": "yes"}

    @app.get("/me")
    def me(key: APIKey) -> dict[str, Any]:
        return {"name": key.name, "scopes": sorted(key.scopes)}

    yield authenticator
    authenticator.store.table.drop(authenticator.store.engine, checkfirst=True)
    authenticator.store.engine.dispose()


@pytest.fixture
def app(keys: APIKeys) -> App:
    return keys.app


@pytest.fixture
def new_key(keys: APIKeys) -> Callable[..., str]:
    def make(*scopes: str, **options: Any) -> str:
        _, plain = keys.create(
            options.pop("name", "test"), list(scopes or ["models:predict"]), **options
        )
        return plain

    return make


def predict(client: TestClient, key: str | None = None, header: str = "x-api-key") -> Any:
    headers = {}
    if key is not None:
        headers = {"authorization": f"Bearer {key}"} if header == "bearer" else {header: key}
    return client.post("/predict", json={"x": 2}, headers=headers)


def test_a_key_in_x_api_key_is_accepted(client: TestClient, new_key: Callable[..., str]) -> None:
    response = predict(client, new_key())

    assert response.status_code == 200
    assert response.json() == {"y": 4.0}


def test_a_key_as_bearer_token_is_accepted(client: TestClient, new_key: Callable[..., str]) -> None:
    assert predict(client, new_key(), header="bearer").status_code == 200


def test_routes_without_scopes_need_no_key(client: TestClient) -> None:
    assert client.get("/public").status_code == 200


def test_missing_key_is_401_with_www_authenticate(client: TestClient) -> None:
    response = predict(client)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert "X-API-Key" in response.json()["detail"]


def test_unknown_key_is_401_invalid_token(client: TestClient) -> None:
    fake = f"{KEY_TAG}_abcdefgh_{secrets.token_urlsafe(32)}"

    response = predict(client, fake)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_malformed_key_is_401(client: TestClient) -> None:
    assert predict(client, "not a key at all").status_code == 401


def test_right_prefix_with_wrong_secret_is_401(
    client: TestClient, new_key: Callable[..., str]
) -> None:
    key = new_key()
    forged = key[: -len("x")] + ("A" if key[-1] != "A" else "B")

    assert predict(client, forged).status_code == 401


def test_wrong_scope_is_403_naming_the_missing_scope(
    client: TestClient, new_key: Callable[..., str]
) -> None:
    response = client.get("/admin", headers={"x-api-key": new_key("models:predict")})

    assert response.status_code == 403
    assert "'admin'" in response.json()["detail"]
    assert "models:predict" not in response.headers["www-authenticate"]
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="admin"'
    )


def test_a_group_wildcard_grants_its_scopes(
    client: TestClient, new_key: Callable[..., str]
) -> None:
    assert predict(client, new_key("models:*")).status_code == 200
    assert client.get("/admin", headers={"x-api-key": new_key("models:*")}).status_code == 403
    assert client.get("/admin", headers={"x-api-key": new_key("*")}).status_code == 200


def test_revoked_key_is_401(client: TestClient, keys: APIKeys, new_key: Callable[..., str]) -> None:
    key = new_key()
    assert predict(client, key).status_code == 200

    keys.revoke(key.split("_")[1])

    response = predict(client, key)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_expired_key_is_401(client: TestClient, keys: APIKeys, new_key: Callable[..., str]) -> None:
    key = new_key(expires_in=timedelta(days=1))
    assert predict(client, key).status_code == 200
    table = keys.store.table
    with keys.store.engine.begin() as connection:
        connection.execute(
            sa.update(table).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    keys.forget()

    response = predict(client, key)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_rotation_replaces_the_key(
    client: TestClient, keys: APIKeys, new_key: Callable[..., str]
) -> None:
    old = new_key()
    assert predict(client, old).status_code == 200

    rotated, new = keys.rotate(old.split("_")[1])

    assert predict(client, old).status_code == 401
    assert predict(client, new).status_code == 200
    assert rotated.scopes == frozenset({"models:predict"})


def test_a_key_in_the_query_string_is_refused(
    client: TestClient, new_key: Callable[..., str]
) -> None:
    key = new_key()

    for url in (f"/predict?api_key={key}", f"/predict?token={key}"):
        response = client.post(url, json={"x": 1})
        assert response.status_code == 400
        assert "not accepted in the query string" in response.json()["detail"]
    # Even with a good key in the header: the one in the URL has leaked into logs.
    response = client.post(f"/predict?api_key={key}", json={"x": 1}, headers={"x-api-key": key})
    assert response.status_code == 400


def test_two_different_keys_are_refused(client: TestClient, new_key: Callable[..., str]) -> None:
    response = client.post(
        "/predict",
        json={"x": 1},
        headers={"x-api-key": new_key(), "authorization": f"Bearer {new_key()}"},
    )

    assert response.status_code == 400


def test_the_key_is_checked_before_the_body(client: TestClient) -> None:
    response = client.post(
        "/predict", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 401


def test_an_api_key_parameter_receives_the_key(
    client: TestClient, new_key: Callable[..., str]
) -> None:
    response = client.get("/me", headers={"x-api-key": new_key("a", "b:c", name="ci")})

    assert response.json() == {"name": "ci", "scopes": ["a", "b:c"]}
    assert client.get("/me").status_code == 401


def test_the_database_holds_only_the_hash(keys: APIKeys, new_key: Callable[..., str]) -> None:
    key = new_key()
    prefix, secret = key.split("_")[1], key.split("_", 2)[2]

    row = keys.store.raw_row(prefix)

    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(value) for value in row.values())
    assert all(key not in str(value) for value in row.values())


def test_secrets_are_compared_in_constant_time(
    client: TestClient, new_key: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    calls: list[tuple[str, str]] = []
    real = apikeys_module.hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(apikeys_module.hmac, "compare_digest", spy)
    assert predict(client, key).status_code == 200

    digest = hashlib.sha256(key.split("_", 2)[2].encode()).hexdigest()
    assert (digest, digest) in calls


def test_a_hot_key_is_not_a_query_per_request(
    client: TestClient, keys: APIKeys, new_key: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    lookups: list[str] = []
    real_find = keys.store.find
    monkeypatch.setattr(
        keys.store, "find", lambda prefix: lookups.append(prefix) or real_find(prefix)
    )
    now = [1000.0]
    keys.clock = lambda: now[0]

    for _ in range(5):
        assert predict(client, key).status_code == 200
    assert len(lookups) == 1

    now[0] += keys.cache_ttl + 0.1
    assert predict(client, key).status_code == 200
    assert len(lookups) == 2


def test_last_used_is_written_at_most_once_per_interval(
    client: TestClient, keys: APIKeys, new_key: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    prefix = key.split("_")[1]
    writes: list[int] = []
    real_touch = keys.store.touch
    monkeypatch.setattr(
        keys.store, "touch", lambda key_id, when: writes.append(key_id) or real_touch(key_id, when)
    )
    now = [1000.0]
    keys.clock = lambda: now[0]

    for _ in range(3):
        predict(client, key)
    assert len(writes) == 1
    assert keys.store.raw_row(prefix)["last_used_at"] is not None

    now[0] += keys.touch_interval + 1
    predict(client, key)
    assert len(writes) == 2


def test_per_key_rate_limit_answers_429_with_retry_after(
    client: TestClient, new_key: Callable[..., str]
) -> None:
    key = new_key(rate_limit="3/minute")

    statuses = [predict(client, key).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = predict(client, key)
    assert 1 <= int(response.headers["retry-after"]) <= 60
    # Another key has its own allowance.
    assert predict(client, new_key(rate_limit="3/minute")).status_code == 200


def test_default_rate_limit_applies_to_keys_without_their_own(database_url: str) -> None:
    app = App(settings={})
    keys = APIKeys(app, database_url=database_url, rate_limit="2/minute")

    @app.get("/x")
    @requires_scope("s")
    def x() -> dict[str, int]:
        return {}

    try:
        with TestClient(app) as client:
            _, plain = keys.create("limited", ["s"])
            statuses = [
                client.get("/x", headers={"x-api-key": plain}).status_code for _ in range(3)
            ]
        assert statuses == [200, 200, 429]
    finally:
        keys.store.table.drop(keys.store.engine, checkfirst=True)
        keys.store.engine.dispose()


def test_brute_force_gets_401_then_429_and_memory_stays_flat(
    client: TestClient, keys: APIKeys
) -> None:
    def attempt() -> int:
        fake = f"{KEY_TAG}_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
        return int(predict(client, fake).status_code)

    keys.cache_size = 64
    for _ in range(200):
        assert attempt() in (401, 429)
    tracemalloc.start()
    try:
        before = _auth_memory()
        statuses = {attempt() for _ in range(800)}
        after = _auth_memory()
    finally:
        tracemalloc.stop()

    assert statuses <= {401, 429}
    assert 429 in statuses  # the failure limit (30/minute per client) kicked in
    assert len(keys._cache) <= 64
    assert len(keys._blocked) <= 1
    assert after - before < 64 * 1024, f"API key memory grew by {after - before} bytes"


def _auth_memory() -> int:
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, "*trellis/auth/*")]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


def test_too_many_failures_from_one_client_are_429(
    client: TestClient, new_key: Callable[..., str]
) -> None:
    statuses = [predict(client, f"{KEY_TAG}_aaaaaaaa_{'x' * 43}").status_code for _ in range(31)]

    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429


def test_requires_scope_without_an_authenticator_refuses_to_run_the_handler(
    make_client: Callable[..., TestClient],
) -> None:
    app = App(settings={})
    ran: list[bool] = []

    @app.get("/secret")
    @requires_scope("s")
    def secret() -> str:
        ran.append(True)
        return "secret"

    client = make_client(app, raise_server_exceptions=False)
    response = client.get("/secret")

    assert response.status_code == 500
    assert ran == []
    assert "secret" not in response.text


def test_async_handlers_are_guarded_too(
    client: TestClient, app: App, new_key: Callable[..., str]
) -> None:
    @app.get("/async")
    @requires_scope("models:predict")
    async def async_handler() -> dict[str, bool]:
        return {"async": True}

    assert client.get("/async").status_code == 401
    assert client.get("/async", headers={"x-api-key": new_key()}).json() == {"async": True}


def test_invalid_scope_names_are_refused_at_import() -> None:
    with pytest.raises(ValueError, match="not a valid scope"):
        requires_scope("has space")
    with pytest.raises(ConfigurationError):
        requires_scope()


def test_apikeys_of_an_app_without_keys_explains_what_to_add() -> None:
    with pytest.raises(ConfigurationError, match="APIKeys"):
        APIKeys.of(App(settings={}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("2w", timedelta(weeks=2))],
)
def test_durations_are_read(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "0d", "30", "d", "1y", "-1d"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_store_refuses_keys_without_scopes_or_name(database_url: str) -> None:
    store = APIKeyStore.from_url(database_url)
    store.create_table()
    try:
        with pytest.raises(ValueError, match="at least one scope"):
            store.create("x", [])
        with pytest.raises(ValueError, match="name"):
            store.create(" ", ["a"])
        with pytest.raises(ValueError, match="not a valid scope"):
            store.create("x", ["bad scope!"])
    finally:
        store.table.drop(store.engine, checkfirst=True)
        store.engine.dispose()


def test_an_accepted_key_does_not_leak_into_the_next_request_on_the_thread(
    keys: APIKeys, new_key: Callable[..., str]
) -> None:
    unguarded = App(settings={})

    @unguarded.get("/secret")
    @requires_scope("models:predict")
    def secret() -> str:
        return "secret"

    with TestClient(keys.app, protocol="wsgi") as guarded_client:
        # The key is accepted, then the body fails validation: the handler never runs.
        response = guarded_client.post(
            "/predict", json={"x": "nan?"}, headers={"x-api-key": new_key()}
        )
        assert response.status_code == 422
    with TestClient(unguarded, protocol="wsgi", raise_server_exceptions=False) as client:
        assert client.get("/secret").status_code == 500


def test_a_client_over_its_failure_limit_is_refused_without_a_lookup(
    client: TestClient, keys: APIKeys, new_key: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = new_key()
    for _ in range(31):
        predict(client, f"{KEY_TAG}_{secrets.token_hex(4)}_{'x' * 43}")
    lookups: list[str] = []
    monkeypatch.setattr(keys.store, "find", lambda prefix: lookups.append(prefix))

    statuses = {
        predict(client, f"{KEY_TAG}_{secrets.token_hex(4)}_{'x' * 43}").status_code
        for _ in range(20)
    }

    assert statuses == {429}
    assert lookups == []
    # The block is per client address and lasts the window: even a good key waits.
    assert predict(client, good).status_code == 429
