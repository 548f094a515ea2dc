"""No sticky sessions: two uvicorn processes answer alternating updates of one browser session.

The session's state is only the inputs the client holds, so a round-robin balancer that sends
every request to the other process must give exactly the answers one process would.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterator
from types import ModuleType

import httpx
import pytest

from trellis.dashboard import DashboardClient

from .servers import EXAMPLES_DIR, RunningServer, start_server

pytestmark = pytest.mark.e2e


class RoundRobin(httpx.BaseTransport):
    """A load balancer without affinity: each request goes to the next server in turn."""

    def __init__(self, servers: list[RunningServer]) -> None:
        self.servers = servers
        self.turn = 0
        self.served_by: list[int] = []
        self.transport = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        server = self.servers[self.turn % len(self.servers)]
        self.turn += 1
        self.served_by.append(server.process.pid)
        target = httpx.URL(server.base_url)
        request.url = request.url.copy_with(host=target.host, port=target.port)
        request.headers["host"] = f"{target.host}:{target.port}"
        return self.transport.handle_request(request)

    def close(self) -> None:
        self.transport.close()


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RunningServer]]:
    log_dir = tmp_path_factory.mktemp("dashboard-servers")
    servers: list[RunningServer] = []
    try:
        for _ in range(2):
            servers.append(start_server("uvicorn", "dashboard", log_dir))
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "dashboard_example", EXAMPLES_DIR / "dashboard" / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


UPDATES = [
    {"months": 6},
    {"region": "South"},
    {"products": ["Widget", "Gizmo"]},
    {"cumulative": True},
    {"months": 24, "region": "East"},
    {"products": []},
    {"products": ["Doohickey"]},
]


def test_alternating_updates_on_two_processes_match_one_process(
    two_servers: list[RunningServer], example: ModuleType
) -> None:
    balancer = RoundRobin(two_servers)
    base = two_servers[0].base_url
    with (
        httpx.Client(transport=balancer, base_url=base, timeout=10) as http,
        DashboardClient(http, "/sales") as remote,
        DashboardClient(example.app, "/sales") as local,
    ):
        for change in UPDATES:
            remote.set(**change)
            local.set(**change)

            assert remote.updated == local.updated, change
            assert remote.ran == local.ran, change
            assert remote.outputs == local.outputs, change
            assert remote.errors == local.errors, change

    pids = {server.process.pid for server in two_servers}
    assert set(balancer.served_by) == pids
    updates = balancer.served_by[2:]  # after the spec and first full render
    assert all(a != b for a, b in itertools.pairwise(updates))


def test_a_reply_names_the_request_it_answers(two_servers: list[RunningServer]) -> None:
    envelope = {"seq": 41, "inputs": {"months": 3}, "changed": ["months"]}
    headers = {"x-trellis-dashboard": "1"}

    replies = [
        httpx.post(server.url("/sales/update"), json=envelope, headers=headers, timeout=10).json()
        for server in two_servers
    ]

    assert replies[0] == replies[1]
    assert replies[0]["seq"] == 41
