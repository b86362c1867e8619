"""Deterministic plan-health analysis for tws-analyzer: failures, lateness, risk, blast radius.

Reads the plan summary, then walks the successors of each failed job (depth 3) to find the one
failure that blocks the most downstream work and the critical jobs it puts at risk.
"""

from __future__ import annotations

import functools
from typing import Any

from resync_ext.agents.investigate import _ref, _summary_text
from resync_ext.agents.toolbox import ToolRecorder, error_text, is_error

MAX_FAILED = 8


def _names(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in nodes if n.get("name")]


class PlanHealth:
    """Collect plan-health evidence sentences through a ToolRecorder."""

    def __init__(self, rec: ToolRecorder) -> None:
        self.rec = rec
        self.facts: list[str] = []

    async def run(self) -> list[str]:
        """Analyse the current plan; return the evidence sentences."""
        s = await self.rec.call("plan_summary", summary=_summary_text)
        if is_error(s):
            self.facts.append(f"The plan could not be read: {error_text(s)}.")
            return self.facts
        self.facts.append(_summary_text(s))
        failed = (s.get("failed_jobs") or {}).get("items", [])[:MAX_FAILED]
        impacts: list[tuple[int, str, list[str]]] = []
        for j in failed:
            ref = _ref(j)
            deps = await self.rec.call(
                "get_dependencies",
                job=ref,
                depth=3,
                summary=functools.partial(_impact_text, ref),
            )
            if is_error(deps):
                continue
            succ = _names((deps.get("successors") or {}).get("items", []))
            critical = [_ref(n) for n in succ if n.get("critical")]
            impacts.append((len(succ), ref, critical))
        at_risk: list[str] = []
        if impacts:
            impacts.sort(key=lambda x: (-x[0], x[1]))
            n, ref, critical = impacts[0]
            self.facts.append(
                f"Fix first: {ref} blocks the most downstream work ({n} jobs wait for it"
                + (f", including critical {', '.join(critical[:4])}" if critical else "")
                + ")."
            )
            for count, other, crit in impacts[1:4]:
                self.facts.append(
                    f"{other} blocks {count} jobs"
                    + (f" (critical: {', '.join(crit[:3])})" if crit else "")
                    + "."
                )
            at_risk = sorted({c for _, _, crit in impacts for c in crit})
        late = [_ref(j) for j in (s.get("late_critical_jobs") or {}).get("items", [])]
        if at_risk or late:
            self.facts.append(
                "Critical jobs at risk: "
                + ", ".join(
                    [
                        *(f"{x} (late)" for x in late[:5]),
                        *(f"{x} (behind a failure)" for x in at_risk[:5] if x not in late),
                    ]
                )
                + "."
            )
        else:
            self.facts.append("No critical job is late or behind a failure.")
        res = await self.rec.call("list_resources", exhausted_only=True, summary=_res_text)
        if not is_error(res) and res.get("items"):
            self.facts.append(_res_text(res))
        return self.facts


def _impact_text(ref: str, deps: dict[str, Any]) -> str:
    succ = _names((deps.get("successors") or {}).get("items", []))
    if not succ:
        return f"No job waits for {ref}."
    return (
        f"{len(succ)} jobs wait for {ref}: "
        + ", ".join(f"{n['name']}{' (critical)' if n.get('critical') else ''}" for n in succ[:6])
        + "."
    )


def _res_text(r: dict[str, Any]) -> str:
    items = r.get("items") or []
    if not items:
        return "No resource is exhausted."
    return (
        "Exhausted resources: "
        + ", ".join(
            f"{x.get('name')} (held by {', '.join(map(str, x.get('holders') or [])) or 'unknown'})"
            for x in items[:4]
        )
        + "."
    )
