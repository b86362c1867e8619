#!/usr/bin/env bash
# Try Resync for a team: the TWS simulator (demo scenario) and JupyterHub with Resync as a managed
# service (deploy/jupyterhub/jupyterhub_config.py); Ctrl-C stops both. Log in at
# http://127.0.0.1:8000 as ana or alex (analysts), rita (reviewer), adam (admin) or olga (no
# Resync role), with any password (DummyAuthenticator: for trying it on this machine only).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
TWSIM_PORT=${TWSIM_PORT:-31116}
export RESYNC_TWS_URL=${RESYNC_TWS_URL:-http://127.0.0.1:${TWSIM_PORT}}
HUB_DIR="$VENV/team-hub"
mkdir -p "$HUB_DIR"
pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$VENV/bin/resync-twsim" --scenario demo --host 127.0.0.1 --port "$TWSIM_PORT" &
pids+=($!)
# The Hub keeps its database and cookie secret in its working directory, beside the venv.
CONFIG="$PWD/deploy/jupyterhub/jupyterhub_config.py"
VENV_DIR=$(cd "$VENV" && pwd)
# Its own session: Ctrl-C reaches it once, through cleanup (a second signal stalls its shutdown).
# Bash starts background jobs with SIGINT ignored, which the Hub's children would inherit: the
# service would then ignore the Hub's SIGINT and stop only on its SIGTERM, 30 s later.
RESTORE_SIGINT='import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])'
(cd "$HUB_DIR" && exec setsid "$VENV_DIR/bin/python" -c "$RESTORE_SIGINT" \
  "$VENV_DIR/bin/jupyterhub" -f "$CONFIG") &
pids+=($!)
wait -n "${pids[@]}"
