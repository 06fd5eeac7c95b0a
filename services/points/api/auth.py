"""Who is calling: a verified bearer JWT, or a mapped client certificate (mTLS), becomes a Caller.

The allowed signature algorithms are fixed here and chosen by the key, never by the token;
`exp`, `iss`, `aud` and `sub` are required, and a token may live at most `max_lifetime`. The caller of the current RPC is kept in a
contextvar for the length of the call, so the servicers can name who recorded a work event.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import time
import tomllib
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from points.api.errors import PermissionDenied, Unauthenticated
from points.domain.values import IDENTIFIER, TEXT_MAX
from points.storage.settings import SettingsError

log = logging.getLogger(__name__)

RECORDER, SUPERVISOR, PAYROLL, AUDITOR, COMMITTEE, ADMIN = ROLES = (
    "recorder",
    "supervisor",
    "payroll",
    "auditor",
    "committee",
    "admin",
)
SCOPED_ROLES = frozenset({RECORDER, SUPERVISOR})  # these act only for the outlets named in their credentials
ALGORITHMS = ("RS256", "ES256", "EdDSA")  # asymmetric only; each key allows exactly the one that fits it
REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub")
DEFAULT_ISSUER = "points-dev"
DEFAULT_AUDIENCE = "points"
DEFAULT_LEEWAY = 30.0  # seconds of clock skew allowed on exp, nbf and iat
DEFAULT_MAX_LIFETIME = 24 * 3600.0  # seconds from iat (or from now, without iat) to exp
MIN_RSA_BITS = 2048
MAX_TOKEN_CHARS = 8192


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: who (`subject`, recorded as `recorded_by`), their roles, and their outlets."""

    subject: str
    roles: frozenset[str]
    outlets: frozenset[str]
    via: str  # "token" or "certificate"


CALLER: ContextVar[Caller | None] = ContextVar("points_caller", default=None)
# The outlets the call being served is limited to: set by the access check when only a scoped
# role allows the call (see api/access.py); None when it is not scoped.
OUTLET_SCOPE: ContextVar[frozenset[str] | None] = ContextVar("points_outlet_scope", default=None)


def current_caller() -> Caller | None:
    """The caller of the RPC being served; None when the server runs without authentication."""
    return CALLER.get()


def outlet_scope() -> frozenset[str] | None:
    """The outlets the call being served may touch, or None when it is not limited to outlets."""
    return OUTLET_SCOPE.get()


def acting_caller(requested: str, field: str) -> str:
    """Who acts, for an audit field such as `recorded_by`: the authenticated caller's subject.

    The request's own value is kept only without authentication (development mode); with it,
    the request may leave the field empty or repeat its own subject, and anything else is
    PERMISSION_DENIED (reason `<FIELD>_NOT_CALLER`).
    """
    caller = CALLER.get()
    if caller is None:
        return requested
    if requested and requested != caller.subject:
        raise PermissionDenied(
            f"{field} is taken from your credentials; leave it empty or give your own subject",
            reason=f"{field.upper()}_NOT_CALLER",
        )
    return caller.subject


def recorded_by(requested: str) -> str:
    """Who recorded a work event (see acting_caller)."""
    return acting_caller(requested, "recorded_by")


def caller_of(subject: object, roles: object, outlets: object, *, via: str) -> Caller:
    """A Caller from claims (or a certificate mapping); ValueError says what is wrong with them."""
    if not isinstance(subject, str) or not subject or len(subject) > TEXT_MAX or not subject.isprintable():
        raise ValueError(f"sub must be 1-{TEXT_MAX} printable characters")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise ValueError(f"roles must be a non-empty list of role names ({', '.join(ROLES)})")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown roles {unknown}; known: {', '.join(ROLES)}")
    if outlets is None:
        outlets = []
    if not isinstance(outlets, list) or not all(isinstance(o, str) and IDENTIFIER.fullmatch(o) for o in outlets):
        raise ValueError("outlets must be a list of outlet ids")
    if SCOPED_ROLES & set(roles) and not outlets:
        raise ValueError("a recorder or supervisor needs the outlets they act for (claim `outlets`)")
    return Caller(subject=subject, roles=frozenset(roles), outlets=frozenset(outlets), via=via)


# -- bearer tokens ---------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationKey:
    public_key: Any  # a cryptography public key object
    algorithm: str  # the one algorithm this key verifies


def algorithm_for(public_key: Any, where: str) -> str:
    """The one allowed algorithm that fits a key; anything else (small RSA, other curves, secrets) is refused."""
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise SettingsError(f"{where}: RSA keys need at least {MIN_RSA_BITS} bits, this one has {public_key.key_size}")
        return "RS256"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise SettingsError(f"{where}: only P-256 EC keys (ES256) are accepted, not {public_key.curve.name}")
        return "ES256"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    raise SettingsError(f"{where}: unsupported key type {type(public_key).__name__}; use RSA, P-256 or Ed25519")


def key_id(public_key: Any) -> str:
    """A PEM key's id (`kid`): its RFC 7638 JWK thumbprint, SHA-256, base64url without padding."""
    if isinstance(public_key, rsa.RSAPublicKey):
        jwk, members = RSAAlgorithm.to_jwk(public_key, as_dict=True), ("e", "kty", "n")
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        jwk, members = ECAlgorithm.to_jwk(public_key, as_dict=True), ("crv", "kty", "x", "y")
    else:
        jwk, members = OKPAlgorithm.to_jwk(public_key, as_dict=True), ("crv", "kty", "x")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def load_pem_key(path: Path) -> dict[str | None, VerificationKey]:
    """One PEM public key, for tokens without a `kid` or with its key id (key_id: the JWK thumbprint)."""
    try:
        public_key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as e:
        raise SettingsError(f"cannot read a PEM public key from {path}: {e}") from None
    algorithm = algorithm_for(public_key, str(path))
    return {key_id(public_key): VerificationKey(public_key, algorithm)}


def load_jwks(path: Path) -> dict[str | None, VerificationKey]:
    """A JWKS file's public keys by `kid`; a symmetric (`oct`) key or an unfitting `alg` is refused."""
    try:
        document = json.loads(path.read_text())
        entries = document["keys"]
        if not isinstance(entries, list):
            raise TypeError("`keys` must be a list")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SettingsError(f"cannot read a JWKS (a JSON object with `keys`) from {path}: {e}") from None
    keys: dict[str | None, VerificationKey] = {}
    for i, entry in enumerate(entries):
        where = f"{path} key {i}"
        if not isinstance(entry, dict) or entry.get("kty") == "oct":
            raise SettingsError(f"{where}: only public RSA, EC or OKP keys are accepted")
        try:
            key = jwt.PyJWK(entry).key
        except jwt.PyJWTError as e:
            raise SettingsError(f"{where}: {e}") from None
        public_key = key.public_key() if hasattr(key, "private_bytes") else key
        algorithm = algorithm_for(public_key, where)
        if entry.get("alg", algorithm) != algorithm:
            raise SettingsError(f"{where}: alg {entry['alg']!r} does not fit the key (expected {algorithm})")
        kid = entry.get("kid")
        if (len(entries) > 1 and not isinstance(kid, str)) or kid in keys:
            raise SettingsError(f"{where}: in a JWKS of several keys each needs its own `kid`")
        keys[kid] = VerificationKey(public_key, algorithm)
    if not keys:
        raise SettingsError(f"{path} holds no keys")
    return keys


class TokenVerifier:
    """Verifies a bearer JWT against fixed keys, issuer and audience and returns its Caller."""

    def __init__(
        self,
        keys: Mapping[str | None, VerificationKey],
        *,
        issuer: str,
        audience: str,
        leeway: float = DEFAULT_LEEWAY,
        max_lifetime: float = DEFAULT_MAX_LIFETIME,
    ) -> None:
        self.keys = dict(keys)
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.max_lifetime = max_lifetime

    def verify(self, token: str) -> Caller:
        key = self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=[key.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the bearer token has expired", reason="TOKEN_EXPIRED") from None
        except jwt.PyJWTError as e:
            raise Unauthenticated(f"the bearer token was refused: {_short(e)}", reason="INVALID_TOKEN") from None
        self._check_lifetime(claims)
        try:
            return caller_of(claims.get("sub"), claims.get("roles"), claims.get("outlets"), via="token")
        except ValueError as e:
            raise Unauthenticated(f"the bearer token's claims were refused: {e}", reason="INVALID_TOKEN") from None

    def _check_lifetime(self, claims: Mapping[str, Any]) -> None:
        """exp - iat, or exp - now without iat (then with the leeway), at most max_lifetime."""
        issued = claims.get("iat")
        lifetime = claims["exp"] - (issued if issued is not None else time.time() + self.leeway)
        if lifetime > self.max_lifetime:
            raise Unauthenticated(
                f"the bearer token lives {lifetime:.0f}s, longer than this server accepts ({self.max_lifetime:.0f}s)",
                reason="TOKEN_LIFETIME_TOO_LONG",
            )

    def _key_for(self, token: str) -> VerificationKey:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise Unauthenticated("the bearer token is not a JWT", reason="INVALID_TOKEN") from None
        if kid is None and len(self.keys) == 1:
            return next(iter(self.keys.values()))
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthenticated("the bearer token names no key this server trusts (kid)", reason="INVALID_TOKEN")
        return key


def _short(error: Exception) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


# -- client certificates ---------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def certificate_identities(pem: bytes) -> tuple[str, ...]:
    """A client certificate's identities: its DNS subject alternative names only; its CN when it has no SAN at all.

    URI, email and IP SANs never stand for a mapped identity (a URI SAN equal to a mapped DNS
    name must not take its roles).
    """
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return ()
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        common = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return tuple(str(a.value) for a in common)
    return tuple(names.get_values_for_type(x509.DNSName))


class ClientIdentities:
    """mTLS: certificate identities (each DNS SAN, or the CN when there is no SAN) mapped to roles and outlets.

    The mapping is a TOML file of `[[client]]` tables with `identity`, `roles` and, for
    recorders and supervisors, `outlets`. A certificate the CA signed but the file does not
    name has no roles: it authenticates the connection, not a caller.
    """

    def __init__(self, callers: Mapping[str, Caller]) -> None:
        self.callers = dict(callers)

    @classmethod
    def load(cls, path: Path) -> ClientIdentities:
        try:
            document = tomllib.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise SettingsError(f"cannot read client identities from {path}: {e}") from None
        entries = document.get("client", [])
        if not isinstance(entries, list):
            raise SettingsError(f"{path}: write each client as a `[[client]]` table")
        callers: dict[str, Caller] = {}
        for i, entry in enumerate(entries):
            identity = entry.get("identity") if isinstance(entry, dict) else None
            if not isinstance(identity, str) or not identity:
                raise SettingsError(f"{path}: client {i} needs an `identity` (a SAN or CN of its certificate)")
            try:
                callers[identity] = caller_of(identity, entry.get("roles"), entry.get("outlets"), via="certificate")
            except ValueError as e:
                raise SettingsError(f"{path}: client {identity!r}: {e}") from None
        return cls(callers)

    def caller_for(self, context: grpc.ServicerContext) -> Caller | None:
        for pem in (context.auth_context() or {}).get("x509_pem_cert", ()):
            for identity in certificate_identities(pem):
                caller = self.callers.get(identity)
                if caller is not None:
                    return caller
        return None


# -- both --------------------------------------------------------------------------------


class Authenticator:
    """A bearer token, when one is sent, decides; otherwise a mapped client certificate; otherwise nobody."""

    def __init__(self, tokens: TokenVerifier | None, certificates: ClientIdentities | None) -> None:
        self.tokens = tokens
        self.certificates = certificates

    def authenticate(self, context: grpc.ServicerContext) -> Caller:
        token = bearer_token(context.invocation_metadata() or ())
        if token is not None:
            if self.tokens is None:
                raise Unauthenticated("this server accepts no bearer tokens: use your client certificate", reason="INVALID_TOKEN")
            return self.tokens.verify(token)
        if self.certificates is not None:
            caller = self.certificates.caller_for(context)
            if caller is not None:
                return caller
        raise Unauthenticated("send `authorization: Bearer <JWT>` metadata", reason="MISSING_TOKEN")


def bearer_token(metadata: Sequence[Any]) -> str | None:
    """The token of the one `authorization: Bearer ...` entry; None if there is none."""
    values = [value for key, value in metadata if key == "authorization"]
    if not values:
        return None
    if len(values) > 1 or not isinstance(values[0], str):
        raise Unauthenticated("send exactly one `authorization` entry", reason="INVALID_TOKEN")
    scheme, _, token = values[0].strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated("the `authorization` metadata must be `Bearer <JWT>`", reason="INVALID_TOKEN")
    return token


def authenticator_from(
    *,
    jwt_keys: Path | None,
    jwks: Path | None,
    issuer: str,
    audience: str,
    leeway: float,
    client_roles: Path | None,
    max_lifetime: float = DEFAULT_MAX_LIFETIME,
) -> Authenticator | None:
    """The Authenticator the settings ask for; None when they configure no authentication (development)."""
    if jwt_keys is not None and jwks is not None:
        raise SettingsError("give either --jwt-keys (a PEM public key) or --jwks (a JWKS file), not both")
    keys = load_pem_key(jwt_keys) if jwt_keys is not None else load_jwks(jwks) if jwks is not None else None
    tokens = TokenVerifier(keys, issuer=issuer, audience=audience, leeway=leeway, max_lifetime=max_lifetime) if keys else None
    certificates = ClientIdentities.load(client_roles) if client_roles is not None else None
    if tokens is None and certificates is None:
        return None
    return Authenticator(tokens, certificates)
