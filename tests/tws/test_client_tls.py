"""TLS against the simulator served over HTTPS with a private test CA (trustme)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from resync_ext.tws.client import TWSClient
from resync_ext.tws.errors import TWSUnavailable
from resync_ext.tws.simulator.testing import ThreadedSimulator, run_in_thread


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    ca = trustme.CA()
    folder = tmp_path_factory.mktemp("pki")
    server = folder / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(server))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    return {"server": server, "ca": folder / "ca.pem"}


@pytest.fixture(scope="module")
def https_sim(pki: dict[str, Path]) -> Iterator[ThreadedSimulator]:
    with run_in_thread("demo", certfile=pki["server"]) as sim:
        yield sim


def _client(sim: ThreadedSimulator, **kw: object) -> TWSClient:
    return TWSClient(sim.url, user=sim.user, password=sim.password, **kw)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_private_ca_is_refused_by_default(https_sim: ThreadedSimulator) -> None:
    assert https_sim.url.startswith("https://")
    https_sim.clear_calls()
    async with _client(https_sim) as c:
        with pytest.raises(TWSUnavailable, match="not trusted"):
            await c.engine_info()
        assert c.stats()["requests"] == 1  # a certificate problem is not retried
    assert https_sim.calls() == []  # nothing got past the handshake


@pytest.mark.asyncio
async def test_ca_bundle_makes_the_engine_trusted(
    https_sim: ThreadedSimulator, pki: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="resync_ext.tws"):
        async with _client(https_sim, ca_bundle=str(pki["ca"])) as c:
            assert (await c.engine_info()).display_version
            assert len((await c.list_jobs("name = 'PAYROLL_EXTRACT'")).items) == 1
    assert not [r for r in caplog.records if "verification" in r.getMessage()]


@pytest.mark.asyncio
async def test_turning_verification_off_works_but_warns(
    https_sim: ThreadedSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="resync_ext.tws"):
        client = _client(https_sim, verify=False)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and "verification is OFF" in warnings[0].getMessage()
    async with client as c:
        assert (await c.engine_info()).display_version


def test_unreadable_ca_bundle_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CA bundle"):
        TWSClient("https://127.0.0.1:1", ca_bundle=str(tmp_path / "missing.pem"))
