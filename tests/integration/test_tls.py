"""HTTPS: a node started with --tls-cert/--tls-key answers over TLS (a throwaway self-signed certificate made
here); bad files stop it at start-up with a sentence naming the problem."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.cluster import REPO, Cluster, wait_for

pytestmark = pytest.mark.integration
x509 = pytest.importorskip("cryptography.x509", reason="the cryptography package makes the test certificate")

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

LOOPBACK = ipaddress.ip_address("127.0.0.1")


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "printfarm test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(LOOPBACK)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "node.crt", directory / "node.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def https_get(port: int, path: str, cafile: Path) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(cafile))
    with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", context=context, timeout=5) as reply:
        return reply.status, reply.read()


def test_a_tls_node_answers_over_https(cluster_factory, tmp_path) -> None:
    cert, key = self_signed(tmp_path)
    cluster: Cluster = cluster_factory(1, extra_args=("--tls-cert", str(cert), "--tls-key", str(key)))
    node = cluster.nodes[0]
    node.start(bootstrap=True)
    wait_for(lambda: https_get(node.http_port, "/raft/state", cert)[1] == b"Leader", 30, what="HTTPS")
    status, body = https_get(node.http_port, "/healthz", cert)
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    with pytest.raises(OSError):  # plain HTTP on the TLS port gets no HTTP answer
        urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}/healthz", timeout=5).read()
    assert "serving https://" in node.log_text()
    url = f"https://127.0.0.1:{node.http_port}"
    boot = subprocess.run([sys.executable, str(REPO / "cli.py"), "acl", "bootstrap", "--url", url,
                           "--ca-cert", str(cert)], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert boot.returncode == 0, boot.stderr
    secret = json.loads(boot.stdout)["token"]
    untrusted = subprocess.run([sys.executable, str(REPO / "cli.py"), "tokens", "list", "--url", url,
                                "--token", secret], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert untrusted.returncode != 0 and "cannot reach" in untrusted.stderr  # a self-signed cert, not trusted


@pytest.mark.parametrize("problem", ["missing", "garbage", "mismatch", "half"])
def test_bad_tls_files_stop_the_node_at_start_up(cluster_factory, tmp_path, problem) -> None:
    cert, key = self_signed(tmp_path)
    (tmp_path / "other").mkdir()
    other_cert, _ = self_signed(tmp_path / "other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    args, says = {
        "missing": (("--tls-cert", str(tmp_path / "nope.crt"), "--tls-key", str(key)), "no such file"),
        "garbage": (("--tls-cert", str(garbage), "--tls-key", str(key)), "not a PEM certificate"),
        "mismatch": (("--tls-cert", str(other_cert), "--tls-key", str(key)), "not a PEM certificate"),
        "half": (("--tls-cert", str(cert)), "go together"),
    }[problem]
    cluster: Cluster = cluster_factory(1, extra_args=args)
    node = cluster.nodes[0]
    node.start(bootstrap=True)
    code = wait_for(lambda: node.exit_code(), 30, what="the node to exit")
    assert code == 1
    assert says in node.log_text() and "cannot run" in node.log_text()


def test_a_connection_that_never_completes_its_tls_handshake_is_closed(cluster_factory, tmp_path) -> None:
    """--head-timeout also bounds the TLS handshake (asyncio's own default is 60 s)."""
    cert, key = self_signed(tmp_path)
    extra = ("--tls-cert", str(cert), "--tls-key", str(key), "--head-timeout", "1")
    cluster: Cluster = cluster_factory(1, extra_args=extra)
    node = cluster.nodes[0]
    node.start(bootstrap=True)
    wait_for(lambda: https_get(node.http_port, "/healthz", cert)[0] == 200, 30, what="HTTPS")
    with socket.create_connection(("127.0.0.1", node.http_port), timeout=30) as idle:
        try:
            closed = idle.recv(1) == b""
        except ConnectionResetError:
            closed = True
    assert closed  # well before the 30 s this socket would wait
    assert https_get(node.http_port, "/healthz", cert)[0] == 200
