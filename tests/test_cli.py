"""The ``trellis`` command: app discovery, ``run`` (uvicorn faked, and for real), ``routes``."""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
import uvicorn
from click.testing import CliRunner, Result

from trellis import App
from trellis.cli import NO_APP_MESSAGE, build_log_config, locate_app, main

HELLO_APP = """
from trellis import App

{name} = App()

@{name}.get("/")
def index():
    return "{body}"
"""

WriteFile = Callable[[str, str], Path]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty project directory as the current directory, with sys.path and sys.modules
    restored afterwards so modules named ``app`` do not leak between tests."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRELLIS_APP", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    importlib.invalidate_caches()
    yield tmp_path
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if filename and Path(filename).is_relative_to(tmp_path):
            del sys.modules[name]


@pytest.fixture
def write(project: Path) -> WriteFile:
    """Write a file (dedented) under the project directory, creating parent directories."""

    def write_file(relative: str, source: str) -> Path:
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
        return path

    return write_file


def hello_app(name: str = "app", body: str = "hello") -> str:
    return HELLO_APP.format(name=name, body=body)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace ``uvicorn.run`` with a recorder; each call's arguments are appended."""
    calls: list[dict[str, Any]] = []

    def fake_run(app: str, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


# --- discovery -------------------------------------------------------------------------------


def test_run_without_app_serves_app_py_from_current_directory(
    write: WriteFile, project: Path, served: list[dict[str, Any]]
) -> None:
    write("app.py", hello_app())

    result = invoke("run")

    assert result.exit_code == 0, result.output
    assert served[0]["app"] == "app:app"
    assert served[0]["app_dir"] == str(project)


def test_run_without_app_py_falls_back_to_wsgi_py(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("wsgi.py", hello_app())

    result = invoke("run")

    assert result.exit_code == 0, result.output
    assert served[0]["app"] == "wsgi:app"


def test_app_py_wins_over_wsgi_py(write: WriteFile, served: list[dict[str, Any]]) -> None:
    write("app.py", hello_app())
    write("wsgi.py", hello_app())

    invoke("run")

    assert served[0]["app"] == "app:app"


def test_trellis_app_env_var_names_the_app(
    write: WriteFile, served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    write("app.py", hello_app())
    write("service.py", hello_app(name="api"))
    monkeypatch.setenv("TRELLIS_APP", "service:api")

    invoke("run")

    assert served[0]["app"] == "service:api"


def test_app_argument_wins_over_env_var(
    write: WriteFile, served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    write("service.py", hello_app())
    write("other.py", hello_app())
    monkeypatch.setenv("TRELLIS_APP", "service")

    invoke("run", "other")

    assert served[0]["app"] == "other:app"


def test_module_and_attribute_are_used_as_given(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("service.py", hello_app(name="api"))

    result = invoke("run", "service:api")

    assert result.exit_code == 0, result.output
    assert served[0]["app"] == "service:api"


def test_module_alone_uses_its_app_attribute(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("service.py", hello_app() + "\nother = App()\n")

    invoke("run", "service")

    assert served[0]["app"] == "service:app"


def test_module_alone_uses_application_when_there_is_no_app(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("service.py", hello_app(name="application") + "\nother = App()\n")

    invoke("run", "service")

    assert served[0]["app"] == "service:application"


def test_module_alone_prefers_app_to_application(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("service.py", hello_app(name="application") + "\napp = App()\n")

    invoke("run", "service")

    assert served[0]["app"] == "service:app"


def test_module_alone_uses_its_only_app_instance_whatever_its_name(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("service.py", hello_app(name="website"))

    invoke("run", "service")

    assert served[0]["app"] == "service:website"


def test_one_app_bound_to_two_names_counts_as_one(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("service.py", hello_app(name="website") + "\nalias = website\n")

    result = invoke("run", "service")

    assert result.exit_code == 0, result.output
    assert served[0]["app"] == "service:website"


def test_module_attribute_that_is_not_an_app_named_app_is_skipped(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("service.py", hello_app(name="website") + "\napp = 'not an app'\n")

    invoke("run", "service")

    assert served[0]["app"] == "service:website"


def test_path_to_file_in_subdirectory_imports_it_from_its_directory(
    write: WriteFile, project: Path, served: list[dict[str, Any]]
) -> None:
    write("examples/hello/app.py", hello_app())

    result = invoke("run", "examples/hello/app.py")

    assert result.exit_code == 0, result.output
    assert served[0]["app"] == "app:app"
    assert served[0]["app_dir"] == str(project / "examples" / "hello")
    assert str(project / "examples" / "hello") in sys.path


def test_path_to_file_with_attribute(write: WriteFile, served: list[dict[str, Any]]) -> None:
    write("examples/hello/server.py", hello_app(name="api"))

    invoke("run", "examples/hello/server.py:api")

    assert served[0]["app"] == "server:api"


def test_absolute_path_to_file_outside_current_directory(
    write: WriteFile, served: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "outside.py").write_text(hello_app())

    try:
        result = invoke("run", str(elsewhere / "outside.py"))
    finally:
        sys.modules.pop("outside", None)

    assert result.exit_code == 0, result.output
    assert served[0]["app"] == "outside:app"
    assert served[0]["app_dir"] == str(elsewhere)


def test_file_inside_package_is_imported_by_dotted_name_so_relative_imports_work(
    write: WriteFile, project: Path, served: list[dict[str, Any]]
) -> None:
    write("shop/__init__.py", "")
    write("shop/web/__init__.py", "")
    write("shop/web/views.py", "GREETING = 'hi'\n")
    write("shop/web/app.py", "from .views import GREETING\n" + hello_app())

    result = invoke("run", "shop/web/app.py")

    assert result.exit_code == 0, result.output
    assert served[0]["app"] == "shop.web.app:app"
    assert served[0]["app_dir"] == str(project)


def test_package_directory_path_imports_the_package(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("shop/__init__.py", hello_app())

    result = invoke("run", "shop")

    assert result.exit_code == 0, result.output
    assert served[0]["app"] == "shop:app"


def test_dotted_module_name_is_imported_from_current_directory(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("shop/__init__.py", "")
    write("shop/app.py", hello_app())

    invoke("run", "shop.app")

    assert served[0]["app"] == "shop.app:app"


def test_colon_followed_by_a_path_is_not_read_as_an_attribute(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("C:/site/app.py", hello_app())

    result = invoke("run", "C:/site/app.py")

    assert result.exit_code == 0, result.output
    assert served[0]["app"] == "app:app"


def test_locate_app_returns_the_app_object_and_its_import_string(write: WriteFile) -> None:
    write("service.py", hello_app(name="api"))

    app, import_string = locate_app("service")

    assert isinstance(app, App)
    assert import_string == "service:api"
    assert app is sys.modules["service"].api


# --- discovery errors ------------------------------------------------------------------------


def test_no_app_anywhere_is_a_usage_error_saying_where_to_put_one(project: Path) -> None:
    result = invoke("run")

    assert result.exit_code == 2
    assert NO_APP_MESSAGE in result.stderr
    assert NO_APP_MESSAGE == (
        "Could not find an application. Pass one as APP, set TRELLIS_APP, "
        "or create app.py in the current directory."
    )


def test_missing_attribute_is_a_usage_error(write: WriteFile) -> None:
    write("service.py", hello_app())

    result = invoke("run", "service:nope")

    assert result.exit_code == 2
    assert "Module 'service' has no attribute 'nope'." in result.stderr


def test_attribute_that_is_not_an_app_is_a_usage_error(write: WriteFile) -> None:
    write("service.py", hello_app() + "\nsettings = {}\n")

    result = invoke("run", "service:settings")

    assert result.exit_code == 2
    assert "'service:settings' is a dict, not a trellis.App." in result.stderr


def test_module_without_any_app_is_a_usage_error(write: WriteFile) -> None:
    write("service.py", "x = 1\n")

    result = invoke("run", "service")

    assert result.exit_code == 2
    assert "Module 'service' has no trellis.App instance." in result.stderr


def test_module_with_several_apps_is_a_usage_error_naming_them(write: WriteFile) -> None:
    write("service.py", "from trellis import App\nweb = App()\napi = App()\n")

    result = invoke("run", "service")

    assert result.exit_code == 2
    assert "Module 'service' has several trellis.App instances (api, web)." in result.stderr
    assert "'service:name'" in result.stderr


def test_unknown_module_is_a_usage_error(project: Path) -> None:
    result = invoke("run", "no_such_module_here")

    assert result.exit_code == 2
    assert "Could not import 'no_such_module_here': no such module." in result.stderr


def test_missing_file_is_a_usage_error(project: Path) -> None:
    result = invoke("run", "examples/missing/app.py")

    assert result.exit_code == 2
    assert "File 'examples/missing/app.py' does not exist." in result.stderr


def test_path_to_non_python_file_is_a_usage_error(write: WriteFile) -> None:
    write("docs/notes.txt", "hello")

    result = invoke("run", "docs/notes.txt")

    assert result.exit_code == 2
    assert "is not a Python file" in result.stderr


def test_file_name_that_is_not_an_identifier_is_a_usage_error(write: WriteFile) -> None:
    write("my-app.py", hello_app())

    result = invoke("run", "my-app.py")

    assert result.exit_code == 2
    assert "cannot be imported as a module" in result.stderr


def test_file_shadowed_by_an_already_imported_module_is_a_usage_error(write: WriteFile) -> None:
    write("site.py", hello_app())

    result = invoke("run", "site.py")

    assert result.exit_code == 2
    assert "cannot be imported as 'site'" in result.stderr
    assert "Rename the file." in result.stderr


def test_malformed_app_reference_is_a_usage_error(project: Path) -> None:
    result = invoke("run", "some module")

    assert result.exit_code == 2
    assert "'some module' is not a valid APP." in result.stderr


def test_call_expression_after_colon_is_a_usage_error(project: Path) -> None:
    result = invoke("run", "service:create_app()")

    assert result.exit_code == 2
    assert "'create_app()' in APP 'service:create_app()' is not an attribute name." in (
        result.stderr
    )


def test_import_error_inside_the_app_shows_its_traceback_and_exits_1(write: WriteFile) -> None:
    write("app.py", "import definitely_not_installed_xyz\n" + hello_app())

    result = invoke("run")

    assert result.exit_code == 1
    assert "Traceback (most recent call last):" in result.stderr
    assert 'app.py", line 1, in <module>' in result.stderr
    assert "No module named 'definitely_not_installed_xyz'" in result.stderr
    assert "Error: Importing 'app' raised the error above." in result.stderr


def test_exception_raised_while_importing_the_app_shows_its_traceback_and_exits_1(
    write: WriteFile,
) -> None:
    write("app.py", hello_app() + "\nraise RuntimeError('database URL is missing')\n")

    result = invoke("run")

    assert result.exit_code == 1
    assert "RuntimeError: database URL is missing" in result.stderr
    assert "in <module>" in result.stderr


def test_import_traceback_starts_in_user_code_not_in_the_cli(write: WriteFile) -> None:
    write("app.py", "raise RuntimeError('boom')\n")

    result = invoke("run")

    assert "cli.py" not in result.stderr
    assert "importlib" not in result.stderr


def test_syntax_error_in_the_app_shows_the_offending_line_and_exits_1(write: WriteFile) -> None:
    write("app.py", "def broken(:\n    pass\n")

    result = invoke("run")

    assert result.exit_code == 1
    assert "SyntaxError" in result.stderr
    assert "def broken(:" in result.stderr


def test_discovery_errors_do_not_start_the_server(
    project: Path, served: list[dict[str, Any]]
) -> None:
    invoke("run")

    assert served == []


# --- run options ------------------------------------------------------------------------------


def test_run_passes_host_port_workers_and_log_level_to_uvicorn(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("app.py", hello_app())

    invoke("run", "--host", "0.0.0.0", "--port", "9001", "--workers", "3", "--log-level", "DEBUG")

    call = served[0]
    assert (call["host"], call["port"], call["workers"]) == ("0.0.0.0", 9001, 3)
    assert call["log_level"] == "debug"
    assert call["reload"] is False


def test_run_defaults_to_loopback_port_8000_one_worker(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("app.py", hello_app())

    invoke("run")

    call = served[0]
    assert (call["host"], call["port"], call["workers"], call["log_level"]) == (
        "127.0.0.1",
        8000,
        1,
        "info",
    )


def test_run_leaves_access_lines_to_trellis_not_uvicorn(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("app.py", hello_app())

    invoke("run")

    assert served[0]["access_log"] is False


def test_run_tells_uvicorn_the_app_speaks_asgi3(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("app.py", hello_app())

    invoke("run")

    assert served[0]["interface"] == "asgi3"


def test_run_with_reload_watches_the_app_directory(
    write: WriteFile, project: Path, served: list[dict[str, Any]]
) -> None:
    write("site/app.py", hello_app())

    result = invoke("run", "site/app.py", "--reload")

    assert result.exit_code == 0, result.output
    assert served[0]["reload"] is True
    assert served[0]["reload_dirs"] == [str(project / "site")]


def test_reload_with_several_workers_is_a_usage_error(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("app.py", hello_app())

    result = invoke("run", "--reload", "--workers", "2")

    assert result.exit_code == 2
    assert "--reload and --workers cannot be used together" in result.stderr
    assert served == []


def test_zero_workers_is_a_usage_error(write: WriteFile, served: list[dict[str, Any]]) -> None:
    write("app.py", hello_app())

    result = invoke("run", "--workers", "0")

    assert result.exit_code == 2
    assert "--workers" in result.stderr


def test_port_out_of_range_is_a_usage_error(project: Path) -> None:
    result = invoke("run", "--port", "70000")

    assert result.exit_code == 2
    assert "--port" in result.stderr


def test_unknown_log_level_is_a_usage_error(project: Path) -> None:
    result = invoke("run", "--log-level", "loud")

    assert result.exit_code == 2
    assert "--log-level" in result.stderr


def test_run_announces_the_app_it_serves(write: WriteFile, served: list[dict[str, Any]]) -> None:
    write("app.py", hello_app())

    result = invoke("run")

    assert "Serving Trellis app 'app:app'" in result.stderr


DEBUG_APP = """
from trellis import App

app = App(settings={"DEBUG": True})
"""


def test_run_warns_when_a_debug_app_listens_beyond_loopback(
    write: WriteFile, served: list[dict[str, Any]]
) -> None:
    write("app.py", DEBUG_APP)

    result = invoke("run", "--host", "0.0.0.0")

    assert "Warning: debug mode is on and the server listens on 0.0.0.0" in result.stderr
    assert served


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_run_does_not_warn_about_debug_on_loopback(
    write: WriteFile, served: list[dict[str, Any]], host: str
) -> None:
    write("app.py", DEBUG_APP)

    result = invoke("run", "--host", host)

    assert "(debug: on)" in result.stderr
    assert "Warning" not in result.stderr


def test_log_config_shows_trellis_access_lines_at_info() -> None:
    config = build_log_config("info")

    assert config["loggers"]["trellis"]["handlers"] == ["default"]
    assert config["loggers"]["trellis"]["level"] == logging.INFO
    assert config["loggers"]["trellis.access"]["level"] == logging.INFO


def test_log_config_follows_the_log_level_option() -> None:
    config = build_log_config("warning")

    assert config["loggers"]["trellis"]["level"] == logging.WARNING
    assert config["loggers"]["trellis.access"]["level"] == logging.WARNING


def test_log_config_keeps_uvicorns_own_loggers() -> None:
    config = build_log_config("info")

    assert {"uvicorn", "uvicorn.error", "uvicorn.access"} <= set(config["loggers"])


# --- routes -----------------------------------------------------------------------------------

ROUTES_APP = """
from trellis import App

app = App()

@app.get("/users/{id:int}", name="user_detail")
def show_user(id: int):
    return "user"

@app.post("/users", name="create_user")
def create_user():
    return "created"

@app.route("/about", methods=["GET", "POST"], name="about")
def about():
    return "about"

@app.get("/", name="home")
def home():
    return "home"
"""


def test_routes_prints_a_table_sorted_by_path(write: WriteFile) -> None:
    write("app.py", ROUTES_APP)

    result = invoke("routes")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["METHODS", "PATH", "NAME", "HANDLER"]
    assert set(lines[1]) == {"-", " "}
    assert [line.split()[:3] for line in lines[2:]] == [
        ["GET", "/", "home"],
        ["GET,POST", "/about", "about"],
        ["POST", "/users", "create_user"],
        ["GET", "/users/{id:int}", "user_detail"],
    ]


def test_routes_columns_line_up(write: WriteFile) -> None:
    write("app.py", ROUTES_APP)

    lines = invoke("routes").stdout.splitlines()

    path_column = lines[0].index("PATH")
    assert all(line[path_column] == "/" for line in lines[2:])


def test_routes_shows_handlers_as_module_and_qualified_name(write: WriteFile) -> None:
    write("app.py", ROUTES_APP)

    result = invoke("routes")

    assert "app.show_user" in result.stdout
    assert "app.create_user" in result.stdout


def test_routes_hides_the_automatic_head_of_get_routes(write: WriteFile) -> None:
    write("app.py", ROUTES_APP)

    result = invoke("routes")

    assert "HEAD" not in result.stdout


def test_routes_lists_head_and_options_routes_declared_explicitly(write: WriteFile) -> None:
    write(
        "app.py",
        """
        from trellis import App

        app = App()

        @app.route("/probe", methods=["HEAD", "OPTIONS"])
        def probe():
            return ""
        """,
    )

    result = invoke("routes")

    assert "HEAD,OPTIONS  /probe" in result.stdout


def test_routes_all_methods_shows_head(write: WriteFile) -> None:
    write("app.py", ROUTES_APP)

    result = invoke("routes", "--all-methods")

    assert "GET,HEAD" in result.stdout


def test_routes_help_says_the_automatic_head_is_hidden() -> None:
    result = invoke("routes", "--help")

    assert "automatic HEAD is hidden" in result.stdout


def test_routes_of_app_without_routes_says_so(write: WriteFile) -> None:
    write("app.py", "from trellis import App\napp = App()\n")

    result = invoke("routes")

    assert result.exit_code == 0
    assert "No routes registered on 'app:app'." in result.stdout


def test_routes_uses_the_same_discovery_as_run(write: WriteFile) -> None:
    write("examples/shop/server.py", ROUTES_APP.replace("app", "shop"))

    result = invoke("routes", "examples/shop/server.py:shop")

    assert result.exit_code == 0, result.output
    assert "server.home" in result.stdout


def test_routes_without_an_app_is_a_usage_error(project: Path) -> None:
    result = invoke("routes")

    assert result.exit_code == 2
    assert NO_APP_MESSAGE in result.stderr


# --- version and help -------------------------------------------------------------------------


def test_version_prints_the_installed_version() -> None:
    result = invoke("--version")

    assert result.exit_code == 0
    assert result.stdout.strip() == f"Trellis {importlib.metadata.version('trellis')}"


def test_help_lists_the_commands() -> None:
    result = invoke("--help")

    assert result.exit_code == 0
    assert "run" in result.stdout
    assert "routes" in result.stdout


def test_main_is_a_click_group() -> None:
    assert isinstance(main, click.Group)


# --- end to end: a real server ---------------------------------------------------------------

STARTUP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_trellis(
    directory: Path, *args: str, new_session: bool = False
) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if key != "TRELLIS_APP"}
    env["PYTHONUNBUFFERED"] = "1"
    with (directory / "server.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "trellis.cli", *args],
            cwd=directory,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )


def server_log(directory: Path) -> str:
    return (directory / "server.log").read_text(errors="replace")


def wait_for_body(
    process: subprocess.Popen[bytes],
    url: str,
    expected: str,
    directory: Path,
    timeout: float = STARTUP_TIMEOUT,
    between_tries: Callable[[], None] = lambda: None,
) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"trellis exited with {process.returncode}:\n{server_log(directory)}")
        try:
            response = httpx.get(url, timeout=1.0)
            last = f"{response.status_code} {response.text!r}"
            if response.status_code == 200 and response.text == expected:
                return
        except httpx.TransportError as error:
            last = repr(error)
        between_tries()
        time.sleep(0.2)
    pytest.fail(
        f"no {expected!r} from {url} within {timeout}s (last: {last}):\n{server_log(directory)}"
    )


def stop(process: subprocess.Popen[bytes], *, group: bool = False) -> None:
    if process.poll() is not None:
        return
    if group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait(timeout=5)


@pytest.mark.e2e
def test_run_serves_the_app_over_http(tmp_path: Path) -> None:
    (tmp_path / "hello").mkdir()
    (tmp_path / "hello" / "app.py").write_text(hello_app(body="Hello from a real server"))
    port = free_port()

    process = start_trellis(tmp_path, "run", "hello/app.py", "--port", str(port))
    try:
        wait_for_body(process, f"http://127.0.0.1:{port}/", "Hello from a real server", tmp_path)
    finally:
        stop(process)

    log = server_log(tmp_path)
    assert "Serving Trellis app 'app:app'" in log
    assert "GET / 200" in log


@pytest.mark.e2e
def test_run_with_reload_serves_the_edited_app(tmp_path: Path) -> None:
    app_file = tmp_path / "app.py"
    app_file.write_text(hello_app(body="before the edit"))
    port = free_port()
    url = f"http://127.0.0.1:{port}/"

    process = start_trellis(tmp_path, "run", "--reload", "--port", str(port), new_session=True)
    try:
        wait_for_body(process, url, "before the edit", tmp_path)
        edited = hello_app(body="after the edit")
        app_file.write_text(edited)
        tries = iter(range(1_000_000))

        def rewrite_now_and_then() -> None:
            # The file watcher may start a moment after the first response; touch the file
            # again every few seconds so a change it missed is seen.
            if next(tries) % 10 == 9:
                app_file.write_text(edited)

        wait_for_body(process, url, "after the edit", tmp_path, between_tries=rewrite_now_and_then)
    finally:
        stop(process, group=True)
