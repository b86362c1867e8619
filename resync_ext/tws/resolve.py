"""Find the job a person means ("payroll extract", "PAYROLL_EXTRACT", "DAILY_PAY.payroll01").

Order: an id, then an exact name, then a LIKE on the name, then a fuzzy match over the names the
plan returns for the words of the query. More than one distinct job is reported as ambiguous with
candidates rather than guessed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from .client import TWSClient
from .errors import TWSBadRequest, TWSNotFound
from .models import Job, short_name
from .vocabulary import oql_literal

_UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_ALLOWED = re.compile(r"^[A-Za-z0-9_ .#@*?/-]{1,120}$")
_CANDIDATE_QUERY_LIMIT = 200


@dataclass
class Resolution:
    """Hold the job found, or the candidates when the name was ambiguous or unknown."""

    job: Job | None = None
    candidates: list[Job] = field(default_factory=list)
    how: str = ""


def normalise(name: str) -> str:
    """Upper-case, spaces and hyphens to underscores: ``payroll extract`` → ``PAYROLL_EXTRACT``."""
    return re.sub(r"[\s-]+", "_", name.strip()).upper()


def squash(name: str) -> str:
    """Keep only letters and digits, upper-cased, for lenient comparison."""
    return re.sub(r"[^A-Za-z0-9]", "", name).upper()


def like_pattern(text: str) -> str:
    """Turn a user pattern (``*`` or ``@`` wildcards) into an OQL LIKE literal."""
    return oql_literal(normalise(text).replace("*", "@"))


def split_name(text: str) -> tuple[str | None, str | None, str]:
    """Split ``WS#STREAM.JOB`` / ``STREAM.JOB`` / ``JOB`` into its parts (normalised)."""
    ws = None
    if "#" in text:
        ws, text = text.split("#", 1)
        ws = short_name(normalise(ws)) or None
    stream, _, job = text.rpartition(".")
    return ws, (normalise(stream) or None), normalise(job)


def _distinct(jobs: list[Job]) -> list[Job]:
    seen: dict[str, Job] = {}
    for j in jobs:
        seen.setdefault(j.id or j.qualified_name, j)
    return list(seen.values())


async def resolve_job(client: TWSClient, text: str, *, plan_id: str | None = None) -> Resolution:
    """Find one job in the current plan (or the plan ``plan_id``) from what the user wrote."""
    text = text.strip()
    if _UUID.match(text):
        try:
            return Resolution(job=await client.get_job(text, plan_id=plan_id), how="id")
        except TWSNotFound:
            pass
    if not _ALLOWED.match(text):
        raise TWSBadRequest(f"not a job name: {text!r}")
    ws, stream, name = split_name(text)
    scope = ""
    if stream:
        scope += f" AND jobStreamName = {oql_literal(stream)}"
    if ws:
        scope += f" AND jobStreamWorkstation LIKE {oql_literal('@' + ws)}"

    exact = (
        await client.list_jobs(f"name = {oql_literal(name)}{scope}", limit=20, plan_id=plan_id)
    ).items
    if exact:
        return _pick(exact, "exact")
    tokens = [t for t in re.split(r"[_\s]+", name) if t]
    pattern = "@" + "@".join(tokens) + "@"
    like = (
        await client.list_jobs(
            f"name LIKE {like_pattern(pattern)}{scope}", limit=50, plan_id=plan_id
        )
    ).items
    if like:
        same = [j for j in like if squash(j.name) == squash(name)]
        return _pick(same or like, "like")

    # Fuzzy: gather names sharing a word (or a word's first letters) with the query.
    pool: list[Job] = []
    for tok in {t[:4] for t in tokens if len(t) >= 3}:
        page = await client.list_jobs(
            f"name LIKE {like_pattern('@' + tok + '@')}",
            limit=_CANDIDATE_QUERY_LIMIT,
            plan_id=plan_id,
        )
        pool.extend(page.items)
    pool = _distinct(pool)
    by_key: dict[str, list[Job]] = {}
    for j in pool:
        by_key.setdefault(squash(j.name), []).append(j)
    query = squash(name)
    close = difflib.get_close_matches(query, list(by_key), n=5, cutoff=0.75)
    if not close:
        return Resolution(how="none")
    scored = sorted(
        ((difflib.SequenceMatcher(None, query, k).ratio(), k) for k in close), reverse=True
    )
    if len(scored) == 1 or scored[0][0] - scored[1][0] >= 0.05:
        return _pick(by_key[scored[0][1]], "fuzzy")
    return Resolution(candidates=[j for _, k in scored for j in by_key[k]][:10], how="fuzzy")


def _pick(jobs: list[Job], how: str) -> Resolution:
    jobs = _distinct(jobs)
    if len(jobs) == 1:
        return Resolution(job=jobs[0], how=how)
    return Resolution(candidates=jobs[:10], how=how)
