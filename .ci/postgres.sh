#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster (Debian's `postgresql` package) as the `postgres`
# user on a free loopback port, and prints its base URL (postgres://postgres@127.0.0.1:PORT) and
# its data folder, separated by a space. Installs the package when it is missing. Stop it with
# `su postgres -c "pg_ctl -D <folder> stop"`.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing postgresql" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
# Clusters left behind by an interrupted run (no server running on them) only hold disk space.
for old in /tmp/numberdesk-pg.*; do
  [ -d "$old" ] || continue
  if ! { [ -f "$old/data/postmaster.pid" ] && kill -0 "$(head -n 1 "$old/data/postmaster.pid")" 2>/dev/null; }; then
    rm -rf "$old"
  fi
done
bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
dir=$(mktemp -d /tmp/numberdesk-pg.XXXXXX)
chown postgres "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
su postgres -c "$bin/initdb -D $dir/data -A trust -U postgres" >/dev/null
su postgres -c "$bin/pg_ctl -D $dir/data -l $dir/log -w -o '-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c max_wal_size=256MB' start" >/dev/null
echo "postgres cluster in $dir/data on port $port" >&2
echo "postgres://postgres@127.0.0.1:$port $dir/data"
