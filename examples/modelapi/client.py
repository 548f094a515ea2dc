"""Call the iris model API with an API key: health, one prediction, then a batch.

    python examples/modelapi/client.py --key trk_...            # or set MODEL_API_KEY
    python examples/modelapi/client.py --url http://127.0.0.1:8000 --key trk_...

Only the standard library is used, so any Python 3.11 can run it. The key goes in the
X-API-Key header (`Authorization: Bearer <key>` works too), never in the URL.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any


def call(base_url: str, path: str, key: str | None = None, body: Any = None) -> Any:
    """Send one request; return the decoded JSON, or exit with the server's problem detail."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if key:
        headers["X-API-Key"] = key
    request = urllib.request.Request(base_url.rstrip("/") + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        problem = json.loads(error.read() or b"{}")
        sys.exit(f"{path}: {error.code} {problem.get('detail', error.reason)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the API runs.")
    parser.add_argument("--key", default=os.environ.get("MODEL_API_KEY"), help="The API key.")
    args = parser.parse_args(argv)
    if not args.key:
        parser.error("pass --key or set MODEL_API_KEY (create one with `trellis apikeys create`)")

    health = call(args.url, "/health")
    print(f"health: {health['status']}, training accuracy {health['training_accuracy']}")

    flower = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
    one = call(args.url, "/predict", args.key, flower)
    print(f"predict: {one['species']} ({one['probabilities'][one['species']]:.0%})")

    batch = {
        "flowers": [
            {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
            {"sepal_length": 6.0, "sepal_width": 2.7, "petal_length": 4.5, "petal_width": 1.4},
            flower,
        ]
    }
    many = call(args.url, "/predict/batch", args.key, batch)
    print("batch:", ", ".join(p["species"] for p in many["predictions"]))


if __name__ == "__main__":
    main()
