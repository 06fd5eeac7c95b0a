"""Opening a channel to the points server: TLS or plaintext, a bearer token, and options that suit it."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import Any

import grpc

__all__ = ["DEFAULT_OPTIONS", "TokenSource", "connect"]

# A token, or a function returning the current one (called for every call, so it may refresh).
TokenSource = str | Callable[[], str]

VERSION = "0.1.0"

DEFAULT_OPTIONS: tuple[tuple[str, Any], ...] = (
    # A ping every 5 minutes while calls are open finds a connection a NAT or load balancer
    # dropped silently (a quiet WatchLedger stream would otherwise wait forever). Not more often:
    # a gRPC server that sets no keepalive policy, like points, answers pings more frequent than
    # 5 minutes on a quiet connection with GOAWAY (too_many_pings).
    ("grpc.keepalive_time_ms", 300_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 0),
    # Pages of up to 1,000 explained lines or audited events outgrow gRPC's 4 MiB default.
    ("grpc.max_receive_message_length", 32 * 1024 * 1024),
    # The client retries and resumes on its own, with a few short backoffs; a channel that waited
    # up to gRPC's default 120 s before reconnecting to a restarted server would fail them all.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5_000),
    ("grpc.primary_user_agent", f"points-client/{VERSION}"),
)


class _TokenPlugin(grpc.AuthMetadataPlugin):
    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    def __call__(self, context: grpc.AuthMetadataContext, callback: grpc.AuthMetadataPluginCallback) -> None:
        try:
            callback((("authorization", f"Bearer {self._token()}"),), None)
        except Exception as e:  # noqa: BLE001 - gRPC fails the call with it (UNAVAILABLE)
            callback((), e)


class _TokenInterceptor(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamStreamClientInterceptor,  # type: ignore[type-arg]
):
    """Adds the bearer token on a plaintext channel, where gRPC refuses call credentials."""

    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    def _with_token(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [*(details.metadata or ()), ("authorization", f"Bearer {self._token()}")]
        return _CallDetails(details.method, details.timeout, metadata, details.credentials, details.wait_for_ready, details.compression)

    def intercept_unary_unary(self, continuation: Any, details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation: Any, details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(self, continuation: Any, details: grpc.ClientCallDetails, requests: Any) -> Any:
        return continuation(self._with_token(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: grpc.ClientCallDetails, requests: Any) -> Any:
        return continuation(self._with_token(details), requests)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, method: str, timeout: float | None, metadata: Any, credentials: Any, wait_for_ready: Any, compression: Any) -> None:
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


def _is_local(address: str) -> bool:
    """True for a loopback or Unix-socket address ("127.0.0.1:50051", "[::1]:50051", "localhost:50051", "unix:/run/p.sock")."""
    if address.startswith(("unix:", "unix-abstract:")):
        return True
    target = address.removeprefix("dns:///").removeprefix("ipv4:").removeprefix("ipv6:")
    host = target[1 : target.index("]")] if target.startswith("[") else target.rsplit(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect(
    address: str,
    *,
    plaintext: bool = False,
    root_certificates: bytes | None = None,
    certificate_chain: bytes | None = None,
    private_key: bytes | None = None,
    token: TokenSource | None = None,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.Channel:
    """A channel to the server at `address` ("host:port").

    TLS by default, verified against `root_certificates` (PEM bytes; None: the system's roots);
    `certificate_chain` and `private_key` (PEM bytes) add a client certificate for mutual TLS.
    `plaintext=True` is for a development server on loopback (`make run`).

    `token` (a JWT, or a function returning the current one) is sent as `authorization: Bearer`
    on every call: as call credentials over TLS, by an interceptor over plaintext, which is
    allowed for loopback addresses only so that a token never crosses a network in clear.

    `options` are added to (and override) DEFAULT_OPTIONS.
    """
    if (certificate_chain is None) != (private_key is None):
        raise ValueError("a client certificate needs both certificate_chain and private_key")
    if plaintext and (root_certificates or certificate_chain):
        raise ValueError("certificates are for TLS; leave plaintext=False")
    source: Callable[[], str] | None = (lambda: token) if isinstance(token, str) else token
    merged = list({name: value for name, value in (*DEFAULT_OPTIONS, *options)}.items())
    if plaintext:
        if source is not None and not _is_local(address):
            raise ValueError(f"a token over plaintext would cross the network in clear: use TLS for {address}")
        channel = grpc.insecure_channel(address, options=merged)
        return grpc.intercept_channel(channel, _TokenInterceptor(source)) if source is not None else channel
    credentials = grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
    if source is not None:
        credentials = grpc.composite_channel_credentials(credentials, grpc.metadata_call_credentials(_TokenPlugin(source)))
    return grpc.secure_channel(address, credentials, options=merged)
