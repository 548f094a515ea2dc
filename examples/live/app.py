"""Live updates two ways: server-sent events (a clock) and a WebSocket (an echo room).

WebSockets need an ASGI server: `trellis run examples/live/app.py` or
`uvicorn --app-dir examples/live app:app`. Open http://127.0.0.1:8000/ to watch both.
The default Content-Security-Policy blocks inline scripts, so the page's script carries the
per-response nonce from `csp_nonce(request)`.
"""

import asyncio
from collections.abc import AsyncIterator

from trellis import App, Request, ServerSentEvent, WebSocket
from trellis.security import csp_nonce

app = App()

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Trellis live example</title>
  <link rel="icon" href="data:,">
</head>
<body>
  <h1>Live</h1>
  <h2>Server-sent events</h2>
  <ol id="events"></ol>
  <h2>WebSocket</h2>
  <p id="ws-status">connecting</p>
  <ol id="messages"></ol>
  <script nonce="{nonce}">
    function show(listId, text) {
      const item = document.createElement("li");
      item.textContent = text;  // text, never markup
      document.getElementById(listId).appendChild(item);
    }
    const source = new EventSource("/events");
    source.addEventListener("tick", (event) => {
      show("events", `tick ${event.lastEventId}: ${JSON.parse(event.data).n}`);
    });
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/7`);
    socket.addEventListener("open", () => {
      document.getElementById("ws-status").textContent = "open";
      socket.send(JSON.stringify({text: "hello from the browser"}));
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      show("messages", `room ${message.room}: ${message.text}`);
    });
    socket.addEventListener("close", () => {
      document.getElementById("ws-status").textContent = "closed";
    });
  </script>
</body>
</html>
"""


@app.get("/")
def page(request: Request) -> str:
    return PAGE.replace("{nonce}", csp_nonce(request))


@app.sse("/events", ping=5.0)
async def clock(last_event_id: str | None, interval: float = 0.2) -> AsyncIterator[object]:
    """A tick every `interval` seconds; a reconnecting client resumes after its last id."""
    n = int(last_event_id) + 1 if last_event_id and last_event_id.isdigit() else 1
    while True:
        yield ServerSentEvent(data={"n": n}, event="tick", id=str(n))
        n += 1
        await asyncio.sleep(max(interval, 0.01))


@app.websocket("/ws/{room:int}")
async def echo(ws: WebSocket, room: int) -> None:
    """Answer every JSON message `{"text": ...}` with the room number and the text."""
    await ws.accept()
    async for message in ws.iter_json():
        text = message.get("text") if isinstance(message, dict) else None
        if not isinstance(text, str):
            await ws.close(1003, 'Send JSON objects like {"text": "..."}.')
            return
        await ws.send_json({"room": room, "text": text})
