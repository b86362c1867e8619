#!/usr/bin/env bash
# Start the TWS simulator (demo scenario) and JupyterLab with the extension; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
RESYNC_PORT=${RESYNC_PORT:-8888}
TWSIM_PORT=${TWSIM_PORT:-31116}
export RESYNC_TWS_URL=${RESYNC_TWS_URL:-http://127.0.0.1:${TWSIM_PORT}}
# Quiet and offline: jupyter-config/labconfig/page_config.json disables JupyterLab's announcements
# plugin (the "official Jupyter news?" toast and its update check); jupyter_config.py drops the
# news feed and the update check on the server side.
export JUPYTER_CONFIG_PATH="$PWD/jupyter-config${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}"
pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$VENV/bin/resync-twsim" --scenario demo --host 127.0.0.1 --port "$TWSIM_PORT" &
pids+=($!)

# shellcheck disable=SC2086  # ROOT_FLAG is empty or one flag
"$VENV/bin/jupyter" lab --config=jupyter_config.py --ServerApp.port="$RESYNC_PORT" ${ROOT_FLAG:-} &
pids+=($!)
wait -n "${pids[@]}"
