"""Hello, World: the smallest Trellis app.

Serve it with `trellis run examples/hello/app.py` and open http://127.0.0.1:8000/.
In production, any WSGI or ASGI server works:
    gunicorn --chdir examples/hello app:app
    uvicorn --app-dir examples/hello app:app
"""

from trellis import App

app = App()


@app.get("/")
def hello() -> str:
    return "<p>Hello, World!</p>"
