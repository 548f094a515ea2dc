"""Accounts: sign-up, login, a profile form with validation errors, and flash messages.

Serve it with `trellis run examples/accounts/app.py` and open http://127.0.0.1:8000/.

Users live in a SQLite file (`instance/accounts.db` next to this file, or ACCOUNTS_DATABASE)
queried with `?` placeholders only; passwords are argon2 hashes. Sessions are signed cookies:
set TRELLIS_SECRET_KEY in production; without it a key is made once in `instance/secret_key`
so that every worker process shares it.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from trellis import App, RedirectResponse, Request, Template, render
from trellis.auth import LoginManager, UserMixin, hash_password, login, login_required, logout
from trellis.auth.passwords import verify_and_update, verify_password
from trellis.forms import Form
from trellis.security import rate_limit, safe_redirect_target
from trellis.sessions import flash

HERE = Path(__file__).resolve().parent
INSTANCE = HERE / "instance"
DATABASE = Path(os.environ.get("ACCOUNTS_DATABASE", INSTANCE / "accounts.db"))
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def secret_key() -> str:
    """TRELLIS_SECRET_KEY, else a key made once and kept in instance/secret_key."""
    if os.environ.get("TRELLIS_SECRET_KEY"):
        return os.environ["TRELLIS_SECRET_KEY"]
    INSTANCE.mkdir(exist_ok=True)
    path = INSTANCE / "secret_key"
    try:
        # O_EXCL: when several workers start at once, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    for _ in range(50):  # another worker may be writing it right now
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.1)
    raise RuntimeError(f"{path} is empty; delete it and start again.")


app = App(settings={"SECRET_KEY": secret_key()})
auth = LoginManager(app, login_url="/login")

# -- storage: plain sqlite3, bound parameters only --


def connect() -> sqlite3.Connection:
    connection = sqlite3.connect(DATABASE, timeout=10)
    connection.row_factory = sqlite3.Row
    return connection


def create_tables() -> None:
    DATABASE.parent.mkdir(parents=True, exist_ok=True)
    with connect() as connection:
        connection.execute(
            """CREATE TABLE IF NOT EXISTS users (
                id INTEGER PRIMARY KEY,
                email TEXT UNIQUE NOT NULL,
                password_hash TEXT NOT NULL,
                display_name TEXT NOT NULL DEFAULT '',
                website TEXT NOT NULL DEFAULT '',
                age INTEGER
            )"""
        )
    connection.close()


create_tables()


class User(UserMixin):
    def __init__(self, row: sqlite3.Row) -> None:
        self.id = row["id"]
        self.email = row["email"]
        self.password_hash = row["password_hash"]
        self.display_name = row["display_name"]
        self.website = row["website"]
        self.age = row["age"]

    @property
    def name(self) -> str:
        return self.display_name or self.email


def find_user(column: str, value: Any) -> User | None:
    assert column in ("id", "email")  # a column name is never taken from the request
    connection = connect()
    try:
        row = connection.execute(f"SELECT * FROM users WHERE {column} = ?", (value,)).fetchone()
    finally:
        connection.close()
    return User(row) if row else None


def execute(sql: str, parameters: tuple[Any, ...]) -> None:
    connection = connect()
    try:
        with connection:
            connection.execute(sql, parameters)
    finally:
        connection.close()


@auth.user_loader
def load_user(user_id: str) -> User | None:
    return find_user("id", int(user_id))


# -- forms --


class SignupForm(Form):
    email: str = Field(max_length=254)
    password: str = Field(min_length=8, max_length=200)
    confirm: str

    @field_validator("email")
    @classmethod
    def valid_email(cls, value: str) -> str:
        if not EMAIL.match(value.strip()):
            raise ValueError("Enter an email address like name@example.com.")
        return value.strip().lower()

    @field_validator("confirm")
    @classmethod
    def same_password(cls, value: str, info: ValidationInfo) -> str:
        if value != info.data.get("password"):
            raise ValueError("The two passwords do not match.")
        return value


class LoginForm(Form):
    email: str
    password: str
    remember: bool = False


class ProfileForm(Form):
    display_name: str = Field(min_length=1, max_length=100)
    website: str = Field("", max_length=200)
    age: int | None = Field(None, ge=13, le=130)

    @field_validator("website")
    @classmethod
    def web_address(cls, value: str) -> str:
        # SECURITY: only http(s) links, so a "javascript:" URL never becomes a link.
        if value and not re.match(r"^https?://[^\s/]+\S*$", value, re.IGNORECASE):
            raise ValueError("Enter a web address starting with http:// or https://.")
        return value


# -- routes --


@app.get("/favicon.ico")
def favicon() -> None:
    return None  # 204: no icon, and no 404 in the browser console


# Pages are templates under templates/ (autoescaped); they also see csrf_field(),
# current_user, get_flashed_messages() and csp_nonce() for the request.


@app.get("/")
def home() -> Template:
    return render("home.html")


@app.get("/signup")
def signup_page() -> Template:
    return render("signup.html", form=SignupForm.blank())


@app.post("/signup")
@rate_limit("20/hour")
def signup(request: Request) -> Any:
    form = SignupForm.bind(request)
    if form.is_valid and find_user("email", form.data.email) is not None:
        form.add_error("email", "An account with this email exists; log in instead.")
    if not form.is_valid:
        return render("signup.html", form=form), 422
    try:
        execute(
            "INSERT INTO users (email, password_hash) VALUES (?, ?)",
            (form.data.email, hash_password(form.data.password)),
        )
    except sqlite3.IntegrityError:  # the same email signed up a moment ago
        form.add_error("email", "An account with this email exists; log in instead.")
        return render("signup.html", form=form), 422
    flash(request, "Your account is ready. Log in to continue.", "success")
    return RedirectResponse("/login", 303)


@app.get("/login")
def login_page(next: str = "") -> Template:
    return render("login.html", form=LoginForm.blank(), next=next)


@app.post("/login")
@rate_limit("10/minute")
def do_login(request: Request, next: str = "") -> Any:
    form = LoginForm.bind(request)
    user = find_user("email", form.data.email.strip().lower()) if form.is_valid else None
    if not form.is_valid or user is None:
        # SECURITY: an unknown email costs a full hash check too (no user enumeration).
        verify_password(None, str(form.values.get("password", "")))
        return render("login.html", form=form, next=next, failed=True), 400
    ok, new_hash = verify_and_update(user.password_hash, form.data.password)
    if not ok:
        return render("login.html", form=form, next=next, failed=True), 400
    if new_hash is not None:
        execute("UPDATE users SET password_hash = ? WHERE id = ?", (new_hash, user.id))
    login(request, user, remember=form.data.remember)
    flash(request, f"Welcome back, {user.name}!", "success")
    return RedirectResponse(safe_redirect_target(next, "/account"), 303)


@app.post("/logout")
def do_logout(request: Request) -> RedirectResponse:
    logout(request)
    flash(request, "You have been logged out.", "info")
    return RedirectResponse("/", 303)


@app.get("/account")
@login_required
def account(request: Request) -> Template:
    user: User = auth.current_user(request)
    form = ProfileForm.blank(
        display_name=user.display_name, website=user.website, age=user.age or ""
    )
    return render("account.html", form=form)


@app.post("/account")
@login_required
def update_account(request: Request) -> Any:
    user: User = auth.current_user(request)
    form = ProfileForm.bind(request)
    if not form.is_valid:
        flash(request, "Please correct the errors below.", "error")
        return render("account.html", form=form), 422
    data = form.data
    execute(
        "UPDATE users SET display_name = ?, website = ?, age = ? WHERE id = ?",
        (data.display_name, data.website, data.age, user.id),
    )
    flash(request, "Profile saved.", "success")
    return RedirectResponse("/account", 303)
