"""A report through a Jupyter server with TLS and a self-signed certificate, for real.

The server's listener serves TLS as ``ServerApp.certfile``/``keyfile`` make Jupyter serve it; the
report's kernel trusts only the certificate the runner names in its environment, so the run
completes only when the runner hands it over and the kernel's clients verify with it.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tornado.httpserver
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from traitlets.config import Config

from resync_ext.kernel.audit_data import ServerAPI
from resync_ext.kernel.client import ResyncClient
from resync_ext.kernel.errors import ReportDataError, ServerUnreachable

pytestmark = pytest.mark.slow

RUN_TIMEOUT_S = 100.0


def self_signed_cert(folder: Path, name: str) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and localhost and its key; return both."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """The server's self-signed certificate and key."""
    return self_signed_cert(tmp_path, "jupyter-server")


@pytest.fixture
def jp_server_config(jp_server_config: Config, tls_files: tuple[Path, Path]) -> Config:
    """The server configured for TLS as a user configures it."""
    cert, key = tls_files
    jp_server_config.ServerApp.certfile = str(cert)
    jp_server_config.ServerApp.keyfile = str(key)
    return jp_server_config


@pytest.fixture
def resync_config(resync_config: dict[str, Any], twsim_demo: Any) -> dict[str, Any]:
    return {**resync_config, "tws_url": twsim_demo.url}


@pytest.fixture
def http_server(
    jp_asyncio_loop: Any,
    http_server_port: Any,
    jp_web_app: Any,
    tls_files: tuple[Path, Path],
) -> Iterator[tornado.httpserver.HTTPServer]:
    """pytest-jupyter's listener, serving TLS with the certificate as Jupyter itself would."""
    cert, key = tls_files

    async def start() -> tornado.httpserver.HTTPServer:
        server = tornado.httpserver.HTTPServer(
            jp_web_app, ssl_options={"certfile": str(cert), "keyfile": str(key)}
        )
        server.add_socket(http_server_port[0])
        return server

    server = jp_asyncio_loop.run_until_complete(start())
    yield server
    server.stop()
    jp_asyncio_loop.run_until_complete(server.close_all_connections())


def health_by_report_client(url: str, token: str, verify: str | None = None) -> str:
    """Ask the server's health as the report notebook does (ServerAPI)."""
    api = ServerAPI(url, token, verify=verify)
    try:
        return str(api.get("resync/api/health")["status"])
    finally:
        api.close()


def health_by_panel_client(url: str, token: str, verify: str | None = None) -> str:
    """Ask the server's health as the panels do (ResyncClient)."""
    with ResyncClient(url, token, verify=verify) as client:
        return str(client.health()["status"])


async def test_a_report_verifies_a_self_signed_server_with_the_ca_from_its_environment(
    http_server: Any,
    reports_runner: Any,
    tls_files: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cert, _key = tls_files
    url, token = reports_runner.connection()
    assert url.startswith("https://127.0.0.1:")
    env = reports_runner._child_env()
    assert env["RESYNC_URL"] == url and env["RESYNC_SERVER_CA_BUNDLE"] == str(cert.resolve())

    # Both kernel-side clients verify the server: the system CAs or another certificate fail...
    other, _ = self_signed_cert(tmp_path, "someone-else")
    for verify in (None, str(other)):
        with pytest.raises(ReportDataError, match="CERTIFICATE_VERIFY_FAILED"):
            await asyncio.to_thread(health_by_report_client, url, token, verify)
        with pytest.raises(ServerUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
            await asyncio.to_thread(health_by_panel_client, url, token, verify)
    # ...the certificate named by RESYNC_SERVER_CA_BUNDLE passes.
    monkeypatch.setenv("RESYNC_SERVER_CA_BUNDLE", env["RESYNC_SERVER_CA_BUNDLE"])
    assert await asyncio.to_thread(health_by_report_client, url, token) in {"ok", "degraded"}
    assert await asyncio.to_thread(health_by_panel_client, url, token) in {"ok", "degraded"}
    monkeypatch.delenv("RESYNC_SERVER_CA_BUNDLE")

    started = await reports_runner.start()
    final = await asyncio.wait_for(reports_runner.wait(started["name"]), RUN_TIMEOUT_S)
    assert final["status"] == "done", final.get("error")
    html = (await reports_runner.get(started["name"], "html")).decode()
    assert "<strong>Server:</strong> Resync" in html  # the health call went through
    assert "jobs</strong> in the plan" in html  # and the report ran to its plan section
    # The CA travelled in the environment only, not in the notebook's parameters.
    notebook = (await reports_runner.get(started["name"], "ipynb")).decode()
    assert str(cert.resolve()) not in notebook and "RESYNC_SERVER_CA_BUNDLE" not in notebook
