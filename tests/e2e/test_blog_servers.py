"""The blog example for real: migrated by `trellis db upgrade` run as a command, then served by
uvicorn, gunicorn and `trellis run` on 127.0.0.1 with its database in a temporary folder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from .servers import (
    EXAMPLES_DIR,
    HOST,
    REPO_ROOT,
    SERVERS,
    RunningServer,
    free_port,
    server_command,
    server_environment,
)

pytestmark = pytest.mark.e2e
BLOG = EXAMPLES_DIR / "blog"


@pytest.fixture(scope="module")
def blog_environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment the blog is served with: its DATABASE_URL, migrated to the latest."""
    folder = tmp_path_factory.mktemp("blog-db")
    env = server_environment()
    env["TRELLIS_DATABASE_URL"] = f"sqlite:///{folder / 'blog.db'}"
    command = [sys.executable, "-m", "trellis.cli", "db", "--app", str(BLOG / "app.py"), "upgrade"]
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return env


@pytest.fixture(params=SERVERS)
def blog_server(
    request: pytest.FixtureRequest, blog_environment: dict[str, str], tmp_path: Path
) -> Iterator[RunningServer]:
    server: str = request.param
    port = free_port()
    log_path = tmp_path / f"{server}-blog.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            server_command(server, BLOG, port),
            cwd=REPO_ROOT,
            env=blog_environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = RunningServer(server, "blog", f"http://{HOST}:{port}", process, log_path)
    try:
        running.wait_until_answering()
        yield running
    finally:
        running.stop()


def test_blog_creates_and_lists_posts_under_a_real_server(blog_server: RunningServer) -> None:
    name = blog_server.server
    with httpx.Client(base_url=blog_server.base_url, timeout=10) as client:
        user = client.post("/users", json={"email": f"{name}@example.com", "name": name})
        assert user.status_code == 201, blog_server.output()
        post = client.post(
            "/posts",
            data={"title": f"Served by {name}", "author_id": str(user.json()["id"]), "tags": "e2e"},
        )
        assert post.status_code == 201, post.text
        shown = client.get(f"/posts/{post.json()['id']}").json()
        assert shown["tags"] == ["e2e"]
        assert shown["author"]["name"] == name
        again = client.post("/users", json={"email": f"{name}@example.com", "name": name})
        assert again.status_code == 409
        assert again.json()["constraint"] == "uq_users_email"


@pytest.mark.parametrize("blog_server", ["uvicorn"], indirect=True)
def test_a_browser_writes_a_post_with_the_form_and_finds_it_on_the_index(
    blog_server: RunningServer,
    page: Page,
) -> None:
    httpx.post(
        blog_server.url("/users"), json={"email": "writer@example.com", "name": "Writer"}
    ).raise_for_status()
    page.goto(blog_server.url("/write"))
    page.select_option("select[name=author_id]", label="Writer")
    page.fill("input[name=title]", "Written in <Chromium>")
    page.fill("textarea[name=body]", "Hello from a real browser.")
    page.fill("input[name=tags]", "browser, e2e")
    page.check("input[name=published]")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Written in <Chromium>")
    expect(page.locator("#body")).to_have_text("Hello from a real browser.")
    page.click("text=Front page")
    expect(page.locator("article h2 a")).to_contain_text(["Written in <Chromium>"])
    page.click("text=All posts")
    expect(page.locator("#archive")).to_contain_text("Written in <Chromium>")
    page.go_back()
    page.click("a.tag >> text=e2e")
    expect(page).to_have_url(blog_server.url("/?tag=e2e"))
    expect(page.locator("h1")).to_have_text("Posts tagged e2e")
