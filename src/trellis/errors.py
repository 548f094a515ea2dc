"""Errors that answer with an HTTP status, and configuration errors raised at start-up."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class HTTPError(Exception):
    """Raise to answer with `status`; `detail` is shown to the client (JSON or HTML, as it prefers).

    `headers` are added to the error response (e.g. `Allow`, `WWW-Authenticate`, `Retry-After`).
    """

    def __init__(
        self,
        status: int,
        detail: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        self.status = status
        self.title = phrase
        self.detail = detail if detail is not None else phrase
        self.headers = headers or {}
        super().__init__(f"{status} {phrase}: {self.detail}")


class ValidationError(HTTPError):
    """A 422 listing what was wrong with each field: `errors` is a list of
    `{"loc": [...], "field": "name", "message": "...", "type": "..."}`."""

    def __init__(self, errors: list[dict[str, Any]], detail: str | None = None) -> None:
        self.errors = errors
        if detail is None:
            parts = [f"{e['field']}: {e['message']}" for e in errors]
            detail = "Invalid input. " + "; ".join(parts) if parts else "Invalid input."
        super().__init__(422, detail)


class ConfigurationError(RuntimeError):
    """The application is set up in a way that cannot work; the message says how to fix it."""


class RouteConflictError(ConfigurationError):
    """Two routes would answer the same method and path; the second would be silently shadowed."""
