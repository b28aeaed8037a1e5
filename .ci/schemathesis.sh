#!/usr/bin/env bash
# The outside-client check: the OpenAPI document served at /openapi.json must describe exactly
# what the server does. Starts `numberdesk serve --demo` (a seeded world: the demo account and
# key, approved profiles, stock), then
#   1. generates a Python client from the served document with openapi-python-client and drives
#      create -> get -> list -> cancel through it (.ci/client_flow.py);
#   2. runs schemathesis with every check against the customer API and then the operator API,
#      each for a bounded time (ST_MAX_TIME seconds, default 45); any finding fails.
# Settings and the hooks are in schemathesis.toml and .ci/schemathesis_hooks.py.
#
# Usage: .ci/schemathesis.sh [path/to/numberdesk]   (default target/debug/numberdesk)
# ST_VENV names a virtual environment to use or create (default target/schemathesis-venv).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-${CARGO_TARGET_DIR:-target}/debug/numberdesk}
max_time=${ST_MAX_TIME:-45}
venv=${ST_VENV:-${CARGO_TARGET_DIR:-target}/schemathesis-venv}

if [ ! -x "$venv/bin/schemathesis" ] || [ ! -x "$venv/bin/openapi-python-client" ]; then
  echo "== creating $venv with schemathesis and openapi-python-client"
  if ! python3 -m venv "$venv"; then
    # Debian ships venv support as its own package.
    rm -rf "$venv"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==4.32.5" "openapi-python-client==0.29.1"
fi

work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
server_pid=
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ] && [ -f "$work/server.log" ]; then
    echo "== server log (last lines)"
    tail -n 30 "$work/server.log" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# No rate limit and no failed-authentication throttle: the fuzzer sends thousands of calls and
# wrong tokens on purpose. Callback hosts are random names, so they are not resolved at create
# time (private callbacks allowed) and a delivery attempt gives up after a second.
NUMBERDESK_LISTEN="127.0.0.1:$port" \
NUMBERDESK_DATABASE_URL="sqlite://$work/numberdesk.db" \
NUMBERDESK_MAIL_DIR="$work/mail" \
NUMBERDESK_RATE_LIMIT=0 \
NUMBERDESK_AUTH_FAILURE_LIMIT=0 \
NUMBERDESK_ALLOW_PRIVATE_CALLBACKS=true \
NUMBERDESK_WEBHOOK_TIMEOUT_SECS=1 \
NUMBERDESK_MAX_OPEN_REQUESTS=1000000 \
  "$bin" serve --demo >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$base/openapi.json" -o "$work/openapi.json"

# The client first: the fuzzer changes the demo world (it edits profiles and restrictions).
echo "== Python client generated from the document: create -> get -> list -> cancel"
"$venv/bin/openapi-python-client" generate --path "$work/openapi.json" \
  --output-path "$work/numberdesk_client" --meta none --overwrite >/dev/null
PYTHONPATH="$work" "$venv/bin/python" .ci/client_flow.py "$base"


failed=0
for api in customer operator; do
  case $api in
    customer) filter='^/voice/' ;;
    operator) filter='^/admin/' ;;
  esac
  echo "== schemathesis --checks all on the $api API ($max_time s)"
  start=$(date +%s)
  if ! "$venv/bin/schemathesis" --config-file schemathesis.toml run "$base/openapi.json" \
      --checks all --include-path-regex "$filter" --max-time "$max_time" \
      --workers 1 --no-color; then
    failed=1
  fi
  echo "== $api API: $(( $(date +%s) - start )) s"
done

exit "$failed"
