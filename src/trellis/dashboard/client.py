"""`DashboardClient`: drive a dashboard the way the browser runtime does, without a browser.

    client = DashboardClient(app, "/sales")
    client.set(region="North")
    assert client.ran == {"filtered", "trend"}
    assert "North" in client.outputs["title"]

It speaks the same envelope over HTTP (in-process for an `App`, or any `httpx.Client` pointed
at a real server), holds the inputs like the browser does, and sends them all on every update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Self

from .mount import UPDATE_HEADER

if TYPE_CHECKING:
    import httpx


class DashboardUpdateError(Exception):
    """The server refused an update (a 4xx/5xx); `status` and `body` say why."""

    def __init__(self, status: int, body: Any) -> None:
        detail = body.get("detail") if isinstance(body, dict) else body
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.body = body


class DashboardClient:
    """A browserless session of the dashboard at `prefix`.

    `target` is an `App` (served in-process through `trellis.testing.TestClient`; `protocol`
    picks "wsgi" or "asgi") or an `httpx.Client` whose base URL is a running server.
    """

    def __init__(
        self, target: Any, prefix: str, *, protocol: Literal["wsgi", "asgi"] = "asgi"
    ) -> None:
        self.prefix = prefix.rstrip("/")
        # httpx is a test-time dependency: imported here, so `trellis.dashboard` loads without it.
        import httpx

        self._owns_http = not isinstance(target, httpx.Client)
        if isinstance(target, httpx.Client):
            self.http: httpx.Client = target
        else:
            from ..testing import TestClient

            client = TestClient(target, protocol=protocol)
            client.__enter__()
            self.http = client
        self.seq = 0
        spec = self._check(self.http.get(self.prefix + "/spec"))
        self.spec: dict[str, Any] = spec
        self.inputs: dict[str, Any] = dict(spec["defaults"])
        self._headers = {UPDATE_HEADER: "1"}
        if "csrf_token" in spec:  # the client holds a session cookie: send the CSRF token
            self._headers[spec["csrf_header"]] = spec["csrf_token"]
        self.outputs: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.ran: set[str] = set()
        self.updated: set[str] = set()
        self.update(None)

    def _check(self, response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            raise DashboardUpdateError(response.status_code, body)
        return body

    def update(
        self, changed: list[str] | None, refresh: list[str] | tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """Send every input with the names in `changed` (None: recompute everything)."""
        self.seq += 1
        envelope = {
            "seq": self.seq,
            "inputs": self.inputs,
            "changed": changed,
            "refresh": list(refresh),
        }
        response = self.http.post(self.prefix + "/update", json=envelope, headers=self._headers)
        reply: dict[str, Any] = self._check(response)
        if reply.get("seq") != self.seq:
            raise DashboardUpdateError(response.status_code, "reply sequence number mismatch")
        self.ran = set(reply["ran"])
        self.updated = set(reply["outputs"])
        for name, item in reply["outputs"].items():
            if "error" in item:
                self.errors[name] = item["error"]
                self.outputs.pop(name, None)
            else:
                self.outputs[name] = item["html"]
                self.errors.pop(name, None)
        return reply

    def set(self, **values: Any) -> dict[str, Any]:
        """Change inputs (JSON values, as the browser sends them) and apply the reply.

        On a refused update the held inputs are left as they were and DashboardUpdateError
        is raised.
        """
        previous = dict(self.inputs)
        self.inputs.update(values)
        try:
            return self.update(list(values))
        except DashboardUpdateError:
            self.inputs = previous
            raise

    def refresh(self, *outputs: str) -> dict[str, Any]:
        """Re-render `outputs` with the current inputs (what a push does)."""
        return self.update([], outputs)

    def output(self, name: str) -> Any:
        """One output on its own, as JSON (`GET .../outputs/<name>` with the current inputs)."""
        params: list[tuple[str, str | int | float | bool | None]] = []
        for key, value in self.inputs.items():
            if isinstance(value, list):
                params.extend((key, _text(v)) for v in value)
            elif value is not None:
                params.append((key, _text(value)))
        response = self.http.get(
            f"{self.prefix}/outputs/{name}", params=params, headers={"accept": "application/json"}
        )
        return self._check(response)

    def close(self) -> None:
        if self._owns_http:
            client: Any = self.http
            client.__exit__(None, None, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
