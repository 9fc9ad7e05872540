"""Passwords: Argon2id hashes (pwdlib) and the rules a new password must meet.

At least ``password_min_length`` characters and not in the shipped list of common passwords;
no composition rules (NIST SP 800-63B: they make passwords harder to remember, not to guess).
"""

from __future__ import annotations

import gzip
import unicodedata
from functools import lru_cache
from importlib import resources

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from housing_match.settings import get_settings

MAX_PASSWORD_LENGTH = 256  # bounds the hashing work a request can ask for

_hasher = PasswordHash((Argon2Hasher(),))  # Argon2id with the library's current parameters


def _normalised(password: str) -> str:
    # The same password typed on another keyboard or IME must hash the same (full-width forms).
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    return _hasher.hash(_normalised(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    """Checks the password; with no hash (an account without a password, or none at all) it
    still spends one hash's time, so the answer's timing does not tell which accounts exist."""
    if password_hash is None:
        _hasher.hash(_normalised(password))
        return False
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    return _hasher.verify(_normalised(password), password_hash)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list (``data/common-passwords.txt.gz``; its origin is in ``data/README.md``)."""
    data = resources.files("housing_match.accounts").joinpath("data/common-passwords.txt.gz")
    with gzip.open(data.open("rb"), "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why this password is refused, in Japanese; None when it is acceptable."""
    normalised = _normalised(password)
    minimum = get_settings().password_min_length
    if len(normalised) < minimum:
        return f"パスワードは{minimum}文字以上にしてください。"
    if len(normalised) > MAX_PASSWORD_LENGTH:
        return f"パスワードは{MAX_PASSWORD_LENGTH}文字以内にしてください。"
    lowered = normalised.lower()
    if lowered in common_passwords():
        return "よく使われているパスワードのため使えません。別のパスワードにしてください。"
    if email and lowered in {email.lower(), email.split("@", 1)[0].lower()}:
        return "メールアドレスと同じパスワードは使えません。"
    if name and lowered == _normalised(name).lower():
        return "氏名と同じパスワードは使えません。"
    return None
