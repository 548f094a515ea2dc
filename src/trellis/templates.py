"""Jinja2 templates: `app.templates`, `Template(...)`/`render(...)` return values, and globals.

A handler returns `render("page.html", title="Hi")` (or `Template("page.html", {...})`); the app
renders it with the request at hand, so templates see `request`, `url_for`, `static`, the app's
`template_globals` and whatever its context processors add (CSRF token, current user, ...).

SECURITY: autoescaping is on for every template except a short list of plain-text suffixes
(.txt, .md, .csv, .eml): a new or oddly named file (`page.html.j2`, `widget.jinja`) is escaped.
There is no setting to turn it off; `|safe` and `Markup` remain the deliberate way out.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jinja2

from .errors import HTTPError
from .mediatypes import guess_media_type
from .responses import Response

if TYPE_CHECKING:
    from .app import App
    from .requests import Request

__all__ = ["Template", "Templates", "render"]

_TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")
_PLAIN_TEXT_SUFFIXES = (".txt", ".text", ".md", ".csv", ".eml")


class Template:
    """A template to render as the response: `return Template("page.html", {"user": user})`.

    The media type follows the template's extension (`.html` -> text/html, `.xml`, `.svg`,
    `.txt`, ...), unless `media_type` says otherwise.
    """

    __slots__ = ("context", "headers", "media_type", "name", "status")

    def __init__(
        self,
        name: str,
        context: Mapping[str, Any] | None = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        self.name = name
        self.context = dict(context) if context else {}
        self.status = status
        self.headers = headers
        self.media_type = media_type

    def __repr__(self) -> str:
        return f"<Template {self.name!r}>"


def render(name: str, /, **context: Any) -> Template:
    """`render("page.html", title="Hi")`: the template `name` with `context`, as a return value."""
    return Template(name, context)


def _strip_template_suffix(name: str) -> str:
    lowered = name.lower()
    for suffix in _TEMPLATE_SUFFIXES:
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _autoescape(name: str | None) -> bool:
    if name is None:  # templates made from strings
        return True
    return not _strip_template_suffix(name).lower().endswith(_PLAIN_TEXT_SUFFIXES)


class Templates:
    """The app's Jinja2 environment over its `templates/` folder and those of its blueprints.

    The folder is the TEMPLATES_DIR setting (default "templates"), relative to the directory of
    the module that created the app. Templates are cached; in debug they are reloaded when
    their file changes, and `static()` re-hashes files that changed.
    """

    def __init__(self, app: App) -> None:
        self.app = app
        self._env: jinja2.Environment | None = None
        self._lock = threading.Lock()
        self._hashes: dict[tuple[str, str], tuple[int, int, str]] = {}

    @property
    def directories(self) -> list[str]:
        """Where templates are looked up, in order: the app's folder, then blueprints' folders."""
        configured = str(self.app.settings.get("TEMPLATES_DIR", "templates"))
        app_dir = os.path.join(self.app.root_path, configured)
        return [app_dir, *self.app.template_folders]

    @property
    def env(self) -> jinja2.Environment:
        """The Jinja2 environment, built on first use (after routes and blueprints are added)."""
        env = self._env
        if env is None:
            with self._lock:
                if self._env is None:
                    self._env = self._build_env()
                env = self._env
        return env

    def _build_env(self) -> jinja2.Environment:
        debug = self.app.settings.debug
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.directories),
            # SECURITY: escaping on for all but plain-text suffixes; see the module docstring.
            autoescape=_autoescape,  # noqa: S701
            auto_reload=debug,
            cache_size=400,
        )
        env.globals["url_for"] = self.app.url_for
        env.globals["static"] = self.static
        return env

    def context(self, request: Request | None, context: Mapping[str, Any]) -> dict[str, Any]:
        """The names a template sees: app globals, `request`, context processors, then `context`."""
        names: dict[str, Any] = dict(self.app.template_globals)
        if request is not None:
            names["request"] = request
            names["url_for"] = request.url_for
            for processor in self.app.context_processors:
                names.update(processor(request))
        names.update(context)
        return names

    def render_string(
        self, name: str, context: Mapping[str, Any] | None = None, request: Request | None = None
    ) -> str:
        """Render the template `name` to a string."""
        try:
            template = self.env.get_template(name)
        except jinja2.TemplateNotFound as exc:
            # A missing template is the app's bug, not the client's: a 500 that names it.
            raise LookupError(
                f"Template {exc.name!r} not found in {', '.join(self.directories)}."
            ) from exc
        return template.render(self.context(request, context or {}))

    def from_string(self, source: str) -> jinja2.Template:
        """A template from source text (autoescaped), with the app's globals."""
        return self.env.from_string(source)

    def response(self, template: Template, request: Request | None) -> Response:
        """Render `template` into a Response whose type follows the template's extension."""
        body = self.render_string(template.name, template.context, request)
        media_type = template.media_type or guess_media_type(_strip_template_suffix(template.name))
        if media_type == "application/octet-stream":
            media_type = "text/html; charset=utf-8"
        return Response(body, template.status, template.headers, media_type)

    def static(self, path: str, name: str = "static") -> str:
        """The URL of a static file with `?v=<content hash>` for cache busting.

        `name` is the static route's name (`app.static(..., name=...)`). A file that does not
        exist gets its plain URL (in debug: an error, to catch typos).
        """
        url = self.app.url_for(name, path=path)
        files = self.app.static_files.get(name)
        if files is None:
            return url
        digest = self._content_hash(name, files, path)
        return f"{url}?v={digest}" if digest else url

    def _content_hash(self, name: str, files: Any, path: str) -> str | None:
        key = (name, path)
        cached = self._hashes.get(key)
        debug = self.app.settings.debug
        if cached is not None and not debug:
            return cached[2]
        try:
            filename = files.response(path).path
            info = os.stat(filename)
        except (HTTPError, OSError):
            if debug:
                raise LookupError(
                    f"static({path!r}): no such file under {files.directory!r}."
                ) from None
            return None
        if cached is not None and cached[:2] == (info.st_mtime_ns, info.st_size):
            return cached[2]
        digest = hashlib.sha256()
        with open(filename, "rb") as handle:
            for chunk in iter(lambda: handle.read(64 * 1024), b""):
                digest.update(chunk)
        value = digest.hexdigest()[:12]
        self._hashes[key] = (info.st_mtime_ns, info.st_size, value)
        return value
