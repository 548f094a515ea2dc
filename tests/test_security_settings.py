"""Specification of the security settings as read from the environment."""

from __future__ import annotations

import pytest

from trellis import App, ConfigurationError, Settings


def test_security_settings_come_from_the_environment() -> None:
    settings = Settings.load(
        environ={
            "TRELLIS_SECRET_KEY_FALLBACKS": "old1, old2",
            "TRELLIS_CSRF_ENABLED": "false",
            "TRELLIS_CORS_ORIGINS": "https://a.example,https://b.example",
            "TRELLIS_SESSION_MAX_AGE": "3600",
            "TRELLIS_RATE_LIMIT": "100/minute",
            "TRELLIS_CONTENT_SECURITY_POLICY": "",
        },
        env_file=None,
    )

    assert settings.secret_key_fallbacks == ["old1", "old2"]
    assert settings.csrf_enabled is False
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.session_max_age == 3600
    assert settings.rate_limit == "100/minute"
    assert settings.content_security_policy is None


def test_an_unknown_session_backend_is_a_clear_error() -> None:
    app = App(settings={"SECRET_KEY": "k", "SESSION_BACKEND": "memcached"})

    with pytest.raises(ConfigurationError, match="use cookie, redis or database"):
        _ = app.sessions.backend


@pytest.mark.parametrize(
    ("backend", "needed"), [("redis", "REDIS_URL"), ("database", "DATABASE_URL")]
)
def test_a_server_side_backend_without_its_url_is_a_clear_error(backend: str, needed: str) -> None:
    app = App(settings={"SECRET_KEY": "k", "SESSION_BACKEND": backend})

    with pytest.raises(ConfigurationError, match=needed):
        _ = app.sessions.backend


def test_session_backends_are_built_from_urls(tmp_path: object) -> None:
    from trellis.sessions.database import DatabaseSessionBackend
    from trellis.sessions.redis import RedisSessionBackend

    redis_app = App(
        settings={
            "SECRET_KEY": "k",
            "SESSION_BACKEND": "redis",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    database_app = App(
        settings={"SECRET_KEY": "k", "SESSION_BACKEND": "database", "DATABASE_URL": "sqlite://"}
    )

    redis_backend = redis_app.sessions.backend
    database_backend = database_app.sessions.backend
    assert isinstance(redis_backend, RedisSessionBackend)
    assert isinstance(database_backend, DatabaseSessionBackend)
    redis_backend.close()
    database_backend.close()


def test_an_unknown_rate_limit_storage_is_a_clear_error() -> None:
    from trellis.security.ratelimit import storage_from_setting

    with pytest.raises(ConfigurationError, match="memory or a redis:// URL"):
        storage_from_setting("memcached://x")
