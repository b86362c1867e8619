"""A simulator of the HCL Workload Automation REST API v2 (``resync-twsim``).

It serves a scenario (a plan described in JSON or YAML, see ``scenario.py``) over real HTTP with
the product's paths, field names and response shapes, so that the client, the agents' tools, the
tests and the demos talk to it exactly as they would talk to an engine. Entry points:

- ``resync-twsim --scenario demo`` / ``python -m resync_ext.tws.simulator`` (``__main__.py``);
- ``await start_simulator(...)`` in a running event loop (``server.py``);
- ``with run_in_thread(...) as sim:`` from synchronous code or another loop (``testing.py``).

Endpoints (all under ``/twsd/api/v2``; Basic or bearer credentials)::

    GET  /engine/info
    GET  /plan/job                       ?oql= &plan_filter= &limit= &offset= &plan_id=current
    GET  /plan/job/count                 ?plan_filter= (required) &grouping_filters=...
    GET  /plan/job/issues                ?oql= &plan_filter=     (the engine's own job issues)
    GET  /plan/job/joblog                ?oql= &contentOnly= &from_line= &to_line=  (text/plain)
    GET  /plan/job/run/{run_id}/joblog                                               (text/plain)
    GET  /plan/job/{job_id}
    GET  /plan/job/{job_id}/predecessors ?depth=      and /successors
    GET  /plan/jobstream                 ?oql= ...    and /plan/jobstream/count
    GET  /plan/jobstream/{jobstream_id}  (with jobs and dependencies)
    GET  /plan/jobstream/{jobstream_id}/predecessors ?depth=   and /successors
    GET  /plan/workstation   /plan/workstation/{workstation_id}
    GET  /plan/workstation[/{workstation_id}]/action/health-status ?oql= &max_object_affected=
    GET  /plan/resource      /plan/resource/{resource_id}
    PUT  /plan/job/{job_id}/action/{hold|release|release-all-dependencies|cancel|kill|
                                    confirm-succ|confirm-abend}
    PUT  /plan/job/run/{run_id}/action/rerun
    PUT  /plan/{job|jobstream|workstation}/action/{action}?oql=...&max_object_affected=N
    PUT  /plan/jobstream/{jobstream_id}/action/{hold|release|cancel|release-all-dependencies}
    PUT  /plan/workstation/{workstation_id}/action/{link|unlink|start|stop|update-limit|
                                                    update-fence}
    PUT  /plan/prompt/{prompt_id}/action/reply           body {"answer": true}
    PUT  /plan/resource/{resource_id}/action/update-quantity?quantity=N

Strict mode (the default, ``strict.py``) holds requests and answers to the document: 406 when
``Accept`` excludes what an endpoint serves, 400 without a required parameter, no ``null``;
``plan_id`` also names the scenario's ``previous_plan``.

Control plane (no credentials): ``/twsim/faults``, ``/twsim/calls``, ``/twsim/reset``,
``/twsim/scenario`` (see ``control.py``).
"""

from __future__ import annotations

from resync_ext.tws.simulator.errors import ScenarioError, SimulatorError
from resync_ext.tws.simulator.plan import Plan
from resync_ext.tws.simulator.scenario import ScenarioSpec, load_scenario
from resync_ext.tws.simulator.server import RunningSimulator, start_simulator, tls_context

__all__ = [
    "Plan",
    "RunningSimulator",
    "ScenarioError",
    "ScenarioSpec",
    "SimulatorError",
    "load_scenario",
    "start_simulator",
    "tls_context",
]
