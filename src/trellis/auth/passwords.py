"""Password hashing with argon2id (argon2-cffi): hash, verify, and rehash when parameters change.

Hashes are self-describing (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`), so stronger
parameters apply to new hashes at once and old ones are upgraded at the user's next login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "PasswordHasher",
    "hash_password",
    "needs_rehash",
    "verify_and_update",
    "verify_password",
]

_default_hasher = PasswordHasher()
_dummy_hashes: dict[int, str] = {}


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """An argon2id hash of `password` with a fresh random salt."""
    return (hasher or _default_hasher).hash(password)


def verify_password(
    password_hash: str | None, password: str, hasher: PasswordHasher | None = None
) -> bool:
    """True when `password` matches `password_hash`; False for a mismatch or a broken hash.

    Pass `None` for an unknown user: a dummy hash is verified instead, so "no such user" and
    "wrong password" take the same time and cannot be told apart.
    """
    hasher = hasher or _default_hasher
    if password_hash is None:
        dummy = _dummy_hashes.get(id(hasher))
        if dummy is None:
            dummy = _dummy_hashes[id(hasher)] = hasher.hash("trellis-dummy-password")
        password_hash = dummy
        password = password + "\x00-not-the-dummy"  # never matches, costs the same
    try:
        return bool(hasher.verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, hasher: PasswordHasher | None = None) -> bool:
    """True when the hash was made with other parameters than the hasher's current ones."""
    try:
        return bool((hasher or _default_hasher).check_needs_rehash(password_hash))
    except (InvalidHashError, ValueError):
        return True


def verify_and_update(
    password_hash: str | None, password: str, hasher: PasswordHasher | None = None
) -> tuple[bool, str | None]:
    """Verify, and when it matches but the parameters are outdated, give a new hash to store."""
    if not verify_password(password_hash, password, hasher):
        return False, None
    assert password_hash is not None  # verify_password(None, ...) is always False
    if needs_rehash(password_hash, hasher):
        return True, hash_password(password, hasher)
    return True, None
