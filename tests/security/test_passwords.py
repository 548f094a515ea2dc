"""Password attacks: hashes are argon2id with a salt, wrong passwords fail, timing leaks nothing."""

from __future__ import annotations

import statistics
import time

import pytest
from argon2 import PasswordHasher

from trellis.auth import hash_password, needs_rehash, verify_and_update, verify_password
from trellis.auth.login import UserMixin

WEAK = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def test_hashes_are_argon2id_with_the_default_parameters() -> None:
    hashed = hash_password("s3cret")

    assert hashed.startswith("$argon2id$v=19$")
    defaults = PasswordHasher()
    assert f"m={defaults.memory_cost},t={defaults.time_cost},p={defaults.parallelism}" in hashed


def test_the_same_password_hashes_differently_each_time() -> None:
    assert hash_password("s3cret", WEAK) != hash_password("s3cret", WEAK)


def test_the_password_itself_is_not_in_the_hash() -> None:
    assert "s3cret-password" not in hash_password("s3cret-password", WEAK)


def test_verify_accepts_the_right_password() -> None:
    assert verify_password(hash_password("s3cret", WEAK), "s3cret", WEAK)


@pytest.mark.parametrize("attempt", ["S3cret", "s3cret ", "", "s3cre", "s3cret\x00", "' OR '1'='1"])
def test_verify_rejects_wrong_passwords(attempt: str) -> None:
    assert not verify_password(hash_password("s3cret", WEAK), attempt, WEAK)


@pytest.mark.parametrize(
    "broken", ["", "plain-text", "$argon2id$v=19$m=1,t=1,p=1$AAAA$BBBB", "$2b$"]
)
def test_verify_with_a_broken_hash_is_false_not_an_error(broken: str) -> None:
    assert not verify_password(broken, "anything", WEAK)


def test_verify_for_an_unknown_user_is_false() -> None:
    assert not verify_password(None, "anything", WEAK)


def test_a_hash_with_old_parameters_needs_a_rehash() -> None:
    old = hash_password("s3cret", WEAK)

    assert needs_rehash(old)
    assert not needs_rehash(old, WEAK)


def test_verify_and_update_gives_a_new_hash_for_old_parameters() -> None:
    old = hash_password("s3cret", WEAK)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)

    ok, new_hash = verify_and_update(old, "s3cret", stronger)

    assert ok
    assert new_hash is not None and "m=2048,t=2" in new_hash
    assert verify_password(new_hash, "s3cret", stronger)


def test_verify_and_update_gives_nothing_for_a_wrong_password() -> None:
    assert verify_and_update(hash_password("s3cret", WEAK), "nope", WEAK) == (False, None)


def test_user_mixin_checks_and_upgrades_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    from trellis.auth import passwords

    class User(UserMixin):
        id = 7

    user = User()
    user.password_hash = hash_password("s3cret", WEAK)
    monkeypatch.setattr(
        passwords, "_default_hasher", PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    )

    assert not user.check_password("wrong")
    assert user.check_password("s3cret")
    assert "m=2048,t=2" in (user.password_hash or "")
    assert user.get_id() == "7"


def _median_seconds(action: object, rounds: int = 7) -> float:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def test_an_unknown_user_takes_as_long_as_a_wrong_password() -> None:
    hasher = PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1)
    known = hasher.hash("s3cret")
    verify_password(None, "warm-up", hasher)

    wrong_password = _median_seconds(lambda: verify_password(known, "guess", hasher))
    unknown_user = _median_seconds(lambda: verify_password(None, "guess", hasher))

    # Both do one full argon2 computation; without the dummy hash the unknown user would be
    # answered in microseconds, thousands of times faster.
    assert unknown_user > wrong_password / 3


def test_a_near_miss_takes_as_long_as_a_far_miss() -> None:
    hasher = PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1)
    hashed = hasher.hash("correct horse battery staple")

    near = _median_seconds(lambda: verify_password(hashed, "correct horse battery stapl", hasher))
    far = _median_seconds(lambda: verify_password(hashed, "x", hasher))

    # argon2 compares full digests in constant time: no early exit on the first wrong byte.
    assert 1 / 3 < near / far < 3
