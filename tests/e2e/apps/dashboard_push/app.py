"""A test app for browser pushes: one output refreshes on an event, one on a timer.

The same page is served twice: at /live with SSE pushes, at /live-ws over a WebSocket.
"""

from __future__ import annotations

import itertools

from trellis import App
from trellis.dashboard import Dashboard, Slider, publish

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


app = App()
app.mount_dashboard("/live", page)
app.mount_dashboard("/live-ws", page, websocket=True)


@app.post("/publish")
def announce() -> dict[str, bool]:
    publish(app, "ping")
    return {"published": True}
