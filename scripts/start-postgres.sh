#!/usr/bin/env bash
# Start a throwaway PostgreSQL for tests (trust auth, fsync off, loopback only) and print its URL
# as the LAST line of stdout:
#     postgresql+asyncpg://postgres@127.0.0.1:PORT/postgres
# Idempotent: if the cluster in MGE_PG_DIR is already running, it only prints the URL.
# Settings (environment): MGE_PG_DIR (default /tmp/mge-pg), MGE_PG_PORT (default 55432),
# MGE_PG_BIN (default: the newest /usr/lib/postgresql/*/bin, 15 preferred).
# The server refuses to run as root, so as root it runs as the `postgres` user via runuser.
# Stop it with scripts/stop-postgres.sh.
set -euo pipefail

PG_DIR=${MGE_PG_DIR:-/tmp/mge-pg}
PG_PORT=${MGE_PG_PORT:-55432}
DATA="$PG_DIR/data"
LOG="$PG_DIR/server.log"

find_bin() {
  if [ -n "${MGE_PG_BIN:-}" ]; then echo "$MGE_PG_BIN"; return; fi
  if [ -x /usr/lib/postgresql/15/bin/pg_ctl ]; then echo /usr/lib/postgresql/15/bin; return; fi
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$newest" ] && [ -x "$newest/pg_ctl" ]; then echo "$newest"; return; fi
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return; fi
  echo "start-postgres: no PostgreSQL server found; install it (apt-get install -y postgresql)" >&2
  exit 1
}
BIN=$(find_bin)

# Run a server binary as the postgres user when we are root (initdb/postgres refuse root).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

mkdir -p "$PG_DIR"
if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$PG_DIR"; fi

if [ ! -f "$DATA/PG_VERSION" ]; then
  echo "start-postgres: initdb in $DATA" >&2
  as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
fi

if as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  echo "start-postgres: already running ($DATA)" >&2
else
  echo "start-postgres: starting on 127.0.0.1:$PG_PORT (log $LOG)" >&2
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
fi

# The port the running server really listens on (a reused cluster may have been started with
# another MGE_PG_PORT).
port=$(sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || echo "$PG_PORT")
"$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 10 || {
  echo "start-postgres: server did not become ready; see $LOG" >&2
  exit 1
}
echo "postgresql+asyncpg://postgres@127.0.0.1:$port/postgres"
