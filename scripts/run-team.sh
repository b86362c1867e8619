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
JUPYTERHUB="$PWD/$VENV/bin/jupyterhub"
# Its own session: Ctrl-C reaches it once, through cleanup (a second signal stalls its shutdown).
(cd "$HUB_DIR" && exec setsid "$JUPYTERHUB" -f "$CONFIG") &
pids+=($!)
wait -n "${pids[@]}"
