"""Resync's settings: every knob a user sets, as traitlets with their environment defaults.

:class:`ResyncSettings` holds them; ``ResyncApp`` (the Jupyter server extension) inherits them,
so they are set as ``c.ResyncApp.<name>`` or ``--ResyncApp.<name>=``, and ``resync-mcp`` reads
the very same defaults by building a ``ResyncSettings`` without loading the server. Environment
variables are read only inside the ``@default`` methods.
"""

from __future__ import annotations

import os
from pathlib import Path

from traitlets import Bool, Float, Integer, Unicode, default
from traitlets.config import Configurable


def _env(name: str, fallback: str = "") -> str:
    return os.environ.get(name, fallback)


class ResyncSettings(Configurable):
    """The Resync settings (traits with their help, units and ``RESYNC_*`` defaults)."""

    # -- storage --------------------------------------------------------------------------------
    data_dir = Unicode(
        config=True,
        help="Directory for memories, review batches, reports, caches and model files "
        "(env RESYNC_DATA_DIR; default ~/.local/share/resync).",
    )

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return _env("RESYNC_DATA_DIR") or str(Path.home() / ".local" / "share" / "resync")

    # -- TWS ------------------------------------------------------------------------------------
    tws_url = Unicode(
        config=True,
        help="Base URL of the HWA master domain manager, e.g. https://mdm.example.com:31116 "
        "(env RESYNC_TWS_URL; default the bundled simulator at http://127.0.0.1:31116).",
    )

    @default("tws_url")
    def _default_tws_url(self) -> str:
        return _env("RESYNC_TWS_URL", f"http://127.0.0.1:{_env('TWSIM_PORT', '31116')}")

    tws_user = Unicode(
        config=True, help="HWA user for Basic auth (env RESYNC_TWS_USER; default demo)."
    )

    @default("tws_user")
    def _default_tws_user(self) -> str:
        return _env("RESYNC_TWS_USER", "demo")

    tws_password = Unicode(
        config=True, help="HWA password for Basic auth (env RESYNC_TWS_PASSWORD; default demo)."
    )

    @default("tws_password")
    def _default_tws_password(self) -> str:
        return _env("RESYNC_TWS_PASSWORD", "demo")

    tws_api_key = Unicode(
        config=True,
        help="HWA API key (JWT) sent as a bearer token; wins over user/password when set "
        "(env RESYNC_TWS_API_KEY).",
    )

    @default("tws_api_key")
    def _default_tws_api_key(self) -> str:
        return _env("RESYNC_TWS_API_KEY")

    tws_ca_bundle = Unicode(
        config=True,
        help="Path of a PEM CA bundle to trust for the HWA engine's TLS certificate, for a "
        "private CA (env RESYNC_TWS_CA_BUNDLE; default the system CAs).",
    )

    @default("tws_ca_bundle")
    def _default_tws_ca_bundle(self) -> str:
        return _env("RESYNC_TWS_CA_BUNDLE")

    tws_verify = Bool(
        config=True,
        help="Verify the HWA engine's TLS certificate. Turning it off is logged as a warning; "
        "prefer tws_ca_bundle (env RESYNC_TWS_VERIFY=false to turn off; default true).",
    )

    @default("tws_verify")
    def _default_tws_verify(self) -> bool:
        return _env("RESYNC_TWS_VERIFY", "true").strip().lower() not in {"0", "false", "no", "off"}

    tws_timeout = Float(
        config=True,
        help="Read timeout for one HWA request, in seconds (env RESYNC_TWS_TIMEOUT; default 10).",
    )

    @default("tws_timeout")
    def _default_tws_timeout(self) -> float:
        return float(_env("RESYNC_TWS_TIMEOUT", "10"))

    tws_breaker_failures = Integer(
        5,
        config=True,
        help="Consecutive failed TWS reads after which the client stops calling the engine and "
        "fails fast (the circuit breaker opens); 1 to 100.",
    )
    tws_breaker_reset_s = Float(
        30.0,
        config=True,
        help="Seconds the circuit breaker stays open before one probe read is let through "
        "(0.1 to 3600).",
    )

    tws_max_log_kb = Integer(
        256,
        config=True,
        help="Most of one job log read, in KiB (env RESYNC_TWS_MAX_LOG_KB; default 256): a longer "
        "log is streamed and kept as its head, its error lines and its tail within this bound.",
    )

    @default("tws_max_log_kb")
    def _default_tws_max_log_kb(self) -> int:
        return int(_env("RESYNC_TWS_MAX_LOG_KB", "256") or 256)

    # -- LM -------------------------------------------------------------------------------------
    lm_model = Unicode(
        config=True,
        help="'local' for the embedded GGUF model, or a LiteLLM model id such as "
        "'openai/gpt-4o-mini' or 'ollama_chat/qwen2.5' (env RESYNC_LM_MODEL; default local).",
    )

    @default("lm_model")
    def _default_lm_model(self) -> str:
        return _env("RESYNC_LM_MODEL", "local")

    lm_api_base = Unicode(
        config=True,
        help="Base URL of an OpenAI-compatible or provider endpoint (env RESYNC_LM_API_BASE).",
    )

    @default("lm_api_base")
    def _default_lm_api_base(self) -> str:
        return _env("RESYNC_LM_API_BASE")

    lm_api_key = Unicode(config=True, help="API key for the LM provider (env RESYNC_LM_API_KEY).")

    @default("lm_api_key")
    def _default_lm_api_key(self) -> str:
        return _env("RESYNC_LM_API_KEY")

    lm_timeout = Float(
        config=True,
        help="Seconds an LM call may stay silent (no token, no tool result) before the turn or "
        "judgement fails; a streaming answer is never cut (env RESYNC_LM_TIMEOUT; default 120).",
    )

    @default("lm_timeout")
    def _default_lm_timeout(self) -> float:
        return float(_env("RESYNC_LM_TIMEOUT", "120"))

    max_concurrent_turns = Integer(
        config=True,
        help="Most chat turns running at once on this server; the others wait in order and their "
        "clients get 'queued' frames with their position. 0 picks 2 for lm_model='local' (one "
        "model on a few cores) and 16 for a provider (env RESYNC_MAX_CONCURRENT_TURNS; default 0).",
    )

    @default("max_concurrent_turns")
    def _default_max_concurrent_turns(self) -> int:
        return int(_env("RESYNC_MAX_CONCURRENT_TURNS", "0") or 0)

    lm_background_defer_s = Float(
        config=True,
        help="Seconds after a chat turn during which background LM work (the auditor's judge) "
        "waits for the local model, so a follow-up question never waits behind it; background "
        "work that waited 5 minutes runs anyway. Not used with a provider LM "
        "(env RESYNC_LM_BACKGROUND_DEFER_S; default 10).",
    )

    @default("lm_background_defer_s")
    def _default_lm_background_defer_s(self) -> float:
        return float(_env("RESYNC_LM_BACKGROUND_DEFER_S", "10"))

    lm_temperature = Float(0.0, config=True, help="Sampling temperature of the LM (0 to 2).")
    lm_max_tokens = Integer(
        1024, config=True, help="Most tokens the LM may produce in one answer (16 to 32768)."
    )

    local_model_path = Unicode(
        config=True,
        help="Path of a GGUF file for lm_model='local' (env RESYNC_LOCAL_MODEL_PATH; default the "
        "packaged Qwen2.5-Coder-1.5B-Instruct Q4_K_M, assembled and verified under data_dir).",
    )

    @default("local_model_path")
    def _default_local_model_path(self) -> str:
        return _env("RESYNC_LOCAL_MODEL_PATH")

    lm_warm_at_start = Bool(
        config=True,
        help="Load the local model in the background when the server starts, so the first "
        "question does not wait for it (about a minute on two cores the first time: the packaged "
        "weights are joined and checked). Off, it loads at the first question. Not used with a "
        "provider LM (env RESYNC_LM_WARM_AT_START; default true).",
    )

    @default("lm_warm_at_start")
    def _default_lm_warm_at_start(self) -> bool:
        return _env("RESYNC_LM_WARM_AT_START", "1").strip().lower() not in ("0", "false", "no")

    # -- memory ---------------------------------------------------------------------------------
    qdrant_url = Unicode(
        config=True,
        help="URL of a Qdrant server or cluster; empty for the embedded engine under data_dir "
        "(env RESYNC_QDRANT_URL).",
    )

    @default("qdrant_url")
    def _default_qdrant_url(self) -> str:
        return _env("RESYNC_QDRANT_URL")

    qdrant_api_key = Unicode(
        config=True, help="API key of the Qdrant server (env RESYNC_QDRANT_API_KEY)."
    )

    @default("qdrant_api_key")
    def _default_qdrant_api_key(self) -> str:
        return _env("RESYNC_QDRANT_API_KEY")

    vector_engine = Unicode(
        config=True,
        help="Embedded vector engine when qdrant_url is empty: 'edge' (Qdrant Edge, the default) "
        "or 'local' (qdrant-client's pure-Python local mode) (env RESYNC_VECTOR_ENGINE).",
    )

    @default("vector_engine")
    def _default_vector_engine(self) -> str:
        return _env("RESYNC_VECTOR_ENGINE", "edge")

    embedder = Unicode(
        config=True,
        help="What runs the sentence embedder (all-MiniLM-L6-v2): 'onnx' (ONNX Runtime, the "
        "default: ~2.5x faster per question, exported once into embedder_cache) or "
        "'torch' (sentence-transformers on PyTorch). Both give the same vectors; 'onnx' falls "
        "back to 'torch' when it cannot load (env RESYNC_EMBEDDER).",
    )

    @default("embedder")
    def _default_embedder(self) -> str:
        return _env("RESYNC_EMBEDDER", "onnx")

    embedder_cache = Unicode(
        config=True,
        help="Directory for the embedder's exported ONNX graph (a cache: the file name carries "
        "the weights' size and date; deleted, it is exported again); empty for "
        "$XDG_CACHE_HOME/resync/embedder, i.e. ~/.cache/resync/embedder (env "
        "RESYNC_EMBEDDER_CACHE).",
    )

    @default("embedder_cache")
    def _default_embedder_cache(self) -> str:
        return _env("RESYNC_EMBEDDER_CACHE")

    open_memory = Bool(
        True,
        config=True,
        help="Open the memory store when the server starts (in the background). Off, the memory "
        "API answers 503; useful for a server that only hosts notebooks.",
    )

    # -- schedules ------------------------------------------------------------------------------
    audit_interval_min = Float(
        config=True,
        help="Minutes between scheduled audit passes; 0 turns the schedule off "
        "(env RESYNC_AUDIT_INTERVAL_MIN; default 30).",
    )

    @default("audit_interval_min")
    def _default_audit_interval_min(self) -> float:
        return float(_env("RESYNC_AUDIT_INTERVAL_MIN", "30"))

    report_cron = Unicode(
        config=True,
        help="Crontab expression (minute hour day month weekday, server local time) for the "
        "morning audit report; empty turns it off (env RESYNC_REPORT_CRON; default '0 6 * * *').",
    )

    @default("report_cron")
    def _default_report_cron(self) -> str:
        return _env("RESYNC_REPORT_CRON", "0 6 * * *")

    scheduler_lock_url = Unicode(
        config=True,
        help="SQLAlchemy URL of a PostgreSQL database (postgresql://user:password@host/db) whose "
        "advisory lock picks the one replica that runs the audit and report schedules; empty "
        "uses a file lock in data_dir (one machine) (env RESYNC_SCHEDULER_LOCK_URL).",
    )

    @default("scheduler_lock_url")
    def _default_scheduler_lock_url(self) -> str:
        return _env("RESYNC_SCHEDULER_LOCK_URL")

    scheduler_lock_retry_s = Float(
        config=True,
        help="Seconds between a waiting replica's tries of the scheduler lock (and the leader's "
        "checks that it still holds it): the longest a schedule goes unrun after its leader dies "
        "(env RESYNC_SCHEDULER_LOCK_RETRY_S; default 30).",
    )

    @default("scheduler_lock_retry_s")
    def _default_scheduler_lock_retry_s(self) -> float:
        return float(_env("RESYNC_SCHEDULER_LOCK_RETRY_S", "30"))

    team_database_url = Unicode(
        config=True,
        help="SQLAlchemy URL of the PostgreSQL database (postgresql://user:password@host/db) the "
        "replicas of a team service share for the one review queue and the auditor's claims on "
        "the memories it judges (tables in schema resync_v1, made on first use); empty keeps "
        "review batches as files in data_dir and claims in the process (one machine) "
        "(env RESYNC_TEAM_DATABASE_URL; default scheduler_lock_url).",
    )

    @default("team_database_url")
    def _default_team_database_url(self) -> str:
        return _env("RESYNC_TEAM_DATABASE_URL") or self.scheduler_lock_url

    audit_claim_lease_s = Float(
        config=True,
        help="Seconds a replica's claim on a memory it judges lasts unless renewed (renewed every "
        "third of it while the judge runs): how long the memories of a replica lost mid-pass "
        "wait before another replica's pass takes them; used with team_database_url "
        "(env RESYNC_AUDIT_CLAIM_LEASE_S; default 300).",
    )

    @default("audit_claim_lease_s")
    def _default_audit_claim_lease_s(self) -> float:
        return float(_env("RESYNC_AUDIT_CLAIM_LEASE_S", "300"))

    server_ca_bundle = Unicode(
        config=True,
        help="PEM file of the CA that signed this Jupyter server's TLS certificate, for the "
        "report kernels that call the server back over https: they get it in their environment "
        "and verify the server with it (env RESYNC_SERVER_CA_BUNDLE; default ServerApp.certfile, "
        "which suits a self-signed certificate; unused when the server has no certfile).",
    )

    @default("server_ca_bundle")
    def _default_server_ca_bundle(self) -> str:
        return _env("RESYNC_SERVER_CA_BUNDLE")

    audit_reject_confidence = Float(
        0.9,
        config=True,
        help="Confidence (0 to 1) above which an 'incorrect' verdict removes a memory from "
        "retrieval (rejected_by_auditor) instead of flagging it for review.",
    )

    audit_flag_confidence = Float(
        0.6,
        config=True,
        help="Confidence (0 to 1) from which a doubtful verdict files the memory for review; a "
        "weaker doubt is kept on the memory for spot checks. The default queues what the "
        "deterministic checks found and keeps a small judge model's doubt alone out of the queue; "
        "lower it to queue a capable judge LM's doubts too (env RESYNC_AUDIT_FLAG_CONFIDENCE).",
    )

    @default("audit_flag_confidence")
    def _default_audit_flag_confidence(self) -> float:
        return float(_env("RESYNC_AUDIT_FLAG_CONFIDENCE", "0.6"))

    agents_config = Unicode(
        config=True,
        help="Path of the agents configuration (config/runtime.json); watched and reloaded "
        "(env RESYNC_AGENTS_CONFIG; default config/runtime.json under the server's root dir, "
        "else the one shipped with the project).",
    )

    @default("agents_config")
    def _default_agents_config(self) -> str:
        return _env("RESYNC_AGENTS_CONFIG")
