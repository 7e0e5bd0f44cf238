#!/usr/bin/env bash
# JupyterLab for the browser tests (playwright.config.ts's webServer runs this).
# A throw-away Jupyter home (config, data, runtime, settings, workspaces, root dir)
# under a temp dir, removed when the server stops; loopback only, port 8888. The remote
# backends' doubles (Cloud Storage, Vertex AI; see remote_doubles.py) run around it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
venv="${VENV:-$repo/.venv}"
case "$venv" in /*) ;; *) venv="$repo/$venv" ;; esac

tmp="$(mktemp -d -t notebook-executor-ui-tests-XXXXXX)"
export JUPYTER_CONFIG_DIR="$tmp/config"
export JUPYTER_DATA_DIR="$tmp/data"
export JUPYTER_RUNTIME_DIR="$tmp/runtime"
export JUPYTERLAB_SETTINGS_DIR="$tmp/settings"
export JUPYTERLAB_WORKSPACES_DIR="$tmp/workspaces"
export JUPYTERLAB_GALATA_ROOT_DIR="$tmp/root"
export IPYTHONDIR="$tmp/ipython"
mkdir -p "$JUPYTER_CONFIG_DIR" "$JUPYTER_DATA_DIR" "$JUPYTER_RUNTIME_DIR" \
  "$JUPYTERLAB_SETTINGS_DIR" "$JUPYTERLAB_WORKSPACES_DIR" "$JUPYTERLAB_GALATA_ROOT_DIR"
# Kernels (python3 of the environment) are found with the environment first on PATH.
export PATH="$venv/bin:$PATH"

allow_root=()
[ "$(id -u)" = 0 ] && allow_root=(--allow-root)

server=""
stop() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

"$venv/bin/python" "$here/remote_doubles.py" "$venv/bin/jupyter" lab --config "$here/jupyter_server_test_config.py" --no-browser "${allow_root[@]}" &
server=$!
wait "$server"
