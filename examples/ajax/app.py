"""AJAX in one file: a page whose button fetches JSON and writes it into the page.

Serve it with `trellis run examples/ajax/app.py`, open http://127.0.0.1:8000/ and click the button.
The page is plain HTML and JavaScript; `/ajax-request` returns a dict, which Trellis sends as JSON.
The default Content-Security-Policy blocks inline scripts, so the page's script carries the
per-response nonce from `csp_nonce(request)`.
"""

from trellis import App, Request
from trellis.security import csp_nonce

app = App()

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Trellis AJAX example</title>
  <link rel="icon" href="data:,">
</head>
<body>
  <h1>Hello world</h1>
  <div id="ajaxplaceholder">Ajax response placeholder</div>
  <button id="ajaxbutton" type="button">Click Me!</button>
  <script nonce="{nonce}">
    async function ajaxRequest() {
      const placeholder = document.getElementById("ajaxplaceholder");
      try {
        const response = await fetch("/ajax-request", {headers: {Accept: "application/json"}});
        if (!response.ok) {
          throw new Error(`the server answered ${response.status}`);
        }
        const data = await response.json();
        // textContent, not innerHTML: the response is shown as text, never parsed as markup.
        placeholder.textContent = data.response;
      } catch (error) {
        placeholder.textContent = `Request failed: ${error.message}`;
      }
    }
    document.getElementById("ajaxbutton").addEventListener("click", ajaxRequest);
  </script>
</body>
</html>
"""


@app.get("/")
def homepage(request: Request) -> str:
    return PAGE.replace("{nonce}", csp_nonce(request))


@app.get("/ajax-request")
def ajax_request() -> dict[str, str]:
    return {"response": "Hello AJAX!"}
