"""Application settings: explicit values, then `TRELLIS_*` environment variables, then `.env`.

A hello-world app needs none. Names are case-insensitive (`debug` or `DEBUG`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_type_hints

from .errors import ConfigurationError
from .formparsers import FormLimits

ENV_PREFIX = "TRELLIS_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# The debug-only key made when no SECRET_KEY is set: one per process, shared by every app in it.
_generated_key: str | None = None


@dataclasses.dataclass
class Settings:
    """Every setting the core reads, with its default. Unknown names go to `extra`."""

    debug: bool = False
    secret_key: str | None = dataclasses.field(default=None, repr=False)
    # Former SECRET_KEYs: data they signed still verifies, new data is signed with SECRET_KEY.
    secret_key_fallbacks: list[str] = dataclasses.field(default_factory=list, repr=False)
    # Host header values the app answers ("*" = any; ".example.com" = the domain and subdomains).
    allowed_hosts: list[str] = dataclasses.field(default_factory=lambda: ["*"])
    # Addresses/networks of reverse proxies whose X-Forwarded-* headers are believed.
    trusted_proxies: list[str] = dataclasses.field(default_factory=list)
    redirect_slashes: bool = True
    secure_cookies: bool = False
    max_body_size: int = 16 * 1024 * 1024
    max_form_fields: int = 1000
    max_form_files: int = 100
    max_field_size: int = 1024 * 1024
    max_query_params: int = 1000
    max_json_depth: int = 64
    # Sessions: "cookie" (signed, the default), "redis" (REDIS_URL) or "database"
    # (SESSION_DATABASE_URL or DATABASE_URL). Lifetimes are in seconds.
    session_backend: str = "cookie"
    session_cookie: str = "session"
    session_max_age: int = 14 * 24 * 3600
    remember_me_max_age: int = 30 * 24 * 3600
    # CSRF protection of unsafe methods on cookie-authenticated requests.
    csrf_enabled: bool = True
    csrf_trusted_origins: list[str] = dataclasses.field(default_factory=list)
    # Security headers on every response; an empty value turns one header off.
    security_headers: bool = True
    content_security_policy: str | None = (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    hsts_seconds: int = 365 * 24 * 3600
    frame_options: str | None = "DENY"
    referrer_policy: str | None = "strict-origin-when-cross-origin"
    cross_origin_opener_policy: str | None = "same-origin"
    # The page policies above (CSP, framing, referrer, opener) also on JSON, text, images...
    security_headers_on_data: bool = False
    # CORS: off until CORS_ORIGINS lists origins (or "*").
    cors_origins: list[str] = dataclasses.field(default_factory=list)
    cors_allow_credentials: bool = False
    cors_allow_methods: list[str] = dataclasses.field(
        default_factory=lambda: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    )
    cors_allow_headers: list[str] = dataclasses.field(
        default_factory=lambda: ["accept", "content-type", "authorization", "x-csrf-token"]
    )
    cors_expose_headers: list[str] = dataclasses.field(default_factory=list)
    cors_max_age: int = 600
    # A limit for every request per client, e.g. "100/minute" (off when empty), and where
    # counters live: "memory" (one process) or a redis:// URL (shared by many processes).
    rate_limit: str | None = None
    rate_limit_storage: str = "memory"
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self._warned_generated_key = False
        networks = []
        for entry in self.trusted_proxies:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ConfigurationError(
                    f"TRUSTED_PROXIES (TRELLIS_TRUSTED_PROXIES): {entry!r} is not an IP address "
                    "or network such as 10.0.0.1 or 10.0.0.0/8."
                ) from None
        self.trusted_networks: tuple[Any, ...] = tuple(networks)
        self.form_limits = FormLimits(
            max_fields=self.max_form_fields,
            max_files=self.max_form_files,
            max_field_size=self.max_field_size,
            max_file_size=self.max_body_size,
        )

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        env_file: str | os.PathLike[str] | None = ".env",
    ) -> Settings:
        """Build settings from `overrides`, then the environment, then the `.env` file."""
        environ = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls) if f.name != "extra"}
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        sources: list[tuple[str, Mapping[str, Any]]] = []
        if env_file is not None and Path(env_file).is_file():
            sources.append((str(env_file), read_env_file(Path(env_file))))
        sources.append(("environment", environ))
        # Later sources win: .env < environment < explicit overrides.
        for origin, source in sources:
            for key, raw in source.items():
                if not key.startswith(ENV_PREFIX):
                    continue
                name = key[len(ENV_PREFIX) :].lower()
                if name in names:
                    values[name] = _parse(name, raw, hints[name], f"{key} in {origin}")
                else:
                    extra[name.upper()] = raw
        for key, value in (overrides or {}).items():
            name = key.lower()
            if name in names:
                values[name] = (
                    _parse(name, value, hints[name], f"setting {key}")
                    if isinstance(value, str)
                    else value
                )
            else:
                extra[key.upper()] = value
        return cls(**values, extra=extra)

    def get(self, name: str, default: Any = None) -> Any:
        """A setting by name, including extension ones (`settings.get("DATABASE_URL")`)."""
        lowered = name.lower()
        if lowered != "extra" and lowered in {f.name for f in dataclasses.fields(self)}:
            return getattr(self, lowered)
        return self.extra.get(name.upper(), default)

    def signing_keys(self, feature: str) -> list[str]:
        """Keys that verify signed data, oldest first; the last (SECRET_KEY) signs new data."""
        return [*reversed(self.secret_key_fallbacks), self.require_secret_key(feature)]

    def require_secret_key(self, feature: str) -> str:
        """The SECRET_KEY; in debug a per-process key; otherwise a missing key is an error."""
        if self.secret_key:
            return self.secret_key
        if not self.debug:
            raise ConfigurationError(
                f"{feature} needs a SECRET_KEY. Set the environment variable TRELLIS_SECRET_KEY "
                '(for example to the output of: python -c "import secrets; '
                'print(secrets.token_urlsafe(32))"), or pass settings={"SECRET_KEY": ...} to App().'
            )
        global _generated_key
        if _generated_key is None:
            _generated_key = secrets.token_urlsafe(32)
        if not self._warned_generated_key:
            self._warned_generated_key = True
            warnings.warn(
                f"{feature}: no SECRET_KEY set; using a random per-process key (debug only). "
                "Signed data will not survive a restart or be shared between processes.",
                RuntimeWarning,
                stacklevel=2,
            )
        return _generated_key


def _parse(name: str, raw: Any, hint: Any, where: str) -> Any:
    text = str(raw).strip()
    if hint is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigurationError(f"{where}: {raw!r} is not a boolean; use true or false.")
    if hint is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigurationError(f"{where}: {raw!r} is not a whole number.") from None
    if hint == list[str]:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text or None


def read_env_file(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines (comments, blank lines, `export` and quotes allowed)."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(f"{path}:{number}: expected KEY=VALUE, got {line!r}.")
        value = value.strip()
        if value[:1] in ("'", '"') and value.find(value[0], 1) != -1:
            value = value[1 : value.find(value[0], 1)]
        else:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values
