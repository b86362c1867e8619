"""Fixtures for the TWS tests: a real HWA REST API v2 simulator on loopback.

Note for whoever tests against TWS (client, tools, handlers)
-------------------------------------------------------------
``twsim`` is a running simulator (``resync_ext.tws.simulator``) serving the bundled ``demo``
scenario over real HTTP on 127.0.0.1 and a free port, in a background thread with its own event
loop, so it works from sync tests, pytest-asyncio tests and pytest-jupyter handler tests alike.
One server is shared by the session; before each test its plan is reloaded and its faults and
call log are cleared, so tests may run actions and set faults freely.

    def test_x(twsim):
        twsim.url                 # "http://127.0.0.1:<port>" (paths start with /twsd/api/v2)
        twsim.user, twsim.password, twsim.auth      # "demo", "demo", ("demo", "demo")
        twsim.api_key             # bearer key accepted: "Authorization: Bearer <key>"
        twsim.set_faults(latency_ms=300, error_rate=1.0, error_status=503, down=True,
                         auth_fail=True)            # any subset; down = connection dropped
        twsim.clear_faults()
        twsim.calls()    # [{"method", "path", "query", "params", "auth", "time", "status"}]
        twsim.clear_calls()
        twsim.plan                # the in-memory Plan (read under twsim.plan.lock)

The simulator is strict (``strict.py``), as an engine enforcing REST API v2's document: 406 when
``Accept`` excludes what an endpoint serves (job logs are ``text/plain``), 400 without a required
parameter (``plan_filter`` on the counts), no ``null`` anywhere. ``set_faults(error_rate=1,
error_status=400, error_paths=["/plan/job/count"])`` fails only the endpoints named.
``/plan/job/issues``, ``/plan/workstation[/{id}]/action/health-status`` are served too, and the
demo's previous plan under ``GET /twsim/scenario``'s ``previousPlanId`` (``plan_id=``).
For the lenient simulator, ``run_in_thread("demo", strict=False)``.

The same control is available over HTTP without credentials: ``PUT/GET/DELETE /twsim/faults``,
``GET/DELETE /twsim/calls``, ``POST /twsim/reset``, ``GET /twsim/scenario``.

Endpoints (Basic ``demo``/``demo`` or the bearer key): ``GET /twsd/api/v2/engine/info``,
``/plan/job`` (``oql``, ``plan_filter``, ``limit``, ``offset``, ``plan_id=current``; answer
``{count, results, next, previous}``; header ``Include-Count: false`` leaves ``count`` out),
``/plan/job/{id}`` (with ``dependencies``), ``/plan/job/count?grouping_filters=status,workstation``,
``/plan/job/run/{run_id}/joblog`` and ``/plan/job/joblog?oql=`` (text/plain; ``contentOnly``,
``from_line``, ``to_line``), ``/plan/job/{id}/predecessors|successors?depth=``,
``/plan/jobstream`` (+ ``/count``, ``/{id}`` with ``jobs`` and ``dependencies``,
``/{id}/predecessors|successors``), ``/plan/workstation[/{id}]``, ``/plan/resource[/{id}]``.
Actions (PUT, ``Content-Type: application/json``): ``/plan/job/{id}/action/hold|release|cancel|
kill|confirm-succ|confirm-abend|release-all-dependencies``, ``/plan/job/run/{run_id}/action/rerun``,
``/plan/{job|jobstream|workstation}/action/{action}?oql=``, workstation ``link|unlink|start|stop|
update-limit?limit=|update-fence?priority=``, ``/plan/prompt/{id}/action/reply``.
Errors: JSON ``{"exceptionName", "messages": [...], "message", "code"}``; 400 bad OQL or
parameters, 401 bad credentials, 404 unknown ids, 415 an action without JSON content type.

Demo facts tests can rely on: ``DAILY_PAY.PAYROLL_EXTRACT`` ABEND rc 12 with ORA-01017 in its
log (and a password in a connect string, for masking tests), successors HOLD waiting for it;
``ETL_NIGHTLY.SALES_STAGE`` ABEND disk full; ``FT_BANK_IN.IMPORT_STMT`` ABEND file not found;
``HR_SYNC.AD_EXPORT`` FAIL (AWSBHT001E/AWSBDW009E); ``AGT_WIN02`` unlinked with 3 jobs
READY_WAITING_FOR_AGENT; ``AGT_LNX03`` at its limit (2) with 2 READY_WAITING_FOR_LIMIT;
``AGT_BKP01`` fence 40 with 3 jobs in FENCE; ``DB_SLOTS`` exhausted (CUSTOMER_MERGE waits);
``DWH_NIGHTLY.FACT_SALES_LOAD`` critical, EXEC, past its deadline and max duration;
``FIN_MONTHEND.CLOSE_PERIOD`` waits for prompt MONTHEND_OK. The clock is frozen at
2026-11-24T07:30:00Z. ``bulk`` (``twsim_bulk``) has 52 000 generated jobs.

For a simulator with other options (scenario, TLS, credentials), call
``resync_ext.tws.simulator.testing.run_in_thread(scenario, certfile=..., keyfile=..., ...)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from resync_ext.tws.simulator.testing import ThreadedSimulator, start_in_thread

TWSIM_API_KEY = "twsim-test-api-key-0123456789"


@pytest.fixture(scope="session")
def _twsim_server() -> Iterator[ThreadedSimulator]:
    sim = start_in_thread("demo", api_key=TWSIM_API_KEY)
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def twsim(_twsim_server: ThreadedSimulator) -> ThreadedSimulator:
    """Return the shared demo simulator, reset (plan, faults, calls) for this test."""
    _twsim_server.reset()
    return _twsim_server


@pytest.fixture(scope="session")
def twsim_bulk() -> Iterator[ThreadedSimulator]:
    """Return a simulator serving the 52 000-job ``bulk`` scenario (built once; do not mutate)."""
    sim = start_in_thread("bulk", api_key=TWSIM_API_KEY)
    try:
        yield sim
    finally:
        sim.stop()
