"""The model-serving example, served by uvicorn on 127.0.0.1, driven like its users drive it.

Keys are made with the real `trellis apikeys` command against the example's database (a SQLite
file of this test run); the client script, schemathesis and a headless chromium then talk to the
real server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from .servers import EXAMPLES_DIR, REPO_ROOT, RunningServer, server_environment, start_server

pytestmark = pytest.mark.e2e

EXAMPLE_APP = EXAMPLES_DIR / "modelapi" / "app.py"
FLOWER = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
CACHE_TTL = 5.0  # the example keeps APIKeys' default lookup cache


class ModelAPI:
    """The running example and a way to run `trellis apikeys` against its database."""

    def __init__(self, server: RunningServer, env: dict[str, str], database: Path) -> None:
        self.server = server
        self.env = env
        self.database = database

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "trellis.cli", "apikeys", *args, "--app", str(EXAMPLE_APP)],
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def create_key(self, *args: str) -> str:
        result = self.cli("create", *args)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def predict(
        self, key: str | None, path: str = "/predict", body: Any = FLOWER
    ) -> httpx.Response:
        headers = {"x-api-key": key} if key else {}
        return httpx.post(self.server.url(path), json=body, headers=headers, timeout=10)


def _wait_for_status(call: Any, status: int, within: float = CACHE_TTL + 5) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        response: httpx.Response = call()
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.25)


@pytest.fixture(scope="module")
def model_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelAPI]:
    folder = tmp_path_factory.mktemp("modelapi")
    database = folder / "keys.db"
    extra = {"TRELLIS_DATABASE_URL": f"sqlite:///{database}"}
    with mock.patch.dict(os.environ, extra):
        env = server_environment()
        server = start_server("uvicorn", "modelapi", folder)
    try:
        yield ModelAPI(server, env, database)
    finally:
        server.stop()


def test_health_needs_no_key(model_api: ModelAPI) -> None:
    response = model_api.server.get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["training_accuracy"] > 0.9


def test_api_key_life_cycle_through_the_cli_and_http(model_api: ModelAPI) -> None:
    # create: the key is printed once, and works
    key = model_api.create_key("--name", "ci", "--scope", "models:predict", "--expires", "30d")
    prefix = key.split("_")[1]
    response = model_api.predict(key)
    assert response.status_code == 200
    assert response.json()["species"] == "virginica"

    # no key, then a key without the scope
    assert model_api.predict(None).status_code == 401
    other = model_api.create_key("--name", "reader", "--scope", "models:read")
    denied = model_api.predict(other)
    assert denied.status_code == 403
    assert "models:predict" in denied.json()["detail"]

    # list shows prefixes, never keys; the database holds only a hash
    listing = model_api.cli("list")
    assert f"trk_{prefix}" in listing.stdout and "ci" in listing.stdout
    assert key not in listing.stdout and key.split("_", 2)[2] not in listing.stdout
    engine = sa.create_engine(f"sqlite:///{model_api.database}")
    with engine.connect() as connection:
        rows = [
            dict(r._mapping) for r in connection.execute(sa.text("SELECT * FROM trellis_api_keys"))
        ]
    engine.dispose()
    stored = next(row for row in rows if row["prefix"] == prefix)
    assert all(key.split("_", 2)[2] not in str(value) for value in stored.values())
    assert len(stored["secret_hash"]) == 64

    # rotate: the new key works, the old one stops (once the server's short cache expires)
    rotated = model_api.cli("rotate", prefix)
    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.strip()
    assert new_key != key
    assert model_api.predict(new_key).status_code == 200
    assert _wait_for_status(lambda: model_api.predict(key), 401).status_code == 401

    # revoke: the rotated key stops too
    revoked = model_api.cli("revoke", new_key.split("_")[1])
    assert revoked.returncode == 0, revoked.stderr
    response = _wait_for_status(lambda: model_api.predict(new_key), 401)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    assert "revoked" in model_api.cli("list").stdout


def test_an_expired_key_is_refused(model_api: ModelAPI) -> None:
    key = model_api.create_key("--name", "brief", "--scope", "models:predict", "--expires", "3s")
    assert model_api.predict(key).status_code == 200

    response = _wait_for_status(lambda: model_api.predict(key), 401, within=10)

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert "expired" in model_api.cli("list").stdout


def test_cli_errors_are_clear(model_api: ModelAPI) -> None:
    bad_expiry = model_api.cli("create", "--name", "x", "--scope", "a", "--expires", "soon")
    unknown = model_api.cli("revoke", "zzzzzzzz")

    assert bad_expiry.returncode == 2 and "not a duration" in bad_expiry.stderr
    assert unknown.returncode == 1 and "No API key" in unknown.stderr


def test_batch_prediction(model_api: ModelAPI) -> None:
    key = model_api.create_key("--name", "batch", "--scope", "models:*")
    batch = {"flowers": [FLOWER, {**FLOWER, "petal_length": 1.4, "petal_width": 0.2}]}

    response = model_api.predict(key, "/predict/batch", batch)

    assert response.status_code == 200
    assert [p["species"] for p in response.json()["predictions"]] == ["virginica", "setosa"]
    empty = model_api.predict(key, "/predict/batch", {"flowers": []})
    assert empty.status_code == 422


def test_the_client_script_calls_the_api_with_a_key(model_api: ModelAPI) -> None:
    key = model_api.create_key("--name", "script", "--scope", "models:predict")

    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES_DIR / "modelapi" / "client.py"),
            "--url",
            model_api.server.base_url,
        ],
        env={**model_api.env, "MODEL_API_KEY": key},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "health: ok" in result.stdout
    assert "predict: virginica" in result.stdout
    assert "batch: setosa, versicolor, virginica" in result.stdout


def test_the_client_script_reports_a_bad_key(model_api: ModelAPI) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES_DIR / "modelapi" / "client.py"),
            "--url",
            model_api.server.base_url,
            "--key",
            "trk_nope",
        ],
        env=model_api.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert "/predict: 401" in result.stderr


def test_observations_are_a_resource_guarded_by_scopes(model_api: ModelAPI) -> None:
    reader = model_api.create_key("--name", "reader", "--scope", "observations:read")
    writer = model_api.create_key(
        "--name", "writer", "--scope", "observations:read", "--scope", "observations:write"
    )
    observation = {**FLOWER, "species": "virginica", "observer": "ada"}
    url = model_api.server.url("/observations")

    denied = httpx.post(url, json=observation, headers={"x-api-key": reader})
    created = httpx.post(url, json=observation, headers={"x-api-key": writer})

    assert denied.status_code == 403
    assert created.status_code == 201
    location = model_api.server.url(created.headers["location"])
    listed = httpx.get(url + "?observer=ada", headers={"x-api-key": reader}).json()
    assert [item["id"] for item in listed["items"]] == [created.json()["id"]]
    stale = created.headers["etag"]
    changed = httpx.patch(
        location, json={"species": "setosa"}, headers={"x-api-key": writer, "if-match": stale}
    )
    assert changed.status_code == 200
    again = httpx.patch(
        location, json={"species": "versicolor"}, headers={"x-api-key": writer, "if-match": stale}
    )
    assert again.status_code == 412


def test_schemathesis_finds_no_server_errors_or_schema_violations(
    model_api: ModelAPI, tmp_path: Path
) -> None:
    key = model_api.create_key(
        "--name", "fuzz",
        "--scope", "models:predict",
        "--scope", "observations:read",
        "--scope", "observations:write",
    )  # fmt: skip
    schemathesis = Path(sys.executable).with_name("schemathesis")
    # A well-formed If-Match that is not the item's current ETag is rightly a 412 (and the
    # If-None-Match of a GET a 304): conditional requests, not rejected data.
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[checks.positive_data_acceptance]\n"
        'expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx"]\n'
    )

    result = subprocess.run(
        [
            str(schemathesis), "--config-file", str(config),
            "run", model_api.server.url("/openapi.json"),
            "--header", f"X-API-Key: {key}",
            "--header", f"Authorization: Bearer {key}",
            "--max-examples", "40",
            "--checks", "all",
            "--no-color",
        ],
        env=model_api.env,
        cwd=tmp_path,  # schemathesis keeps a cache folder in the working directory
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout


def test_openapi_document_of_the_example_validates(model_api: ModelAPI) -> None:
    from openapi_spec_validator import validate

    document = model_api.server.get("/openapi.json").json()

    validate(document)
    assert set(document["paths"]) == {
        "/health",
        "/predict",
        "/predict/batch",
        "/observations",
        "/observations/{id}",
    }


# -- the docs page in a real browser --


@pytest.fixture
def docs(browser: Browser, model_api: ModelAPI) -> Iterator[Page]:
    context = browser.new_context(offline=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The app's default Content-Security-Policy applies to the docs page too: nothing inline.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(model_api.server.url("/docs"))
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    try:
        yield page
    finally:
        context.close()
    assert errors == []
    # Offline by construction: every request went to the app itself.
    assert all(url.startswith(model_api.server.base_url) for url in requests), requests


def test_docs_page_lists_every_endpoint(docs: Page, model_api: ModelAPI) -> None:
    assert "default-src 'self'" in model_api.server.get("/docs").headers["content-security-policy"]
    operations = docs.locator("details.operation")

    expect(operations).to_have_count(9)
    expect(docs.locator("#api-title")).to_have_text("Iris model API")
    expect(docs.locator("[data-operation=predict] .lock")).to_contain_text("models:predict")
    expect(docs.locator("section[data-tag=predictions] h2")).to_have_text("predictions")


def test_docs_try_it_sends_a_real_request(docs: Page) -> None:
    health = docs.locator("[data-operation=health]")
    health.locator("summary").click()
    health.locator("button.try-it").click()

    expect(health.locator(".result .response-status")).to_have_attribute("data-status", "200")
    body = json.loads(health.locator(".response-body").inner_text())
    assert body["status"] == "ok"


def test_docs_try_it_sends_the_api_key_and_body(docs: Page, model_api: ModelAPI) -> None:
    key = model_api.create_key("--name", "browser", "--scope", "models:predict")
    predict = docs.locator("[data-operation=predict]")
    predict.locator("summary").click()

    predict.locator("button.try-it").click()
    expect(predict.locator(".result .response-status")).to_have_attribute("data-status", "401")

    docs.locator("#api-key").fill(key)
    predict.locator("textarea.request-body").fill(json.dumps(FLOWER))
    predict.locator("button.try-it").click()

    expect(predict.locator(".result .response-status")).to_have_attribute("data-status", "200")
    assert json.loads(predict.locator(".response-body").inner_text())["species"] == "virginica"
