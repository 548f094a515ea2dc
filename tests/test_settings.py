"""Specification of settings: defaults, explicit values, TRELLIS_* variables and the .env file.

Precedence, highest first: values passed to `App(settings=...)` / `Settings.load(...)`, then
`TRELLIS_*` environment variables, then the `.env` file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from trellis import App, ConfigurationError, Request, Settings
from trellis.testing import TestClient

MakeClient = Callable[..., TestClient]


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    """Where a test writes its .env file (not created until the test writes it)."""
    return tmp_path / ".env"


@pytest.fixture
def calls() -> list[str]:
    """What handlers did, in order."""
    return []


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- defaults and explicit values ----------------------------------------------------------------


def test_defaults_need_no_configuration(env_file: Path) -> None:
    settings = Settings.load(env_file=env_file)

    assert settings.debug is False
    assert settings.secret_key is None
    assert settings.allowed_hosts == ["*"]
    assert settings.trusted_proxies == []
    assert settings.redirect_slashes is True
    assert settings.secure_cookies is False
    assert settings.max_body_size == 16 * 1024 * 1024
    assert settings.max_form_fields == 1000
    assert settings.max_query_params == 1000
    assert settings.max_json_depth == 64
    assert settings.extra == {}


def test_app_without_settings_uses_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert App().settings == Settings()


def test_app_settings_mapping_sets_debug() -> None:
    assert App(settings={"DEBUG": True}).settings.debug is True


def test_setting_names_are_case_insensitive() -> None:
    assert App(settings={"debug": True}).settings.debug is True


def test_app_uses_a_settings_object_as_is() -> None:
    settings = Settings(debug=True, max_body_size=5)

    assert App(settings=settings).settings is settings


def test_string_values_given_in_code_are_parsed() -> None:
    settings = Settings.load(
        {"DEBUG": "yes", "MAX_BODY_SIZE": "10", "ALLOWED_HOSTS": "a.com, b.com"}, env_file=None
    )

    assert settings.debug is True
    assert settings.max_body_size == 10
    assert settings.allowed_hosts == ["a.com", "b.com"]


# -- environment variables -----------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "on"])
def test_trellis_debug_env_var_turns_debug_on(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("TRELLIS_DEBUG", raw)

    assert Settings.load(env_file=None).debug is True


@pytest.mark.parametrize("raw", ["0", "false", "no", "off", ""])
def test_trellis_debug_env_var_turns_debug_off(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("TRELLIS_DEBUG", raw)

    assert Settings.load({"DEBUG": False}, env_file=None).debug is False
    assert Settings.load(env_file=None).debug is False


def test_trellis_max_body_size_env_var_is_an_int(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRELLIS_MAX_BODY_SIZE", "10")

    assert Settings.load(env_file=None).max_body_size == 10


def test_trellis_allowed_hosts_env_var_is_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRELLIS_ALLOWED_HOSTS", "a, b,")

    assert Settings.load(env_file=None).allowed_hosts == ["a", "b"]


def test_app_reads_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRELLIS_DEBUG", "1")

    assert App().settings.debug is True


def test_max_body_size_from_environment_is_enforced(
    monkeypatch: pytest.MonkeyPatch, make_client: MakeClient
) -> None:
    monkeypatch.setenv("TRELLIS_MAX_BODY_SIZE", "10")
    app = App(settings={})

    @app.post("/upload")
    def upload(request: Request) -> str:
        return f"stored {len(request.body())}"

    client = make_client(app)

    assert client.post("/upload", content=b"x" * 10).text == "stored 10"
    assert client.post("/upload", content=b"x" * 11).status_code == 413


def test_declared_body_over_max_body_size_is_413_even_if_unread(
    monkeypatch: pytest.MonkeyPatch, make_client: MakeClient, calls: list[str]
) -> None:
    monkeypatch.setenv("TRELLIS_MAX_BODY_SIZE", "10")
    app = App(settings={})

    @app.post("/ignore")
    def ignore() -> str:
        calls.append("handler")
        return "ignored"

    response = make_client(app).post("/ignore", content=b"x" * 11)

    assert response.status_code == 413
    assert calls == []


def test_environment_variables_without_the_prefix_are_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEBUG", "1")

    settings = Settings.load(env_file=None)

    assert settings.debug is False
    assert settings.get("DEBUG") is False


# -- precedence ----------------------------------------------------------------------------------


def test_env_file_fills_in_settings(env_file: Path) -> None:
    _write(env_file, "TRELLIS_MAX_BODY_SIZE=1")

    assert Settings.load(env_file=env_file).max_body_size == 1


def test_environment_beats_env_file(env_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(env_file, "TRELLIS_MAX_BODY_SIZE=1")
    monkeypatch.setenv("TRELLIS_MAX_BODY_SIZE", "2")

    assert Settings.load(env_file=env_file).max_body_size == 2


def test_explicit_values_beat_environment_and_env_file(
    env_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(env_file, "TRELLIS_MAX_BODY_SIZE=1", "TRELLIS_DATABASE_URL=from-file")
    monkeypatch.setenv("TRELLIS_MAX_BODY_SIZE", "2")
    monkeypatch.setenv("TRELLIS_DATABASE_URL", "from-env")

    settings = Settings.load({"MAX_BODY_SIZE": 3, "DATABASE_URL": "explicit"}, env_file=env_file)

    assert settings.max_body_size == 3
    assert settings.get("DATABASE_URL") == "explicit"


def test_app_reads_env_file_in_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / ".env", "TRELLIS_DEBUG=true", "TRELLIS_MAX_BODY_SIZE=1")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRELLIS_MAX_BODY_SIZE", "2")

    settings = App(settings={"DEBUG": False}).settings

    assert settings.debug is False
    assert settings.max_body_size == 2


def test_missing_env_file_is_fine(tmp_path: Path) -> None:
    assert Settings.load(env_file=tmp_path / "absent.env").debug is False


# -- .env parsing --------------------------------------------------------------------------------


def test_env_file_skips_comments_and_blank_lines(env_file: Path) -> None:
    _write(env_file, "# a comment", "", "   ", "  # indented comment", "TRELLIS_DEBUG=1")

    assert Settings.load(env_file=env_file).debug is True


def test_env_file_allows_export_prefix(env_file: Path) -> None:
    _write(env_file, "export TRELLIS_SECRET_KEY=abc")

    assert Settings.load(env_file=env_file).secret_key == "abc"


def test_env_file_allows_spaces_around_equals(env_file: Path) -> None:
    _write(env_file, "TRELLIS_SECRET_KEY = abc  ")

    assert Settings.load(env_file=env_file).secret_key == "abc"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('TRELLIS_SECRET_KEY="a b c"', "a b c"),
        ("TRELLIS_SECRET_KEY='a b c'", "a b c"),
        ('TRELLIS_SECRET_KEY="has # hash"', "has # hash"),
        ("TRELLIS_SECRET_KEY=a=b=c", "a=b=c"),
    ],
)
def test_env_file_quotes_keep_the_value_verbatim(env_file: Path, line: str, expected: str) -> None:
    _write(env_file, line)

    assert Settings.load(env_file=env_file).secret_key == expected


def test_env_file_strips_inline_comments(env_file: Path) -> None:
    _write(env_file, "TRELLIS_SECRET_KEY=abc # the key")

    assert Settings.load(env_file=env_file).secret_key == "abc"


def test_env_file_hash_without_space_is_part_of_the_value(env_file: Path) -> None:
    _write(env_file, "TRELLIS_SECRET_KEY=abc#def")

    assert Settings.load(env_file=env_file).secret_key == "abc#def"


def test_env_file_strips_quotes_before_an_inline_comment(env_file: Path) -> None:
    _write(env_file, 'TRELLIS_SECRET_KEY="abc" # the key')

    assert Settings.load(env_file=env_file).secret_key == "abc"


@pytest.mark.parametrize("bad", ["JUST_A_WORD", "=value", "export", "  = "])
def test_env_file_bad_line_names_file_and_line(env_file: Path, bad: str) -> None:
    _write(env_file, "# settings", "TRELLIS_DEBUG=1", bad)

    with pytest.raises(ConfigurationError, match=rf"{env_file}:3: expected KEY=VALUE"):
        Settings.load(env_file=env_file)


# -- bad values ----------------------------------------------------------------------------------


def test_bad_boolean_in_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRELLIS_DEBUG", "maybe")

    with pytest.raises(ConfigurationError, match=r"TRELLIS_DEBUG.*'maybe' is not a boolean"):
        Settings.load(env_file=None)


def test_bad_int_in_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRELLIS_MAX_BODY_SIZE", "10MB")

    with pytest.raises(ConfigurationError, match=r"TRELLIS_MAX_BODY_SIZE.*'10MB'.*whole number"):
        Settings.load(env_file=None)


def test_bad_boolean_in_env_file_names_the_variable_and_file(env_file: Path) -> None:
    _write(env_file, "TRELLIS_DEBUG=maybe")

    with pytest.raises(ConfigurationError, match=rf"TRELLIS_DEBUG in {env_file}"):
        Settings.load(env_file=env_file)


def test_bad_explicit_value_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match=r"MAX_BODY_SIZE.*'ten'"):
        App(settings={"MAX_BODY_SIZE": "ten"})


def test_bad_trusted_proxy_is_configuration_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRELLIS_TRUSTED_PROXIES", "10.0.0.1,not-an-address")

    with pytest.raises(ConfigurationError, match=r"TRUSTED_PROXIES.*not-an-address"):
        Settings.load(env_file=None)


# -- extension settings --------------------------------------------------------------------------


def test_unknown_explicit_keys_go_to_extra() -> None:
    settings = Settings.load({"DATABASE_URL": "sqlite:///app.db"}, env_file=None)

    assert settings.extra == {"DATABASE_URL": "sqlite:///app.db"}
    assert settings.get("DATABASE_URL") == "sqlite:///app.db"


def test_unknown_env_vars_go_to_extra(monkeypatch: pytest.MonkeyPatch, env_file: Path) -> None:
    monkeypatch.setenv("TRELLIS_DATABASE_URL", "postgresql://db/app")
    _write(env_file, "TRELLIS_REDIS_URL=redis://cache")

    settings = Settings.load(env_file=env_file)

    assert settings.get("DATABASE_URL") == "postgresql://db/app"
    assert settings.get("REDIS_URL") == "redis://cache"


def test_get_is_case_insensitive_and_has_a_default() -> None:
    settings = Settings.load({"database_url": "sqlite://"}, env_file=None)

    assert settings.get("database_url") == "sqlite://"
    assert settings.get("DATABASE_URL") == "sqlite://"
    assert settings.get("MISSING") is None
    assert settings.get("MISSING", 40) == 40


def test_get_returns_core_settings_too() -> None:
    settings = Settings.load({"DEBUG": True}, env_file=None)

    assert settings.get("DEBUG") is True
    assert settings.get("max_body_size") == 16 * 1024 * 1024


# -- SECRET_KEY ----------------------------------------------------------------------------------


def test_require_secret_key_returns_the_configured_key() -> None:
    settings = Settings.load({"SECRET_KEY": "s3cret"}, env_file=None)

    assert settings.require_secret_key("Sessions") == "s3cret"


def test_require_secret_key_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRELLIS_SECRET_KEY", "from-env")

    assert Settings.load(env_file=None).require_secret_key("Sessions") == "from-env"


def test_missing_secret_key_outside_debug_says_how_to_set_it() -> None:
    settings = Settings.load(env_file=None)

    with pytest.raises(ConfigurationError) as info:
        settings.require_secret_key("Sessions")

    message = str(info.value)
    assert message.startswith("Sessions needs a SECRET_KEY")
    assert "TRELLIS_SECRET_KEY" in message
    assert "secrets.token_urlsafe" in message


def test_empty_secret_key_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRELLIS_SECRET_KEY", "")

    with pytest.raises(ConfigurationError, match="TRELLIS_SECRET_KEY"):
        Settings.load(env_file=None).require_secret_key("CSRF")


def test_missing_secret_key_in_debug_warns_and_generates_one() -> None:
    settings = Settings.load({"DEBUG": True}, env_file=None)

    with pytest.warns(RuntimeWarning, match="Sessions: no SECRET_KEY set"):
        key = settings.require_secret_key("Sessions")

    assert len(key) >= 32


def test_generated_debug_key_is_stable_and_warns_once() -> None:
    settings = Settings.load({"DEBUG": True}, env_file=None)
    with pytest.warns(RuntimeWarning):
        first = settings.require_secret_key("Sessions")

    # Warnings are errors in this suite: a second warning would fail here.
    assert settings.require_secret_key("CSRF") == first


def test_generated_debug_key_is_shared_within_the_process() -> None:
    with pytest.warns(RuntimeWarning):
        first = Settings.load({"DEBUG": True}, env_file=None).require_secret_key("Sessions")
        second = App(settings={"DEBUG": True}).settings.require_secret_key("Sessions")

    assert first == second
