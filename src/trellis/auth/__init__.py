"""Authentication: argon2 password hashing and session logins (`login`, `logout`,
`current_user`, `login_required`)."""

from .login import (
    LoginManager,
    UserMixin,
    current_user,
    login,
    login_required,
    logout,
)
from .passwords import hash_password, needs_rehash, verify_and_update, verify_password

__all__ = [
    "LoginManager",
    "UserMixin",
    "current_user",
    "hash_password",
    "login",
    "login_required",
    "logout",
    "needs_rehash",
    "verify_and_update",
    "verify_password",
]
