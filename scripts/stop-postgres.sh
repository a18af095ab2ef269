#!/usr/bin/env bash
# Stop the throwaway PostgreSQL started by scripts/start-postgres.sh and delete its data.
# Safe to run when nothing is running. Same settings: MGE_PG_DIR (default /tmp/mge-pg),
# MGE_PG_BIN. Set MGE_PG_KEEP=1 to stop the server but keep the data folder.
set -euo pipefail

PG_DIR=${MGE_PG_DIR:-/tmp/mge-pg}
DATA="$PG_DIR/data"

if [ -n "${MGE_PG_BIN:-}" ]; then
  BIN=$MGE_PG_BIN
elif [ -x /usr/lib/postgresql/15/bin/pg_ctl ]; then
  BIN=/usr/lib/postgresql/15/bin
else
  BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [ -f "$DATA/postmaster.pid" ] && [ -n "${BIN:-}" ]; then
  as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  echo "stop-postgres: stopped ($DATA)" >&2
else
  echo "stop-postgres: not running ($DATA)" >&2
fi

if [ "${MGE_PG_KEEP:-0}" != "1" ] && [ -d "$PG_DIR" ]; then
  rm -rf "$PG_DIR"
fi
