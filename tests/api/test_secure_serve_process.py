"""`points serve` with security options, and `points token`, as real processes."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from points.v1 import directory_pb2
from tests.api.test_process import free_port, run_points, serving
from tests.api.rich_status import assert_rejected


def test_a_plaintext_server_off_loopback_refuses_to_start(tmp_path: Path) -> None:
    store = tmp_path / "never.db"

    result = run_points("serve", "--host", "0.0.0.0", "--port", str(free_port()), "--database", f"sqlite:///{store}")

    assert (result.returncode, "Traceback" in result.stderr) == (2, False)
    assert "refusing to serve plaintext on 0.0.0.0" in result.stderr and "--insecure" in result.stderr
    assert not store.exists()  # refused before the store was opened


def test_a_tls_server_off_loopback_without_authentication_refuses_to_start(tmp_path: Path) -> None:
    result = run_points(
        "serve", "--host", "0.0.0.0", "--port", str(free_port()), "--database", f"sqlite:///{tmp_path}/never.db",
        "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem"),
    )

    assert result.returncode == 2
    assert "without authentication" in result.stderr


def test_minted_tokens_open_a_server_that_trusts_the_keygen_key(tmp_path: Path) -> None:
    keygen = run_points("token", "keygen", "--out", str(tmp_path / "keys"))
    assert keygen.returncode == 0, keygen.stderr
    minted = run_points("token", "mint", "--key", str(tmp_path / "keys" / "private.pem"), "--sub", "alice", "--role", "admin", "--ttl", "10m")
    assert minted.returncode == 0, minted.stderr
    admin = (("authorization", f"Bearer {minted.stdout.strip()}"),)
    outlet = directory_pb2.RegisterOutletRequest(outlet_id="north-01", outlet_class=directory_pb2.OUTLET_CLASS_A, region="north")

    with serving(f"sqlite:///{tmp_path}/points.db", tmp_path, "--jwt-keys", str(tmp_path / "keys" / "public.pem")) as served:
        registered = served.directory.RegisterOutlet(outlet, metadata=admin, timeout=10)
        with pytest.raises(grpc.RpcError) as caught:
            served.directory.RegisterOutlet(outlet, timeout=10)
        assert served.terminate() == 0

    assert registered.outlet.outlet_id == "north-01"
    assert_rejected(caught.value, grpc.StatusCode.UNAUTHENTICATED, "MISSING_TOKEN")
    assert "development mode" not in served.log.read_text()


def test_development_mode_says_so(tmp_path: Path) -> None:
    with serving(f"sqlite:///{tmp_path}/points.db", tmp_path) as served:
        assert served.terminate() == 0

    assert "WARNING: development mode: no authentication" in served.log.read_text()


def test_mint_refuses_a_recorder_without_outlets(tmp_path: Path) -> None:
    run_points("token", "keygen", "--out", str(tmp_path))

    result = run_points("token", "mint", "--key", str(tmp_path / "private.pem"), "--sub", "bob", "--role", "recorder")

    assert result.returncode == 2
    assert "needs the outlets" in result.stderr
    assert oct((tmp_path / "private.pem").stat().st_mode & 0o777) == "0o600"
