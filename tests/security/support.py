"""An app with logins that the attack tests share, and the constants they use."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher

from trellis import App, Request
from trellis.auth import LoginManager, UserMixin, login, login_required, logout
from trellis.responses import RedirectResponse
from trellis.security import get_csrf_token, safe_redirect_target

SECRET_KEY = "attack-suite-secret-key"


PASSWORD = "correct horse battery staple"
# PERF: argon2 is slow on purpose. Login tests swap in these cheap (still argon2id) parameters
# with the `fast_passwords` fixture; tests/security/test_passwords.py checks the real defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD_HASH = FAST_HASHER.hash(PASSWORD)


class User(UserMixin):
    def __init__(self, id: int, email: str, password_hash: str = PASSWORD_HASH) -> None:
        self.id = id
        self.email = email
        self.password_hash = password_hash


def build_login_app(settings: dict[str, Any] | None = None) -> App:
    """An app with one user (alice@example.com), a login form API and protected pages."""
    app = App(settings={"SECRET_KEY": SECRET_KEY, **(settings or {})})
    users = {"1": User(1, "alice@example.com")}
    auth = LoginManager(app, login_url="/login")

    @auth.user_loader
    def load_user(user_id: str) -> User | None:
        return users.get(user_id)

    @app.get("/token")
    def token(request: Request) -> dict[str, str]:
        return {"token": get_csrf_token(request)}

    @app.post("/login")
    def do_login(request: Request) -> Any:
        form = request.form()
        user = next((u for u in users.values() if u.email == form.get("email")), None)
        if user is None or not user.check_password(str(form.get("password", ""))):
            return {"error": "wrong email or password"}, 400
        login(request, user, remember=form.get("remember") == "on")
        return RedirectResponse(safe_redirect_target(request.query.get("next")), 303)

    @app.post("/logout")
    def do_logout(request: Request) -> Any:
        logout(request)
        return RedirectResponse("/", 303)

    @app.get("/me")
    @login_required
    def me(request: Request) -> dict[str, Any]:
        user: User = auth.current_user(request)
        return {"email": user.email}

    @app.get("/")
    def home() -> str:
        return "home"

    return app
