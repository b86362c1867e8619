#!/usr/bin/env bash
# Install what the browser test needs, only when missing: Debian's chromium and chromium-driver
# (apt) and the playwright Python package (pip, into the venv). Never runs `playwright install`:
# the test drives /usr/bin/chromium. Idempotent and quiet; exits 0 when all is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      SUDO="sudo -n"
    else
      echo "install-browser: chromium is missing and this user cannot run apt-get;" \
        "install it with: apt-get install chromium chromium-driver" >&2
      exit 1
    fi
  fi
  echo "install-browser: installing chromium and chromium-driver with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if [ ! -x "$PY" ]; then
  echo "install-browser: no virtualenv at $VENV (run make install first)" >&2
  exit 1
fi
if ! "$PY" -c "import playwright" >/dev/null 2>&1; then
  echo "install-browser: installing playwright into $VENV"
  "$PY" -m pip install --quiet "playwright>=1.65"
fi
