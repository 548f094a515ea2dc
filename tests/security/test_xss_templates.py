"""XSS through templates: hostile input in text, attributes, JavaScript strings, URLs, form
re-rendering, flash messages and the current user's name comes out inert.

Pages are real templates (`render("page.html", ...)` from the app's templates folder), which see
the names the security layer adds: csrf_field, csrf_token, current_user, get_flashed_messages,
csp_nonce and safe_url.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from trellis import App, Request, Template, render
from trellis.auth import LoginManager, UserMixin, login
from trellis.forms import Form
from trellis.sessions import flash
from trellis.testing import TestClient

from .support import SECRET_KEY

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</script><script>alert(1)</script>",
    "';alert(1);//",
    '";alert(1);//',
    "<!--<script>",
    "\u2028alert(1)",
    "&lt;script&gt;",
]
JS_URLS = [
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "java\tscript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
]

PAGE = """<!DOCTYPE html><html><head><title>{{ value }}</title></head><body>
<p id="text">{{ value }}</p>
<input id="attr" value="{{ value }}" title='{{ value }}'>
<a id="link" href="{{ safe_url(url) }}">link</a>
<script nonce="{{ csp_nonce() }}">const fromServer = {{ value|tojson }};</script>
<form method="post">{{ csrf_field() }}<input name="name" value="{{ form.value('name') }}">
<span class="error">{{ form.error('age') }}</span></form>
<ul>{% for category, message in get_flashed_messages(with_categories=True) %}
<li class="{{ category }}">{{ message }}</li>{% endfor %}</ul>
<p id="user">{{ current_user.name if current_user else "anonymous" }}</p>
</body></html>"""
EXPECTED_TAGS = ["html", "head", "title", "body", "p", "input", "a", "script", "form", "span", "ul"]


class Elements(HTMLParser):
    """The elements and attributes a browser would build from the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def by_id(page: Elements, element_id: str) -> dict[str, str | None]:
    return next(attrs for _, attrs in page.tags if attrs.get("id") == element_id)


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser


def assert_inert(html: str) -> Elements:
    page = parse(html)
    tags = [tag for tag, _ in page.tags]
    assert tags.count("script") == 1, "an injected <script> element"
    assert not {"img", "svg", "iframe"} & set(tags)
    for tag, attrs in page.tags:
        assert not [name for name in attrs if name.startswith("on")], f"event handler on <{tag}>"
    assert sorted(set(tags)) == sorted(set(EXPECTED_TAGS) | {"li"} & set(tags))
    return page


class Name(Form):
    name: str = ""
    age: int


class User(UserMixin):
    def __init__(self, name: str) -> None:
        self.id = 1
        self.name = name


@pytest.fixture
def user_name() -> list[str]:
    return ["alice"]


@pytest.fixture
def app(user_name: list[str], tmp_path: Path) -> App:
    (tmp_path / "page.html").write_text(PAGE)
    (tmp_path / "plain.html").write_text("<p>{{ 1 + 1 }}</p>")
    app = App(
        settings={"SECRET_KEY": SECRET_KEY, "CSRF_ENABLED": False, "TEMPLATES_DIR": str(tmp_path)}
    )
    LoginManager(app, load_user=lambda _: User(user_name[0]))

    @app.get("/page")
    def page(value: str = "", url: str = "") -> Template:
        return render("page.html", value=value, url=url, form=Name.blank())

    @app.post("/form")
    def form(request: Request) -> Template:
        return render("page.html", value="", url="", form=Name.bind(request))

    @app.get("/plain")
    def plain() -> Template:
        return render("plain.html")

    @app.post("/flash")
    def add_flash(request: Request, message: str, category: str = "info") -> None:
        flash(request, message, category)

    @app.post("/login")
    def do_login(request: Request) -> None:
        login(request, User(user_name[0]))

    return app


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_value_in_text_and_attributes_is_escaped(client: TestClient, payload: str) -> None:
    response = client.get("/page", params={"value": payload})

    page = assert_inert(response.text)
    attrs = by_id(page, "attr")
    assert attrs["value"] == payload  # the browser sees exactly the text, as text
    assert attrs["title"] == payload


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_value_in_a_javascript_string_cannot_break_out(client: TestClient, payload: str) -> None:
    response = client.get("/page", params={"value": payload})

    (script,) = assert_inert(response.text).scripts
    match = re.fullmatch(r"const fromServer = (.*);", script.strip())
    assert match is not None, script
    assert json.loads(match.group(1)) == payload
    assert "<" not in match.group(1) and "'" not in match.group(1)


@pytest.mark.parametrize("url", JS_URLS)
def test_a_javascript_url_never_becomes_a_link(client: TestClient, url: str) -> None:
    response = client.get("/page", params={"url": url})

    page = assert_inert(response.text)
    assert by_id(page, "link")["href"] == "#"


def test_an_ordinary_url_stays_a_link(client: TestClient) -> None:
    response = client.get("/page", params={"url": "https://example.com/a?b=c&d=e"})

    assert by_id(parse(response.text), "link")["href"] == "https://example.com/a?b=c&d=e"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_re_rendered_form_shows_the_hostile_value_as_text(
    client: TestClient, payload: str
) -> None:
    response = client.post("/form", data={"name": payload, "age": payload})

    page = assert_inert(response.text)
    inputs = [attrs for tag, attrs in page.tags if tag == "input"]
    assert {"name": "name", "value": payload} in inputs
    assert "valid integer" in response.text  # the age error is shown next to the field


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_flash_message_is_escaped(client: TestClient, payload: str) -> None:
    client.post("/flash", params={"message": payload, "category": '"><b>x'})

    response = client.get("/page")

    page = assert_inert(response.text)
    items = [attrs for tag, attrs in page.tags if tag == "li"]
    assert items == [{"class": '"><b>x'}]
    assert "<b>" not in response.text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_current_users_name_is_escaped(
    client: TestClient, user_name: list[str], payload: str
) -> None:
    user_name[0] = payload
    client.post("/login")

    response = client.get("/page")

    assert_inert(response.text)
    assert "anonymous" not in response.text


def test_the_csrf_field_is_a_hidden_input_with_the_token(client: TestClient) -> None:
    response = client.get("/page")

    inputs = [attrs for tag, attrs in parse(response.text).tags if tag == "input"]
    hidden = [attrs for attrs in inputs if attrs.get("type") == "hidden"]
    assert len(hidden) == 1
    assert hidden[0]["name"] == "csrf_token"
    assert re.fullmatch(r"[A-Za-z0-9_=-]{40,}", hidden[0]["value"] or "")


def test_the_inline_script_carries_the_nonce_of_the_csp(client: TestClient) -> None:
    response = client.get("/page")

    nonce = next(attrs["nonce"] for tag, attrs in parse(response.text).tags if tag == "script")
    assert f"'nonce-{nonce}'" in response.headers["content-security-policy"]


def test_rendering_a_page_without_csrf_or_user_touches_no_session(client: TestClient) -> None:
    response = client.get("/plain")

    assert response.text == "<p>2</p>"
    assert "set-cookie" not in response.headers
