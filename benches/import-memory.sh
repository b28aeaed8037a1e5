#!/usr/bin/env bash
# Peak memory of the server for one large stock import: a CSV of junk (refused), and valid
# single-number rows (added) as CSV and as JSON. A fresh server and database per body; prints the
# body size, the answer's status and time, and the server's resident memory before, at peak
# (VmHWM) and one second after the answer.
# Run: bash benches/import-memory.sh [path/to/numberdesk] [junk MB] [valid rows]
set -euo pipefail
BIN=${1:-target/release/numberdesk}
JUNK_MB=${2:-165}
ROWS=${3:-2000000}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
PORT=$((20000 + RANDOM % 20000))

python3 - "$DIR" "$JUNK_MB" "$ROWS" <<'PY'
import sys, random
d, mb, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(f"{d}/junk.csv", "w") as f:
    f.write("phoneNumber,countryCode,phoneNumberType,areaCode,city,region\n")
    line = "+31201000000x,NL,LOCAL,20,Amsterdam junk junk junk junk junk junk,\n"
    f.write(line * (mb * 1024 * 1024 // len(line)))
with open(f"{d}/valid.csv", "w") as f:
    f.write("phoneNumber,countryCode,phoneNumberType,areaCode,city,region\n")
    # Every other number, so no two rows join into one run.
    for i in range(rows):
        f.write(f"+{31201000000 + 2 * i},NL,LOCAL,20,Amsterdam,\n")
with open(f"{d}/valid.json", "w") as f:
    f.write('{"numbers": [\n')
    for i in range(rows):
        sep = "," if i else ""
        f.write(f'{sep}{{"phoneNumber": "+{31201000000 + 2 * i}", "countryCode": "NL", '
                f'"phoneNumberType": "LOCAL", "areaCode": "20", "city": "Amsterdam"}}\n')
    f.write("]}\n")
PY

rss() { awk -v k="$2" '$1 == k":" {print int($2 / 1024) " MiB"}' /proc/"$1"/status; }

for body in junk.csv valid.csv valid.json; do
  case $body in *.csv) ctype=text/csv ;; *) ctype=application/json ;; esac
  rm -f "$DIR"/db.sqlite*
  NUMBERDESK_DATABASE_URL="sqlite://$DIR/db.sqlite" NUMBERDESK_LISTEN="127.0.0.1:$PORT" \
    NUMBERDESK_ADMIN_TOKEN=bench-token "$BIN" serve >"$DIR/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  before=$(rss $pid VmRSS)
  size=$(du -m "$DIR/$body" | cut -f1)
  start=$(date +%s.%N)
  # -T sends the file as it reads it (curl holds no copy of it in memory).
  status=$(curl -s -o "$DIR/answer" -w '%{http_code}' -X POST -H 'Authorization: Bearer bench-token' \
    -H "Content-Type: $ctype" -T "$DIR/$body" "http://127.0.0.1:$PORT/admin/v1/inventory")
  took=$(echo "$(date +%s.%N) - $start" | bc)
  sleep 1
  echo "$body: ${size} MB body -> $status in ${took}s; RSS before $before, peak $(rss $pid VmHWM), after $(rss $pid VmRSS); answer $(head -c 120 "$DIR/answer")"
  kill $pid; wait $pid 2>/dev/null || true
done
