"""Control plane: faults, call log, reset; the command line; HTTPS."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import trustme

from resync_ext.tws.simulator.testing import ThreadedSimulator, run_in_thread

INFO = "/twsd/api/v2/engine/info"


def test_faults_validate_and_update_partially(twsim: ThreadedSimulator) -> None:
    url = f"{twsim.url}/twsim/faults"
    assert httpx.get(url).json() == {
        "latency_ms": 0, "error_rate": 0.0, "error_status": 500, "down": False, "auth_fail": False,
        "error_paths": [],
    }  # fmt: skip
    r = httpx.put(url, json={"error_rate": 0.5})
    assert r.status_code == 200 and r.json()["error_rate"] == 0.5 and r.json()["latency_ms"] == 0
    for bad in ({"error_rate": 2}, {"latency_ms": -1}, {"down": "yes"}, {"colour": 1},
                {"error_status": 200}, {"latency_ms": 1.5}):  # fmt: skip
        r = httpx.put(url, json=bad)
        assert r.status_code == 400, bad
        assert r.json()["message"]
    assert httpx.put(url, content=b"{not json").status_code == 400
    assert httpx.get(url).json()["error_rate"] == 0.5
    assert httpx.delete(url).json()["error_rate"] == 0.0


def test_injected_errors_and_auth_failure(twsim: ThreadedSimulator) -> None:
    twsim.set_faults(error_rate=1.0, error_status=503)
    r = httpx.get(f"{twsim.url}{INFO}", auth=twsim.auth)
    assert r.status_code == 503 and r.json()["code"] == 503
    twsim.set_faults(error_rate=0.0, auth_fail=True)
    assert httpx.get(f"{twsim.url}{INFO}", auth=twsim.auth).status_code == 401
    twsim.clear_faults()
    assert httpx.get(f"{twsim.url}{INFO}", auth=twsim.auth).status_code == 200


def test_error_rate_is_a_rate(twsim: ThreadedSimulator) -> None:
    twsim.set_faults(error_rate=0.5, error_status=502)
    with httpx.Client(base_url=twsim.url, auth=twsim.auth) as c:
        codes = [c.get(INFO).status_code for _ in range(80)]
    assert set(codes) == {200, 502}
    assert 15 < codes.count(502) < 65


def test_down_drops_the_connection(twsim: ThreadedSimulator) -> None:
    twsim.set_faults(down=True)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{twsim.url}{INFO}", auth=twsim.auth, timeout=5)
    assert httpx.get(f"{twsim.url}/twsim/faults").json()["down"] is True  # control plane stays up
    twsim.set_faults(down=False)
    assert httpx.get(f"{twsim.url}{INFO}", auth=twsim.auth).status_code == 200


def test_latency_is_async(twsim: ThreadedSimulator) -> None:
    twsim.set_faults(latency_ms=400)
    with httpx.Client(base_url=twsim.url, auth=twsim.auth) as c:
        start = time.perf_counter()
        assert c.get(INFO).status_code == 200
        assert time.perf_counter() - start >= 0.38
        # the control plane answers at once while an HWA call sleeps
        start = time.perf_counter()
        assert httpx.get(f"{twsim.url}/twsim/faults").status_code == 200
        assert time.perf_counter() - start < 0.3


def test_call_log_records_hwa_calls(twsim: ThreadedSimulator) -> None:
    with httpx.Client(base_url=twsim.url, auth=twsim.auth) as c:
        c.get("/twsd/api/v2/plan/job", params={"oql": "status = 'ABEND'", "limit": 5})
        c.put("/twsd/api/v2/plan/job/nope/action/hold", json={})
    httpx.get(f"{twsim.url}{INFO}")  # no credentials
    calls = httpx.get(f"{twsim.url}/twsim/calls").json()["calls"]
    assert [(c["method"], c["path"], c["status"]) for c in calls] == [
        ("GET", "/twsd/api/v2/plan/job", 200),
        ("PUT", "/twsd/api/v2/plan/job/nope/action/hold", 404),
        ("GET", INFO, 401),
    ]
    assert calls[0]["params"] == {"oql": "status = 'ABEND'", "limit": "5"}
    assert calls[0]["auth"] == "basic" and calls[2]["auth"] is None
    assert calls[0]["time"] <= calls[1]["time"]
    assert httpx.delete(f"{twsim.url}/twsim/calls").status_code == 204
    assert twsim.calls() == []


def test_reset_and_scenario_over_http(twsim: ThreadedSimulator) -> None:
    info = httpx.get(f"{twsim.url}/twsim/scenario").json()
    assert info["name"] == "demo" and info["now"] == "2026-11-24T07:30:00Z"
    twsim.set_faults(latency_ms=5)
    assert httpx.post(f"{twsim.url}/twsim/reset").json()["jobs"] == info["jobs"]
    assert twsim.faults()["latency_ms"] == 0


def test_https_with_a_private_ca(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, cafile = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    for blob in cert.cert_chain_pems[1:]:
        blob.write_to_path(str(certfile), append=True)
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(cafile))
    scenario = {"job_streams": [{"name": "S", "sched_time": "2026-01-01T00:00:00Z",
                                 "jobs": [{"name": "J"}]}]}  # fmt: skip
    with run_in_thread(scenario, certfile=certfile, keyfile=keyfile) as sim:
        assert sim.url.startswith("https://")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{sim.url}{INFO}", auth=sim.auth)  # verification on, CA unknown
        trust = ssl.create_default_context(cafile=str(cafile))
        r = httpx.get(f"{sim.url}{INFO}", auth=sim.auth, verify=trust)
        assert r.status_code == 200


@pytest.mark.timeout(60)
def test_command_line_serves_and_stops_on_sigterm() -> None:
    env = {**os.environ, "TWSIM_PORT": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "resync_ext.tws.simulator", "--scenario", "demo",
         "--user", "ops", "--password", "s3cret", "--now", "2026-11-24T09:00:00Z"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "resync-twsim" in line and "2026-11-24T09:00:00Z" in line, line
        base = line.split(" at ", 1)[1].split("/twsd", 1)[0]
        assert httpx.get(f"{base}{INFO}", auth=("ops", "s3cret")).status_code == 200
        assert httpx.get(f"{base}{INFO}", auth=("demo", "demo")).status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_command_line_rejects_an_unknown_scenario() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "resync_ext.tws.simulator", "--scenario", "no-such-thing"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "no scenario named" in proc.stderr and "demo" in proc.stderr
