"""Signed session ids for the server-side backends, and how ids are stored."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from itsdangerous import BadSignature, Signer


class SessionIdSigner:
    """Signs session ids for the cookie, so forged ids are refused without a storage lookup."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("Server-side sessions need at least one signing key.")
        self._signer = Signer(list(keys), salt="trellis.session-id")

    def sign(self, session_id: str) -> str:
        return self._signer.sign(session_id).decode()

    def unsign(self, cookie_value: str) -> str | None:
        try:
            return self._signer.unsign(cookie_value).decode()
        except (BadSignature, UnicodeError):
            return None


def storage_key(session_id: str) -> str:
    """The id as stored: a SHA-256 digest, so read access to the store does not leak live ids."""
    return hashlib.sha256(session_id.encode()).hexdigest()
