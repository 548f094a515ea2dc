"""Specification of trellis.templates: rendering, escaping, globals, static hashes, reloading."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trellis import App, Request, Router, Template, render
from trellis.testing import TestClient

SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    templates = tmp_path / "templates"
    templates.mkdir()
    return templates


def write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def make_app(folder: Path, **settings: Any) -> App:
    return App(settings={"TEMPLATES_DIR": str(folder), **settings})


# -- rendering ----------------------------------------------------------------------------------


def test_render_returns_a_template_rendered_with_its_context(
    folder: Path, make_client: Callable[..., TestClient]
) -> None:
    write(folder, "hello.html", "<p>Hello, {{ name }}!</p>")
    app = make_app(folder)

    @app.get("/")
    def hello() -> Template:
        return render("hello.html", name="Ada")

    response = make_client(app).get("/")
    assert response.status_code == 200
    assert response.text == "<p>Hello, Ada!</p>"
    assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_template_object_carries_status_headers_and_works_from_async_handlers(
    folder: Path, make_client: Callable[..., TestClient]
) -> None:
    write(folder, "gone.html", "gone: {{ what }}")
    app = make_app(folder)

    @app.get("/")
    async def gone() -> Template:
        return Template("gone.html", {"what": "page"}, status=410, headers={"x-why": "old"})

    response = make_client(app).get("/")
    assert (response.status_code, response.text) == (410, "gone: page")
    assert response.headers["x-why"] == "old"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("feed.xml", "application/xml; charset=utf-8"),
        ("icon.svg", "image/svg+xml; charset=utf-8"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("page.html.j2", "text/html; charset=utf-8"),
        ("widget.jinja", "text/html; charset=utf-8"),
    ],
)
def test_media_type_follows_the_template_extension(
    folder: Path, make_client: Callable[..., TestClient], name: str, content_type: str
) -> None:
    write(folder, name, "x")
    app = make_app(folder)

    @app.get("/")
    def page() -> Template:
        return render(name)

    assert make_client(app).get("/").headers["content-type"] == content_type


# -- autoescaping -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a.html", "a.htm", "a.xml", "a.svg", "a.html.j2", "a.jinja", "a"])
def test_variables_are_escaped_in_markup_templates(folder: Path, name: str) -> None:
    write(folder, name, "<b title='{{ v }}'>{{ v }}</b>")
    app = make_app(folder)

    text = app.templates.render_string(name, {"v": SCRIPT + '"'})

    assert "<script>" not in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&#34;" in text


def test_plain_text_templates_are_not_escaped(folder: Path) -> None:
    write(folder, "mail.txt", "Hi {{ name }}")
    app = make_app(folder)

    assert app.templates.render_string("mail.txt", {"name": "<Ada>"}) == "Hi <Ada>"


def test_string_templates_are_escaped(folder: Path) -> None:
    app = make_app(folder)

    assert app.templates.from_string("{{ v }}").render(v="<i>") == "&lt;i&gt;"


def test_safe_filter_is_the_deliberate_way_out(folder: Path) -> None:
    write(folder, "a.html", "{{ v|safe }}")
    app = make_app(folder)

    assert app.templates.render_string("a.html", {"v": "<i>ok</i>"}) == "<i>ok</i>"


# -- globals, request and context processors ---------------------------------------------------


def test_templates_see_request_url_for_and_app_globals(
    folder: Path, make_client: Callable[..., TestClient]
) -> None:
    write(
        folder,
        "page.html",
        "{{ request.path }}|{{ request.query.q }}|{{ url_for('user', id=3) }}|{{ site }}",
    )
    app = make_app(folder)
    app.template_globals["site"] = "Trellis"

    @app.get("/users/{id:int}", name="user")
    def user(id: int) -> str:
        return ""

    @app.get("/page")
    def page() -> Template:
        return render("page.html")

    assert make_client(app).get("/page?q=<x>").text == "/page|&lt;x&gt;|/users/3|Trellis"


def test_context_processors_add_names_per_request_and_the_handler_wins(
    folder: Path, make_client: Callable[..., TestClient]
) -> None:
    write(folder, "page.html", "{{ csrf_token }}|{{ user }}")
    app = make_app(folder)

    @app.context_processor
    def security(request: Request) -> dict[str, Any]:
        return {"csrf_token": "tok-" + request.method, "user": "anonymous"}

    @app.get("/page")
    def page() -> Template:
        return render("page.html", user="ada")

    assert make_client(app).get("/page").text == "tok-GET|ada"


def test_globals_added_after_the_first_render_are_seen(folder: Path) -> None:
    write(folder, "a.html", "{{ late|default('none') }}")
    app = make_app(folder)
    assert app.templates.render_string("a.html") == "none"

    app.template_globals["late"] = "here"

    assert app.templates.render_string("a.html") == "here"


def test_blueprint_templates_are_found_after_the_apps_own(
    folder: Path, tmp_path: Path, make_client: Callable[..., TestClient]
) -> None:
    blueprint_folder = tmp_path / "bp_templates"
    write(blueprint_folder, "bp.html", "from blueprint")
    write(blueprint_folder, "shared.html", "blueprint's copy")
    write(folder, "shared.html", "app's copy")
    app = make_app(folder)
    blog = Router("/blog", name="blog", template_folder=str(blueprint_folder))

    @blog.get("/")
    def index() -> Template:
        return render("bp.html")

    @blog.get("/shared")
    def shared() -> Template:
        return render("shared.html")

    app.include(blog)
    client = make_client(app)
    assert client.get("/blog").text == "from blueprint"
    assert client.get("/blog/shared").text == "app's copy"


def test_templates_folder_is_relative_to_the_module_that_created_the_app() -> None:
    app = App(settings={})

    assert app.templates.directories[0] == os.path.join(os.path.dirname(__file__), "templates")


# -- static() with a content hash -------------------------------------------------------------


def test_static_adds_a_content_hash_that_changes_with_the_file(
    folder: Path, tmp_path: Path
) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "site.css").write_text("body{}")
    write(folder, "page.html", "{{ static('site.css') }}")
    app = make_app(folder, debug=True)
    app.static("/static", str(assets))

    first = app.templates.render_string("page.html")
    (assets / "site.css").write_text("body{color:red}")
    second = app.templates.render_string("page.html")

    assert first.startswith("/static/site.css?v=")
    assert second.startswith("/static/site.css?v=")
    assert first != second


def test_static_hash_is_computed_once_outside_debug(folder: Path, tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "app.js").write_text("1")
    app = make_app(folder)
    app.static("/static", str(assets))

    first = app.templates.static("app.js")
    (assets / "app.js").write_text("22")

    assert app.templates.static("app.js") == first


def test_static_for_a_missing_file_is_an_error_in_debug_and_a_plain_url_otherwise(
    folder: Path, tmp_path: Path
) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    quiet = make_app(folder)
    quiet.static("/static", str(assets))
    loud = make_app(folder, debug=True)
    loud.static("/static", str(assets))

    assert quiet.templates.static("nope.css") == "/static/nope.css"
    with pytest.raises(LookupError, match=r"nope\.css"):
        loud.templates.static("nope.css")


# -- caching, reloading and errors --------------------------------------------------------------


def _touch_later(path: Path, text: str) -> None:
    path.write_text(text)
    later = time.time() + 5
    os.utime(path, (later, later))


def test_templates_reload_on_change_in_debug(folder: Path) -> None:
    write(folder, "a.html", "one")
    app = make_app(folder, debug=True)
    assert app.templates.render_string("a.html") == "one"

    _touch_later(folder / "a.html", "two")

    assert app.templates.render_string("a.html") == "two"


def test_templates_are_cached_outside_debug(folder: Path) -> None:
    write(folder, "a.html", "one")
    app = make_app(folder)
    assert app.templates.render_string("a.html") == "one"

    _touch_later(folder / "a.html", "two")

    assert app.templates.render_string("a.html") == "one"


def test_template_syntax_error_in_debug_shows_file_and_line(
    folder: Path, make_client: Callable[..., TestClient]
) -> None:
    write(folder, "broken.html", "line one\nline two\n{% if %}\n")
    app = make_app(folder, debug=True)

    @app.get("/")
    def page() -> Template:
        return render("broken.html")

    response = make_client(app, raise_server_exceptions=False).get(
        "/", headers={"accept": "text/html"}
    )

    assert response.status_code == 500
    assert "broken.html" in response.text
    assert "line 3" in response.text


def test_template_errors_outside_debug_leak_nothing(
    folder: Path, make_client: Callable[..., TestClient]
) -> None:
    write(folder, "broken.html", "{{ 1 / 0 }}")
    app = make_app(folder)

    @app.get("/")
    def page() -> Template:
        return render("broken.html")

    response = make_client(app, raise_server_exceptions=False).get("/")

    assert response.status_code == 500
    assert "broken.html" not in response.text
    assert "ZeroDivision" not in response.text


def test_a_missing_template_is_a_500_naming_it_in_debug(
    folder: Path, make_client: Callable[..., TestClient]
) -> None:
    app = make_app(folder, debug=True)

    @app.get("/")
    def page() -> Template:
        return render("nowhere.html")

    response = make_client(app, raise_server_exceptions=False).get("/")

    assert response.status_code == 500
    assert "nowhere.html" in response.json()["detail"]
