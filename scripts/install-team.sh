#!/usr/bin/env bash
# Install what the team tests (tests/team/) need, only when missing:
# - jupyterhub, SQLAlchemy and psycopg (pip, into the venv; pyproject's `team` extra),
# - configurable-http-proxy (npm, into $VENV/team-node: project-local, no global install),
# - PostgreSQL's server binaries (Debian's `postgresql`, apt; the lock test starts its own cluster).
# Idempotent and quiet; exits 0 when all is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
NODE_PREFIX="$VENV/team-node"

if [ ! -x "$PY" ]; then
  echo "install-team: no virtualenv at $VENV (run make install first)" >&2
  exit 1
fi
if ! "$PY" -c "import jupyterhub, sqlalchemy, psycopg" >/dev/null 2>&1; then
  echo "install-team: installing the team extra (jupyterhub, sqlalchemy, psycopg) into $VENV"
  "$PY" -m pip install --quiet -e ".[team]"
fi

apt_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo -n"
    else
      echo "install-team: $* missing and this user cannot run apt-get;" \
        "install it with: apt-get install $*" >&2
      exit 1
    fi
  fi
  echo "install-team: installing $* with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq "$@" >/dev/null
}

if [ ! -x "$NODE_PREFIX/node_modules/.bin/configurable-http-proxy" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
  fi
  echo "install-team: installing configurable-http-proxy into $NODE_PREFIX"
  npm install --silent --no-fund --no-audit --prefix "$NODE_PREFIX" "configurable-http-proxy@^5" >/dev/null
fi

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  apt_install postgresql
fi
