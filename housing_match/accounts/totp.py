"""TOTP (RFC 6238) with pyotp: secrets, enrolment QR codes as inline SVG (segno, no network),
verification that refuses a replayed code, and one-time recovery codes.

The server must read a TOTP secret to check a code, so it cannot be hashed: it is stored
sealed with AES-GCM under a key derived from the secret key, so a copy of the database alone
cannot produce codes. Changing the secret key therefore needs every user re-invited.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from housing_match.settings import get_settings

ISSUER = "housing-match"
# A code of the previous or the next 30-second step is accepted: phone clocks drift.
VALID_STEPS = (0, -1, 1)
RECOVERY_CODE_COUNT = 10
# Recovery codes avoid letters people confuse (0/O, 1/I/L) and are typed in two groups of five.
_RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline <svg> element, sized for a phone's camera."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, title="二要素認証の登録用QRコード"))


def matching_step(secret: str, code: str, *, now: datetime, after_step: int | None) -> int | None:
    """The time step whose code this is, if it is valid now and later than ``after_step``
    (the last step accepted for this user): a code already used, or older, is a replay."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for offset in VALID_STEPS:
        step = current + offset
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))  # about 50 bits
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise_recovery_code(code: str) -> str:
    raw = "".join(ch for ch in code.strip().lower() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}" if len(raw) == 10 else raw


_SEALED_PREFIX = "v1:"
_SEAL_CONTEXT = b"housing-match totp secret"


def _sealing_key() -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_CONTEXT).derive(
        get_settings().secret_key.encode()
    )
    return AESGCM(key)


def seal(secret: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = _sealing_key().encrypt(nonce, secret.encode(), _SEAL_CONTEXT)
    return _SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


class UnsealableSecret(Exception):
    """Sealed under another secret key: the user must be invited again."""


def unseal(stored: str) -> str:
    if not stored.startswith(_SEALED_PREFIX):
        raise UnsealableSecret
    raw = base64.urlsafe_b64decode(stored[len(_SEALED_PREFIX) :].encode())
    try:
        return _sealing_key().decrypt(raw[:12], raw[12:], _SEAL_CONTEXT).decode()
    except InvalidTag as exc:
        raise UnsealableSecret from exc
