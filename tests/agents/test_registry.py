"""The agents registry: loading, errors, the last good configuration, hot reload, listeners."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from resync_ext.agents.errors import AgentConfigError, AgentNotFound
from resync_ext.agents.registry import AgentRegistry
from tests.agents.conftest import ROOT

TOOLS = ["get_job", "get_job_log", "lookup_known_issue"]


def _write(path: Path, data: Any) -> None:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    # Bump the mtime past the filesystem's resolution so a change is always visible.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def _config(*agents: dict[str, Any]) -> dict[str, Any]:
    return {
        "agents": list(agents),
        "judge": {"program": str(ROOT / "agents" / "judge.py") + ":Judge"},
    }


def _agent(agent_id: str = "t1", **extra: Any) -> dict[str, Any]:
    return {
        "id": agent_id,
        "name": "T",
        "description": "d",
        "program": str(ROOT / "agents" / "troubleshooter.py") + ":Troubleshooter",
        "tools": TOOLS,
        "model": None,
        **extra,
    }


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "runtime.json"
    path.parent.mkdir()
    _write(path, _config(_agent()))
    return path


def test_project_config_lists_agents(registry: AgentRegistry) -> None:
    agents = registry.list()
    assert [a["id"] for a in agents] == ["auto", "tws-troubleshooter", "tws-analyzer"]
    assert set(agents[1]) == {"id", "name", "description", "tools", "model"}
    assert "get_job_log" in agents[1]["tools"] and agents[1]["model"] is None


def test_unknown_agent_is_404(registry: AgentRegistry) -> None:
    with pytest.raises(AgentNotFound) as err:
        registry.get("nope")
    assert err.value.http_status == 404 and "tws-troubleshooter" in err.value.message


def test_unknown_tool_is_a_clear_error(cfg: Path) -> None:
    _write(cfg, _config(_agent(tools=["get_job", "rerun_job"])))
    with pytest.raises(AgentConfigError, match=r"unknown tools \['rerun_job'\]"):
        AgentRegistry(cfg).load()


def test_unknown_program_is_a_clear_error(cfg: Path) -> None:
    _write(cfg, _config(_agent(program="agents/missing.py:Nope")))
    with pytest.raises(AgentConfigError, match=r"missing\.py"):
        AgentRegistry(cfg).load()
    _write(cfg, _config(_agent(program=str(ROOT / "agents" / "judge.py") + ":NoSuchClass")))
    with pytest.raises(AgentConfigError, match="no class NoSuchClass"):
        AgentRegistry(cfg).load()


def test_module_class_programs_load_from_installed_modules(
    cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_agents_pkg.py").write_text(
        "import dspy\nclass Echo(dspy.Module):\n"
        "    def __init__(self, tools, max_iters=8, mode='evidence'):\n"
        "        super().__init__()\n        self.tools = tools\n"
        "    def answer_predictors(self):\n        return []\n"
        "    def learn(self, examples):\n        pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _write(cfg, _config(_agent(program="my_agents_pkg:Echo")))
    reg = AgentRegistry(cfg)
    reg.load()
    program = reg.create("t1", {t: object() for t in TOOLS})
    assert type(program).__name__ == "Echo" and sorted(program.tools) == sorted(TOOLS)


def test_a_program_without_what_the_server_calls_is_refused_at_load(
    cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without answer_predictors (the runner streams from them) and learn (the demo learner
    # teaches it), the first turn or approval would fail; the configuration says so at once.
    (tmp_path / "bare_agents_pkg.py").write_text(
        "import dspy\nclass Bare(dspy.Module):\n"
        "    def __init__(self, tools, max_iters=8, mode='evidence'):\n"
        "        super().__init__()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _write(cfg, _config(_agent(program="bare_agents_pkg:Bare")))
    with pytest.raises(AgentConfigError) as exc:
        AgentRegistry(cfg).load()
    assert "'bare_agents_pkg:Bare' lacks ['answer_predictors', 'learn']" in exc.value.message


def test_broken_file_keeps_last_good_configuration(
    cfg: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reg = AgentRegistry(cfg)
    reg.load()
    _write(cfg, '{"agents": [ {"id": "t1",')
    with caplog.at_level(logging.ERROR):
        assert reg.reload_if_changed() is False
    assert [a["id"] for a in reg.list()] == ["t1"]
    assert reg.last_error and "runtime.json" in reg.last_error
    assert "keeping the last good configuration" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        assert reg.reload_if_changed() is False  # same broken file: not reported again
    assert caplog.text == ""


def test_hot_reload_applies_changes_and_notifies_listeners(cfg: Path) -> None:
    reg = AgentRegistry(cfg)
    reg.load()
    seen: list[list[dict[str, Any]]] = []
    reg.add_listener(seen.append)
    assert reg.reload_if_changed() is False  # nothing changed
    _write(cfg, _config(_agent(), _agent("t2", name="Second")))
    assert reg.reload_if_changed() is True
    assert [a["id"] for a in reg.list()] == ["t1", "t2"] and reg.last_error is None
    assert [a["name"] for a in seen[-1]] == ["T", "Second"]


def test_duplicate_ids_and_bad_fields_are_rejected(cfg: Path) -> None:
    _write(cfg, _config(_agent(), _agent()))
    with pytest.raises(AgentConfigError, match="duplicate"):
        AgentRegistry(cfg).load()
    _write(cfg, _config(_agent(max_iters=0)))
    with pytest.raises(AgentConfigError, match="max_iters"):
        AgentRegistry(cfg).load()


def test_lm_for_builds_one_lm_per_model(cfg: Path) -> None:
    built: list[str | None] = []

    def factory(model: str | None) -> str:
        built.append(model)
        return f"lm:{model}"

    _write(cfg, _config(_agent(), _agent("t2", model="openai/gpt-4o-mini")))
    reg = AgentRegistry(cfg, lm_factory=factory)
    reg.load()
    assert reg.lm_for("t1") == "lm:None" and reg.lm_for("t1") == "lm:None"
    assert reg.lm_for("t2") == "lm:openai/gpt-4o-mini"
    assert built == [None, "openai/gpt-4o-mini"]
