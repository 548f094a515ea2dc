"""The HTTP side of a dashboard: the routes `app.mount_dashboard(prefix, page)` adds.

    GET  {prefix}                  the page (query parameters set initial inputs)
    POST {prefix}/update           an update envelope -> the outputs patch (wire.py)
    GET  {prefix}/outputs/{name}   one output as an HTML fragment, or JSON by Accept
    GET  {prefix}/spec             inputs, outputs and which input affects which output
    GET  {prefix}/events           server pushes (Server-Sent Events)
    WS   {prefix}/ws               updates and pushes over a WebSocket (`websocket=True`, ASGI)
    GET  {prefix}/_runtime/{file}  the JavaScript runtime and stylesheet Trellis ships

No route keeps state between requests: every answer depends only on the request, so any process
can answer any browser.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from importlib import resources
from typing import TYPE_CHECKING, Any

import jinja2
import orjson
from markupsafe import Markup

from ..errors import HTTPError, ValidationError
from ..negotiation import best_match
from ..requests import Request, check_json_depth
from ..responses import HTMLResponse, JSONResponse, Response
from ..routing import WEBSOCKET_METHOD
from ..security.csrf import HEADER as CSRF_HEADER
from ..security.csrf import get_csrf_token
from ..sse import EventSourceResponse, ServerSentEvent
from ..websocket import CLOSE_POLICY_VIOLATION, WebSocket, WebSocketDisconnect
from .events import Subscription, broker_for
from .outputs import Rendered, script_json
from .reactive import OutputFailure, evaluate
from .wire import answer, inputs_from_query, parse_update, render_outputs

if TYPE_CHECKING:
    from ..app import App
    from .page import Dashboard

# SECURITY: the POST needs this header. A cross-site form cannot set it and a cross-site fetch
# that sets it needs a CORS preflight nobody answers, so a third-party page cannot drive updates.
# The app's CSRF check applies too: with a session cookie, the POST must carry the CSRF token.
UPDATE_HEADER = "x-trellis-dashboard"
DEFAULT_MAX_PAYLOAD = 1024 * 1024
SSE_PING_SECONDS = 15.0

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("trellis.dashboard", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _runtime_file(name: str) -> bytes:
    return resources.files("trellis.dashboard").joinpath("static", name).read_bytes()


def output_html(item: Rendered | OutputFailure) -> Markup:
    """An output's fragment: its HTML, or its error (with the traceback only in debug)."""
    if isinstance(item, Rendered):
        return item.html
    html = Markup('<div class="tr-error" role="alert">{}</div>').format(item.message)
    if item.traceback:
        html += Markup('<pre class="tr-traceback">{}</pre>').format(item.traceback)
    return html


class MountedDashboard:
    """A dashboard served at `prefix`; built once at mount time."""

    def __init__(
        self,
        app: App,
        prefix: str,
        page: Dashboard,
        *,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        websocket: bool = False,
    ) -> None:
        if not prefix.startswith("/") or prefix.endswith("/") or "{" in prefix:
            raise ValueError(
                f"Mount a dashboard at a fixed path like '/sales', not {prefix!r} "
                "(leading slash, no trailing slash, no parameters)."
            )
        self.app = app
        self.prefix = prefix
        self.page = page
        self.max_payload = max_payload
        page.graph  # noqa: B018 - build and check the graph now, at import time
        self.spec = page.spec()
        self.assets = {name: _runtime_file(name) for name in ("dashboard.js", "dashboard.css")}
        digest = hashlib.sha256(b"".join(self.assets.values())).hexdigest()[:12]
        self.asset_version = digest
        name = prefix.strip("/").replace("/", ".")
        app.add_route(prefix, self.show_page, ("GET",), name=f"dashboard.{name}")
        app.add_route(prefix + "/update", self.update, ("POST",), name=f"dashboard.{name}.update")
        app.add_route(
            prefix + "/outputs/{output}", self.output, ("GET",), name=f"dashboard.{name}.output"
        )
        app.add_route(prefix + "/spec", self.show_spec, ("GET",), name=f"dashboard.{name}.spec")
        app.add_route(prefix + "/events", self.events, ("GET",), name=f"dashboard.{name}.events")
        app.add_route(
            prefix + "/_runtime/{file}", self.runtime, ("GET",), name=f"dashboard.{name}.runtime"
        )
        # Opt-in: an app with websocket routes can no longer be served over WSGI.
        self.websocket = websocket
        if websocket:
            app.add_route(
                prefix + "/ws", self.socket, (WEBSOCKET_METHOD,), name=f"dashboard.{name}.ws"
            )
        self._event_outputs: dict[str, list[str]] = {}
        for output, spec in page.output_specs.items():
            for event in spec.refresh_on:
                self._event_outputs.setdefault(event, []).append(output)

    @property
    def debug(self) -> bool:
        return bool(self.app.settings.debug)

    # -- routes --

    def show_page(self, request: Request) -> Response:
        page = self.page
        inputs = inputs_from_query(page, request.query)
        evaluation = evaluate(page.graph, inputs, None, debug=self.debug)
        rendered = render_outputs(page, evaluation, self.debug)
        outputs = {name: output_html(item) for name, item in rendered.items()}
        values = {name: field.to_json(inputs[name]) for name, field in page.inputs.items()}
        config = {
            **self.spec,
            "inputs_state": values,
            "endpoints": {
                "update": self.prefix + "/update",
                "events": self.prefix + "/events" if self._event_outputs else None,
                "websocket": self.prefix + "/ws" if self.websocket else None,
            },
            "header": UPDATE_HEADER,
            **self._csrf(request),
        }
        runtime = f"{self.prefix}/_runtime/"
        context = self.app.templates.context(request, {})
        html = _templates.get_template("page.html").render(
            context,
            page=page,
            sidebar=page.render_children(page.sidebar, values, outputs),
            body=page.render_children(page.body, values, outputs),
            config=script_json(config),
            script=f"{runtime}dashboard.js?v={self.asset_version}",
            stylesheet=f"{runtime}dashboard.css?v={self.asset_version}",
            extra_scripts=page.scripts,
        )
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    def update(self, request: Request) -> Response:
        self._check_post(request)
        update = parse_update(self.page, request.json())
        return JSONResponse(answer(self.page, update, self.debug), headers=_NO_STORE)

    def _check_post(self, request: Request) -> None:
        content_type = request.content_type
        if content_type != "application/json":
            raise HTTPError(415, "Send the update as application/json.")
        if request.headers.get(UPDATE_HEADER) != "1":
            raise HTTPError(
                403,
                f"Dashboard updates need the header '{UPDATE_HEADER}: 1' (the Trellis runtime "
                "and DashboardClient send it).",
            )
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != request.host:
            raise HTTPError(403, "Cross-origin dashboard updates are refused.")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_payload:
            raise HTTPError(413, f"The update is larger than {self.max_payload} bytes.")
        if len(request.body()) > self.max_payload:
            raise HTTPError(413, f"The update is larger than {self.max_payload} bytes.")

    def output(self, request: Request, output: str) -> Response:
        if output not in self.page.output_specs:
            raise HTTPError(404, f"Dashboard {self.prefix!r} has no output {output!r}.")
        inputs = inputs_from_query(self.page, request.query)
        evaluation = evaluate(self.page.graph, inputs, [], outputs=[output], debug=self.debug)
        item = render_outputs(self.page, evaluation, self.debug)[output]
        headers = dict(_NO_STORE)
        if isinstance(item, OutputFailure):
            headers["x-trellis-output-error"] = "1"
        accept = request.headers.get("accept")
        if best_match(accept, ("text/html", "application/json")) == "application/json":
            body: dict[str, Any] = {"name": output, "kind": self.page.output_specs[output].kind}
            if isinstance(item, Rendered):
                body.update(html=str(item.html), data=item.data)
            else:
                body["error"] = item.message
            return JSONResponse(body, headers=headers)
        return HTMLResponse(str(output_html(item)), headers=headers)

    async def socket(self, ws: WebSocket) -> None:
        """Updates and pushes over one WebSocket: the same envelopes as the POST, in order."""
        origin = ws.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != ws.request.host:
            # SECURITY: refuse cross-site WebSocket hijacking (browsers always send Origin).
            await ws.close(
                CLOSE_POLICY_VIOLATION, "Cross-origin dashboard connections are refused."
            )
            return
        await ws.accept()
        pusher = None
        if self._event_outputs:
            pusher = asyncio.create_task(self._push(ws, broker_for(self.app).subscribe()))
        loop = asyncio.get_running_loop()
        try:
            while True:
                message = await ws.receive()
                payload = message.get("text")
                raw = payload.encode() if payload is not None else message.get("bytes") or b""
                seq: Any = None
                try:
                    if len(raw) > self.max_payload:
                        raise HTTPError(413, f"The update is larger than {self.max_payload} bytes.")
                    body = _parse_json(raw, self.app.settings.max_json_depth)
                    seq = body.get("seq") if isinstance(body, dict) else None
                    update = parse_update(self.page, body)
                    reply = await loop.run_in_executor(
                        self.app.executor, answer, self.page, update, self.debug
                    )
                except HTTPError as exc:
                    await ws.send_json({"seq": seq, "error": _error_body(exc)})
                    continue
                await ws.send_json(reply)
        except WebSocketDisconnect:
            pass
        finally:
            if pusher is not None:
                pusher.cancel()
                await asyncio.gather(pusher, return_exceptions=True)

    async def _push(self, ws: WebSocket, subscription: Subscription) -> None:
        try:
            async for event in subscription:
                outputs = self._event_outputs.get(event)
                if outputs:
                    await ws.send_json({"refresh": outputs})
        finally:
            subscription.close()

    def show_spec(self, request: Request) -> Response:
        body = {**self.spec, "defaults": self.page.defaults(), **self._csrf(request)}
        return JSONResponse(body, headers=_NO_STORE)

    def _csrf(self, request: Request) -> dict[str, str]:
        """The CSRF token the update POST needs, when the request carries a session cookie.

        Without the cookie the POST is not cookie-authenticated and the app's CSRF check lets a
        JSON body through; with it, the check wants the session's token in X-CSRF-Token.
        """
        settings = self.app.settings
        if not settings.csrf_enabled or settings.session_cookie not in request.cookies:
            return {}
        return {"csrf_token": get_csrf_token(request), "csrf_header": CSRF_HEADER}

    def runtime(self, file: str) -> Response:
        asset = self.assets.get(file)
        if asset is None:
            raise HTTPError(404, f"No dashboard runtime file {file!r}.")
        media = "text/javascript" if file.endswith(".js") else "text/css"
        return Response(
            asset,
            headers={"cache-control": "public, max-age=31536000, immutable"},
            media_type=media + "; charset=utf-8",
        )

    def events(self) -> Response:
        return EventSourceResponse(self._event_stream(), ping=SSE_PING_SECONDS)

    async def _event_stream(self) -> AsyncIterator[ServerSentEvent]:
        subscription = broker_for(self.app).subscribe()
        try:
            # Sent once listening, so a publish after the client saw it is never missed.
            yield ServerSentEvent(data={}, event="ready", retry=2000)
            async for event in subscription:
                outputs = self._event_outputs.get(event)
                if outputs:
                    yield ServerSentEvent(data={"outputs": outputs}, event="refresh")
        finally:
            subscription.close()


_NO_STORE = {"cache-control": "no-store"}


def _parse_json(raw: bytes, max_depth: int) -> Any:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HTTPError(400, f"The message is not valid JSON: {exc}.") from None
    check_json_depth(value, max_depth)
    return value


def _error_body(exc: HTTPError) -> dict[str, Any]:
    body: dict[str, Any] = {"status": exc.status, "detail": exc.detail}
    if isinstance(exc, ValidationError):
        body["errors"] = exc.errors
    return body


def mount_dashboard(app: App, prefix: str, page: Dashboard, **options: Any) -> MountedDashboard:
    """Serve `page` at `prefix` on `app` (see the module docstring for the routes)."""
    return MountedDashboard(app, prefix, page, **options)
