"""Random tokens and their keyed hashes: what the database keeps of a secret it must recognise
but never reveal (session cookies, invitation links, recovery codes)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from housing_match.settings import get_settings


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def keyed_hash(purpose: str, value: str) -> str:
    # The tokens are random, so a keyed fast hash is enough (as for API keys); the purpose
    # keeps one kind of token from ever matching another kind's hash.
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
