"""The ``trellis`` command: run the development server and inspect an application.

App discovery lives in plain functions (:func:`locate_app`, :func:`resolve_app_ref`,
:func:`load_app`) so that later commands (``trellis shell``, ``trellis db``) find the
application exactly the way ``trellis run`` does.
"""

from __future__ import annotations

import copy
import importlib
import ipaddress
import os
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType
from typing import IO, TYPE_CHECKING, Any

import click
import uvicorn
import uvicorn.config

if TYPE_CHECKING:
    from trellis.app import App
    from trellis.routing import Route

APP_ENV_VAR = "TRELLIS_APP"
DEFAULT_APP_FILES = ("app.py", "wsgi.py")
DEFAULT_APP_NAMES = ("app", "application")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
_MISSING = object()

NO_APP_MESSAGE = (
    "Could not find an application. Pass one as APP, set TRELLIS_APP, "
    "or create app.py in the current directory."
)


class NoAppError(click.UsageError):
    """The APP reference does not lead to a ``trellis.App`` (a usage error, exit code 2)."""


class AppImportError(click.ClickException):
    """Importing the application module raised; shows the user's traceback (exit code 1)."""

    exit_code = 1

    def __init__(self, module_name: str, traceback_text: str) -> None:
        super().__init__(
            f"Importing '{module_name}' raised the error above. Fix it and run the command again."
        )
        self.module_name = module_name
        self.traceback_text = traceback_text

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the traceback from the user's code, then the one-line summary."""
        click.echo(self.traceback_text, file=file, err=True, nl=False)
        super().show(file)


@dataclass(frozen=True)
class AppRef:
    """Where an application lives: a module to import, an optional attribute, a sys.path entry."""

    module: str
    attr: str | None
    app_dir: str
    file: str | None = None


def resolve_app_ref(app_ref: str | None) -> AppRef:
    """Turn APP (or ``TRELLIS_APP``, or ``app.py``/``wsgi.py`` in the current directory) into an
    :class:`AppRef` without importing anything."""
    ref = app_ref or os.environ.get(APP_ENV_VAR) or _default_app_file()
    if not ref:
        raise NoAppError(NO_APP_MESSAGE)

    target, attr = _split_attr(ref)
    if target.endswith(".py") or os.sep in target or "/" in target:
        return _ref_from_path(target, attr)
    if not all(part.isidentifier() for part in target.split(".")):
        raise NoAppError(
            f"'{ref}' is not a valid APP. Use 'module:attr', 'module', "
            "or a path to a .py file such as 'examples/hello/app.py'."
        )
    return AppRef(module=target, attr=attr, app_dir=os.getcwd())


def load_app(ref: AppRef) -> tuple[App, str]:
    """Import the module named by ``ref`` and return the application and its import string
    (``module:attr``, as uvicorn and gunicorn expect)."""
    from trellis.app import App

    if ref.app_dir not in sys.path:
        sys.path.insert(0, ref.app_dir)
    module = _import_module(ref.module)
    if ref.file is not None and _module_file(module) != ref.file:
        raise NoAppError(
            f"'{ref.file}' cannot be imported as '{ref.module}': that name already belongs to "
            f"{_module_file(module) or 'a built-in module'}. Rename the file."
        )

    if ref.attr is not None:
        candidate = getattr(module, ref.attr, _MISSING)
        if candidate is _MISSING:
            raise NoAppError(f"Module '{ref.module}' has no attribute '{ref.attr}'.")
        if not isinstance(candidate, App):
            raise NoAppError(
                f"'{ref.module}:{ref.attr}' is a {type(candidate).__name__}, not a trellis.App. "
                "Point APP at the object created with App()."
            )
        return candidate, f"{ref.module}:{ref.attr}"

    name = _find_app_name(module, App)
    return getattr(module, name), f"{ref.module}:{name}"


def locate_app(app_ref: str | None) -> tuple[App, str]:
    """Find, import and return the application named by ``app_ref`` (see :func:`resolve_app_ref`)
    together with its import string."""
    return load_app(resolve_app_ref(app_ref))


def _default_app_file() -> str | None:
    for filename in DEFAULT_APP_FILES:
        if Path(filename).is_file():
            return filename
    return None


def _split_attr(ref: str) -> tuple[str, str | None]:
    # A colon followed by a path is a Windows drive letter ("C:\\site\\app.py"), not an attribute.
    target, colon, attr = ref.rpartition(":")
    if not colon or not target or "/" in attr or "\\" in attr:
        return ref, None
    if attr.isidentifier():
        return target, attr
    raise NoAppError(
        f"'{attr}' in APP '{ref}' is not an attribute name. "
        "Use 'module:attr' with the name of the App instance, for example 'app:app'."
    )


def _ref_from_path(target: str, attr: str | None) -> AppRef:
    path = Path(target)
    if path.is_dir() and (path / "__init__.py").is_file():
        path = path / "__init__.py"
    if not path.is_file():
        raise NoAppError(f"File '{target}' does not exist. Check the path to your application.")
    if path.suffix != ".py":
        raise NoAppError(f"File '{target}' is not a Python file; APP must end in '.py'.")

    # A file inside packages is imported by its dotted name, so its relative imports work:
    # walk up while the directory holds an __init__.py.
    path = path.resolve()
    parts = [] if path.name == "__init__.py" else [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    if not parts or not all(part.isidentifier() for part in parts):
        raise NoAppError(
            f"File '{target}' cannot be imported as a module; "
            "rename it (and its package directories) to valid Python identifiers."
        )
    return AppRef(module=".".join(parts), attr=attr, app_dir=str(directory), file=str(path))


def _import_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and (name == error.name or name.startswith(f"{error.name}.")):
            raise NoAppError(
                f"Could not import '{name}': no such module. Run trellis from the directory "
                "that contains it, or pass the path to the file (for example 'src/app.py')."
            ) from None
        raise AppImportError(name, _format_user_traceback(error)) from error
    except Exception as error:
        raise AppImportError(name, _format_user_traceback(error)) from error


def _module_file(module: ModuleType) -> str | None:
    filename = getattr(module, "__file__", None)
    return str(Path(filename).resolve()) if filename else None


def _format_user_traceback(error: BaseException) -> str:
    # Drop the frames of this module and importlib so the traceback starts in the user's code.
    skipped = {os.path.normcase(__file__), os.path.normcase(importlib.__file__ or "")}

    def is_ours(filename: str) -> bool:
        return filename.startswith("<frozen importlib") or os.path.normcase(filename) in skipped

    tb: TracebackType | None = error.__traceback__
    while tb is not None and is_ours(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def _find_app_name(module: ModuleType, app_type: type[App]) -> str:
    for name in DEFAULT_APP_NAMES:
        if isinstance(getattr(module, name, None), app_type):
            return name

    found: dict[int, str] = {}
    for name, value in vars(module).items():
        if isinstance(value, app_type):
            found.setdefault(id(value), name)
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        raise NoAppError(
            f"Module '{module.__name__}' has no trellis.App instance. Create one with "
            f"'app = App()', or pass its name as '{module.__name__}:name'."
        )
    names = ", ".join(sorted(found.values()))
    raise NoAppError(
        f"Module '{module.__name__}' has several trellis.App instances ({names}). "
        f"Pick one as '{module.__name__}:name'."
    )


def build_log_config(log_level: str) -> dict[str, Any]:
    """Return uvicorn's logging configuration extended with the ``trellis`` loggers, so access
    lines from ``trellis.access`` show on the development server (in every worker process)."""
    level = uvicorn.config.LOG_LEVELS[log_level]
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["trellis"] = {"handlers": ["default"], "level": level, "propagate": False}
    config["loggers"]["trellis.access"] = {"level": level}
    return config


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trellis", message="Trellis %(version)s")
def main() -> None:
    """Trellis: run and inspect a Trellis web application.

    APP is 'module:attr', 'module' (its 'app', 'application' or only App instance) or a path
    to a .py file (optionally 'path.py:attr'). Without APP, the TRELLIS_APP environment
    variable is used, then app.py or wsgi.py in the current directory.
    """


@main.command()
@click.argument("app", required=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to bind."
)
@click.option("--reload", is_flag=True, help="Restart when a file in the app's directory changes.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Number of worker processes (cannot be combined with --reload).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    help="Log level for the server and the 'trellis' loggers.",
)
def run(app: str | None, host: str, port: int, reload: bool, workers: int, log_level: str) -> None:
    """Serve APP with the embedded uvicorn server.

    APP is found as 'trellis --help' describes. This is the development server; in production
    run 'uvicorn module:app --workers N' or 'gunicorn module:app'.
    """
    if reload and workers > 1:
        raise click.UsageError(
            "--reload and --workers cannot be used together: the reloader runs a single "
            "process. Drop --workers while developing, or --reload in production."
        )
    ref = resolve_app_ref(app)
    application, import_string = load_app(ref)

    click.echo(
        f"Serving Trellis app '{import_string}' from {ref.app_dir} "
        f"(debug: {'on' if application.settings.debug else 'off'})",
        err=True,
    )
    if application.settings.debug and not _is_loopback(host):
        click.secho(
            f"Warning: debug mode is on and the server listens on {host}; anyone who can "
            "reach it sees tracebacks. Bind 127.0.0.1 or turn debug off.",
            fg="yellow",
            err=True,
        )

    uvicorn.run(
        import_string,
        host=host,
        port=port,
        reload=reload,
        reload_dirs=[ref.app_dir] if reload else None,
        workers=workers,
        log_level=log_level.lower(),
        log_config=build_log_config(log_level.lower()),
        # Trellis writes its own access lines (method, path, status, duration, request id)
        # to the "trellis.access" logger; uvicorn's would repeat each request.
        access_log=False,
        app_dir=ref.app_dir,
        # App.__call__ serves both protocols, so uvicorn cannot guess the interface.
        interface="asgi3",
    )


@main.command()
@click.argument("app", required=False)
@click.option(
    "--all-methods",
    is_flag=True,
    help="Also list the HEAD that every GET route answers automatically.",
)
def routes(app: str | None, all_methods: bool) -> None:
    """List the routes of APP, sorted by path.

    Every GET route also answers HEAD; that automatic HEAD is hidden unless you pass
    --all-methods (a HEAD route you declare yourself is always listed).
    """
    application, import_string = locate_app(app)
    rows = [_route_row(route, all_methods) for route in application.routes]
    if not rows:
        click.echo(f"No routes registered on '{import_string}'.")
        return
    rows.sort(key=lambda row: (row[1], row[0]))
    click.echo(format_table(("METHODS", "PATH", "NAME", "HANDLER"), rows))


def _route_row(route: Route, all_methods: bool) -> tuple[str, str, str, str]:
    methods = set(route.methods)
    if not all_methods and route.implicit_head:
        methods.discard("HEAD")
    return (
        ",".join(sorted(methods)) or "-",
        route.path,
        route.name or "-",
        describe_handler(route.endpoint),
    )


def describe_handler(endpoint: object) -> str:
    """Return ``module.qualname`` for a handler, falling back to ``repr`` for odd callables."""
    module = getattr(endpoint, "__module__", None)
    qualname = getattr(endpoint, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str):
        return f"{module}.{qualname}"
    return repr(endpoint)


def format_table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    """Lay out ``rows`` under ``header`` in left-aligned columns separated by two spaces."""
    all_rows = [header, *rows]
    widths = [max(len(row[i]) for row in all_rows) for i in range(len(header))]
    rule = tuple("-" * width for width in widths)
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, rule, *all_rows[1:]]
    )


def _register_extensions() -> None:
    from trellis.auth.apikeys_cli import apikeys
    from trellis.db.cli import db_group, shell_command

    main.add_command(db_group)
    main.add_command(shell_command)
    main.add_command(apikeys)


_register_extensions()

if __name__ == "__main__":
    main()
