#!/usr/bin/env bash
# Start a real Prefect server (SQLite under data/prefect) on 127.0.0.1:4200 in the foreground.
# For production, point PREFECT_API_DATABASE_CONNECTION_URL at PostgreSQL (see infra/k8s).
set -euo pipefail
cd "$(dirname "$0")/.."
export PREFECT_HOME=${PREFECT_HOME:-$PWD/data/prefect}
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
mkdir -p "$PREFECT_HOME"
exec "$(bash infra/uv.sh)" run --frozen prefect server start --host "${PREFECT_HOST:-127.0.0.1}" --port "${PREFECT_PORT:-4200}"
