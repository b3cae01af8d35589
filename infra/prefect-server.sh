#!/usr/bin/env bash
# Start a real Prefect server on 127.0.0.1:4200 in the foreground.
# Its database is SQLite under data/prefect unless PREFECT_API_DATABASE_CONNECTION_URL names
# another one; for production (several hosts, many runs) use PostgreSQL, as infra/k8s does:
#   PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://prefect:PASSWORD@db:5432/prefect \
#     bash infra/prefect-server.sh
# The database must exist (createdb prefect); the server creates and migrates its tables on
# start. A plain postgresql:// or postgres:// URL is given the asyncpg driver Prefect needs.
# PREFECT_HOST / PREFECT_PORT change where it listens (tests/test_prefect_postgres.py runs
# the same server on PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
export PREFECT_HOME=${PREFECT_HOME:-$PWD/data/prefect}
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
mkdir -p "$PREFECT_HOME"
db=${PREFECT_API_DATABASE_CONNECTION_URL:-}
case "$db" in
  postgresql://* | postgres://*)
    # Prefect's server is async: without +asyncpg SQLAlchemy picks a sync driver and fails.
    export PREFECT_API_DATABASE_CONNECTION_URL="postgresql+asyncpg://${db#*://}" ;;
esac
if [ -n "$db" ]; then
  # Never print the password: keep only what follows the last '@' (host, port, database).
  echo "prefect-server: database ${PREFECT_API_DATABASE_CONNECTION_URL%%://*}://...@${db##*@}" >&2
fi
exec "$(bash infra/uv.sh)" run --frozen prefect server start --host "${PREFECT_HOST:-127.0.0.1}" --port "${PREFECT_PORT:-4200}"
