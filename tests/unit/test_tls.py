"""The run's CA and the TURN server's certificate pass a strict TLS client (Python 3.13's
default context sets X509_STRICT), by name and by address; another CA does not."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest

from orchestrator.network.tls import TURN_NAME, Authority, new_authority

ADDRESS = "198.18.0.80"


def handshake(tmp_path: Path, issuer: Authority, trusted: Authority, server_name: str) -> None:
    certificate, key = issuer.issue(ADDRESS)
    (tmp_path / "cert.pem").write_bytes(certificate)
    (tmp_path / "key.pem").write_bytes(key)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    client_context = ssl.create_default_context(cadata=trusted.pem)
    client_context.verify_flags |= ssl.VERIFY_X509_STRICT
    near, far = socket.socketpair()

    def serve() -> None:
        try:
            with server_context.wrap_socket(far, server_side=True) as tls:
                tls.recv(1)
        except (OSError, ssl.SSLError):
            pass  # the client's side says what went wrong

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client_context.wrap_socket(near, server_hostname=server_name) as tls:
            tls.send(b"x")
    finally:
        near.close()
        thread.join(timeout=10)


@pytest.mark.parametrize("server_name", [TURN_NAME, ADDRESS])
def test_a_strict_client_accepts_the_turn_certificate(tmp_path: Path, server_name: str) -> None:
    authority = new_authority("test")
    handshake(tmp_path, authority, authority, server_name)


def test_a_client_trusting_another_ca_refuses_it(tmp_path: Path) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(tmp_path, new_authority("test"), new_authority("other"), TURN_NAME)
