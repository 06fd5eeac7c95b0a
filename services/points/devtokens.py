"""Development tokens: a local signing key pair and JWTs signed with it. Not for production.

In production tokens come from the organisation's identity provider; the server only
verifies them (api/auth.py). These helpers exist for `make run`, manual calls and tests.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from points.api.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER, algorithm_for, caller_of
from points.storage.settings import SettingsError

KEY_TYPES = ("ed25519", "ec", "rsa")
TTL = re.compile(r"^(\d+)([smhd]?)$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def generate_key_pair(key_type: str = "ed25519") -> tuple[bytes, bytes]:
    """(private PEM, public PEM) of a new key: Ed25519 (EdDSA), P-256 (ES256) or RSA 3072 (RS256)."""
    if key_type == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    elif key_type == "ec":
        private = ec.generate_private_key(ec.SECP256R1())  # type: ignore[assignment]
    elif key_type == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=3072)  # type: ignore[assignment]
    else:
        raise SettingsError(f"unknown key type {key_type!r}; choose one of {', '.join(KEY_TYPES)}")
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private_pem, public_pem


def parse_ttl(text: str) -> timedelta:
    """`90s`, `15m`, `1h`, `7d` or a number of seconds."""
    match = TTL.fullmatch(text.strip())
    if not match or int(match[1]) == 0:
        raise SettingsError(f"ttl {text!r} is not a duration like 90s, 15m, 1h or 7d")
    return timedelta(seconds=int(match[1]) * UNITS[match[2]])


def mint_token(
    private_pem: bytes,
    *,
    subject: str,
    roles: Sequence[str],
    outlets: Sequence[str] = (),
    ttl: timedelta = timedelta(hours=1),
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    kid: str | None = None,
    now: datetime | None = None,
) -> str:
    """A JWT the server accepts when it trusts the matching public key (claims are checked as the server would)."""
    try:
        caller_of(subject, list(roles), list(outlets), via="token")
    except ValueError as e:
        raise SettingsError(str(e)) from None
    try:
        private = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError) as e:
        raise SettingsError(f"cannot read an unencrypted PEM private key: {e}") from None
    algorithm = algorithm_for(private.public_key(), "the signing key")
    issued = now or datetime.now(timezone.utc)
    claims: dict[str, object] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": issued,
        "exp": issued + ttl,
        "roles": list(roles),
    }
    if outlets:
        claims["outlets"] = list(outlets)
    return jwt.encode(claims, private, algorithm=algorithm, headers={"kid": kid} if kid else None)  # type: ignore[arg-type]
