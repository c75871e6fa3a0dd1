"""Security profiles 2 and 3: the station talks TLS to the real server, with a client
certificate for profile 3. Certificates come from the openssl command line tool."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from websockets.exceptions import WebSocketException

from csms import bootstrap
from csms.app import create_app
from csms.runtime import uvicorn_options
from emulator import Station, StationSpec
from tests.builders import a_station

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl tool")
PASSWORD = "emulator-secret-01"
EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _issue(name: str, subject: str, cwd: Path, extensions: str) -> None:
    """A key and a certificate for `subject`, signed by the test CA."""
    _openssl("req", *EC_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=cwd)
    (cwd / f"{name}.ext").write_text(extensions)
    signed_by_ca = ["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2"]
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        *signed_by_ca,
        "-out",
        f"{name}.pem",
        "-extfile",
        f"{name}.ext",
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate for station TLS-3."""
    cwd = tmp_path_factory.mktemp("pki")
    _openssl(
        "req",
        "-x509",
        *EC_KEY,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=CA",
        cwd=cwd,
    )
    _issue("server", "/CN=127.0.0.1", cwd, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    _issue("client", "/CN=TLS-3", cwd, "extendedKeyUsage=clientAuth\n")
    return cwd


@contextlib.asynccontextmanager
async def tls_server(system: bootstrap.System, pki: Path, *, client_certs: bool) -> AsyncIterator[str]:
    """The real app behind TLS on a free port; yields its wss:// OCPP URL."""
    app = create_app(system.settings, system=system)
    options = {**uvicorn_options(system.settings), "port": 0, "lifespan": "off", "log_level": "warning"}
    tls = {"ssl_certfile": str(pki / "server.pem"), "ssl_keyfile": str(pki / "server.key")}
    if client_certs:
        tls |= {"ssl_ca_certs": str(pki / "ca.pem"), "ssl_cert_reqs": ssl.CERT_REQUIRED}
    server = uvicorn.Server(uvicorn.Config(app, **options, **tls))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"wss://127.0.0.1:{port}/ocpp"
    finally:
        server.should_exit = True
        await task


async def test_profile_2_tls_with_basic_auth(system: bootstrap.System, pki: Path) -> None:
    await a_station(system, "TLS-2", password=PASSWORD)
    spec = StationSpec("TLS-2", "2.0.1", password=PASSWORD, ca_file=str(pki / "ca.pem"))
    async with tls_server(system, pki, client_certs=False) as url:
        station = Station(spec, url)
        try:
            assert await station.connect() == "Accepted"
        finally:
            await station.close()
    assert spec.security_profile == 2


async def test_profile_3_needs_the_client_certificate(system: bootstrap.System, pki: Path) -> None:
    await a_station(system, "TLS-3")
    with_cert = StationSpec(
        "TLS-3",
        "1.6",
        ca_file=str(pki / "ca.pem"),
        client_cert=str(pki / "client.pem"),
        client_key=str(pki / "client.key"),
    )
    without = StationSpec("TLS-3", "1.6", ca_file=str(pki / "ca.pem"))
    async with tls_server(system, pki, client_certs=True) as url:
        station, stranger = Station(with_cert, url), Station(without, url)
        try:
            assert await station.connect() == "Accepted"
            # TLS 1.3 refuses the missing certificate after the handshake, so either can show.
            with pytest.raises((OSError, WebSocketException)):
                await stranger.connect()
        finally:
            await station.close()
            await stranger.close()
    assert with_cert.security_profile == 3
    assert station.state.config["SecurityProfile"] == "3"
