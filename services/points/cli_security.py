"""The security side of the `points` command: `serve` options for TLS, authentication and limits, and `points token`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from points.api.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER, ROLES
from points.api.limits import LimitSettings
from points.api.security import SecuritySettings
from points.storage.settings import SettingsError

LIMITS = LimitSettings()


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    """TLS, authentication, reflection and limits for `points serve`; each option also reads a POINTS_* variable."""
    tls = serve.add_argument_group("transport", "without TLS the server listens on loopback only, unless --insecure")
    tls.add_argument("--tls-cert", type=Path, default=_env_path("POINTS_TLS_CERT"), help="PEM certificate chain; env POINTS_TLS_CERT")
    tls.add_argument("--tls-key", type=Path, default=_env_path("POINTS_TLS_KEY"), help="PEM private key; env POINTS_TLS_KEY")
    tls.add_argument("--client-ca", type=Path, default=_env_path("POINTS_CLIENT_CA"), help="PEM CA bundle: mutual TLS, clients must present a certificate it signed; env POINTS_CLIENT_CA")
    tls.add_argument("--insecure", action="store_true", help="allow plaintext, or no authentication, on a non-loopback address (never in production)")
    tls.add_argument("--reflection", action=argparse.BooleanOptionalAction, default=None, help="server reflection (default: on without TLS, off with TLS)")

    auth = serve.add_argument_group("authentication", "without any of these the server runs in development mode: no authentication, loopback only")
    auth.add_argument("--jwt-keys", type=Path, default=_env_path("POINTS_JWT_KEYS"), help="PEM public key that signs bearer tokens (RS256, ES256 or EdDSA); env POINTS_JWT_KEYS")
    auth.add_argument("--jwks", type=Path, default=_env_path("POINTS_JWKS"), help="or a JWKS file of such keys, chosen by kid; env POINTS_JWKS")
    auth.add_argument("--jwt-issuer", default=os.environ.get("POINTS_JWT_ISSUER", DEFAULT_ISSUER), help=f"required `iss` (default {DEFAULT_ISSUER}); env POINTS_JWT_ISSUER")
    auth.add_argument("--jwt-audience", default=os.environ.get("POINTS_JWT_AUDIENCE", DEFAULT_AUDIENCE), help=f"required `aud` (default {DEFAULT_AUDIENCE}); env POINTS_JWT_AUDIENCE")
    auth.add_argument("--jwt-max-lifetime", type=_duration, default=os.environ.get("POINTS_JWT_MAX_LIFETIME", "24h"), help="longest a token may live, exp - iat (or exp - now without iat): 90s, 15m, 1h, 7d (default 24h); env POINTS_JWT_MAX_LIFETIME")
    auth.add_argument("--client-roles", type=Path, default=_env_path("POINTS_CLIENT_ROLES"), help="TOML mapping client certificate identities to roles and outlets (needs --client-ca); env POINTS_CLIENT_ROLES")

    limits = serve.add_argument_group("limits", "each refusal is RESOURCE_EXHAUSTED")
    limits.add_argument("--max-message-bytes", type=int, default=int(os.environ.get("POINTS_MAX_MESSAGE_BYTES", LIMITS.max_message_bytes)), help=f"largest request (default {LIMITS.max_message_bytes}); env POINTS_MAX_MESSAGE_BYTES")
    limits.add_argument("--max-concurrent-rpcs", type=int, default=int(os.environ.get("POINTS_MAX_CONCURRENT_RPCS", LIMITS.max_concurrent_rpcs)), help=f"calls admitted at once, all callers together; health checks aside (default {LIMITS.max_concurrent_rpcs}); env POINTS_MAX_CONCURRENT_RPCS")
    limits.add_argument("--max-calls-per-caller", type=int, default=_env_int("POINTS_MAX_CALLS_PER_CALLER"), help="calls one authenticated caller may have admitted at once (default: a quarter of --max-concurrent-rpcs); env POINTS_MAX_CALLS_PER_CALLER")
    limits.add_argument("--max-read-wait", type=float, default=float(os.environ.get("POINTS_MAX_READ_WAIT", LIMITS.max_read_wait)), help=f"seconds a read may wait for its min_position, whatever its deadline (default {LIMITS.max_read_wait:g}); env POINTS_MAX_READ_WAIT")
    limits.add_argument("--default-deadline", type=float, default=float(os.environ.get("POINTS_DEFAULT_DEADLINE", LIMITS.default_deadline)), help=f"seconds, for calls that set none (default {LIMITS.default_deadline:g}); env POINTS_DEFAULT_DEADLINE")
    limits.add_argument("--write-rate", type=float, default=float(os.environ.get("POINTS_WRITE_RATE", LIMITS.write_rate)), help=f"writes per second per authenticated caller (default {LIMITS.write_rate:g}); env POINTS_WRITE_RATE")
    limits.add_argument("--write-burst", type=int, default=int(os.environ.get("POINTS_WRITE_BURST", LIMITS.write_burst)), help=f"writes a caller may make at once (default {LIMITS.write_burst}, at least 1000); env POINTS_WRITE_BURST")


def _duration(text: str) -> float:
    from points.devtokens import parse_ttl

    try:
        return parse_ttl(text).total_seconds()
    except SettingsError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def security_settings(args: argparse.Namespace) -> SecuritySettings:
    return SecuritySettings(
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        client_ca=args.client_ca,
        insecure=args.insecure,
        jwt_keys=args.jwt_keys,
        jwks=args.jwks,
        jwt_issuer=args.jwt_issuer,
        jwt_audience=args.jwt_audience,
        jwt_max_lifetime=args.jwt_max_lifetime,
        client_roles=args.client_roles,
        reflection=args.reflection,
        limits=LimitSettings(
            max_message_bytes=args.max_message_bytes,
            max_concurrent_rpcs=args.max_concurrent_rpcs,
            max_calls_per_caller=args.max_calls_per_caller,
            max_read_wait=args.max_read_wait,
            default_deadline=args.default_deadline,
            write_rate=args.write_rate,
            write_burst=args.write_burst,
        ),
    )


def add_token_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    token = commands.add_parser("token", help="development tokens: a local key pair and JWTs signed with it (NOT for production)")
    token_commands = token.add_subparsers(dest="token_command", required=True)

    keygen = token_commands.add_parser("keygen", help="write private.pem and public.pem (serve with --jwt-keys public.pem)")
    keygen.add_argument("--out", type=Path, default=Path("."), help="directory for the two files (default: here)")
    keygen.add_argument("--type", dest="key_type", choices=("ed25519", "ec", "rsa"), default="ed25519", help="EdDSA (default), ES256 or RS256")

    mint = token_commands.add_parser("mint", help="print a JWT signed with a local private key")
    mint.add_argument("--key", type=Path, required=True, help="PEM private key (from `points token keygen`)")
    mint.add_argument("--sub", required=True, help="who the caller is; recorded as recorded_by of their work events")
    mint.add_argument("--role", dest="roles", action="append", choices=ROLES, required=True, help="a role; repeat for several")
    mint.add_argument("--outlet", dest="outlets", action="append", default=[], help="an outlet the caller acts for (required for recorder and supervisor); repeat for several")
    mint.add_argument("--ttl", default="1h", help="lifetime: 90s, 15m, 1h, 7d (default 1h)")
    mint.add_argument("--iss", default=DEFAULT_ISSUER, help=f"issuer (default {DEFAULT_ISSUER}, the server's default)")
    mint.add_argument("--aud", default=DEFAULT_AUDIENCE, help=f"audience (default {DEFAULT_AUDIENCE}, the server's default)")
    mint.add_argument("--kid", default=None, help="key id, when the server reads a JWKS")


def run_token(args: argparse.Namespace) -> int:
    from points.devtokens import generate_key_pair, mint_token, parse_ttl

    if args.token_command == "keygen":
        private_pem, public_pem = generate_key_pair(args.key_type)
        args.out.mkdir(parents=True, exist_ok=True)
        private_path, public_path = args.out / "private.pem", args.out / "public.pem"
        descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(private_pem)
        public_path.write_bytes(public_pem)
        print(f"points: wrote {private_path} (keep it private) and {public_path} (serve with --jwt-keys {public_path})")
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        from points.api.auth import key_id

        print(f"points: its key id, for tokens that carry a kid: {key_id(load_pem_public_key(public_pem))}")
        print("points: development keys, not for production", file=sys.stderr)
        return 0
    if args.token_command == "mint":
        try:
            private_pem = args.key.read_bytes()
        except OSError as e:
            raise SettingsError(f"cannot read {args.key}: {e}") from None
        print(
            mint_token(
                private_pem,
                subject=args.sub,
                roles=args.roles,
                outlets=args.outlets,
                ttl=parse_ttl(args.ttl),
                issuer=args.iss,
                audience=args.aud,
                kid=args.kid,
            )
        )
        return 0
    raise AssertionError(f"unhandled token command {args.token_command}")
