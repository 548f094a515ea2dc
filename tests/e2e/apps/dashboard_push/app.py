"""A test app for browser pushes: one output refreshes on an event, one on a timer.

The same page is served twice: at /live with SSE pushes, at /live-ws over a WebSocket.
/publish is CSRF-exempt only because a test script calls it without a session.
"""

from __future__ import annotations

import itertools

from trellis import App, Request
from trellis.dashboard import Dashboard, Slider, publish
from trellis.security import csrf_exempt

page = Dashboard("Pushes", sidebar=[Slider("n", 0, 5)])
_counter = itertools.count(1)


@page.text(refresh_on="ping")
def pinged(n: int) -> str:
    return f"n={n} render={next(_counter)}"


@page.text(refresh_every=1)
def ticking() -> str:
    return f"tick {next(_counter)}"


@page.text()
def still(n: int) -> str:
    return f"still {n}"


app = App(settings={"SECRET_KEY": "dashboard-push-test-app-secret-0123456789"})
app.mount_dashboard("/live", page)
app.mount_dashboard("/live-ws", page, websocket=True)


@app.get("/login")
def login(request: Request) -> str:
    """Start a session: from now on the dashboard's POST needs the CSRF token."""
    request.session["user"] = "ada"
    return "signed in"


@app.post("/publish")
@csrf_exempt
def announce() -> dict[str, bool]:
    publish(app, "ping")
    return {"published": True}
