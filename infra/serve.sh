#!/usr/bin/env bash
# `make serve`: a Prefect server on 127.0.0.1:4200 plus Tessera's deployments, so the
# Prefect UI can start ingest, backfill and reschedule runs. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PREFECT_PORT:-4200}
export PREFECT_HOME=${PREFECT_HOME:-$PWD/data/prefect}
export PREFECT_API_URL="http://127.0.0.1:${port}/api"
mkdir -p "$PREFECT_HOME"
uv=$(bash infra/uv.sh) || { echo "serve: uv not found: run make setup first" >&2; exit 1; }
bash infra/prefect-server.sh > "$PREFECT_HOME/server.log" 2>&1 &
server=$!
trap 'rm -f "$PREFECT_HOME/api-url"; kill $server 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 120); do
  if curl -fsS "$PREFECT_API_URL/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 $server 2>/dev/null; then echo "serve: Prefect server exited; see $PREFECT_HOME/server.log" >&2; exit 1; fi
  sleep 1
done
# Every tessera command of this project now uses this server (flows/runtime.py reads it).
echo "$PREFECT_API_URL" > "$PREFECT_HOME/api-url"
echo "Prefect UI: http://127.0.0.1:${port}"
ui_port=${TESSERA_UI_PORT:-8800}
"$uv" run --frozen tessera ui --port "$ui_port" --prefect-url "http://127.0.0.1:${port}" > "$PREFECT_HOME/ui.log" 2>&1 &
ui=$!
trap 'rm -f "$PREFECT_HOME/api-url"; kill $server $ui 2>/dev/null || true' EXIT INT TERM
echo "Tessera UI: http://127.0.0.1:${ui_port} (log: $PREFECT_HOME/ui.log)"
# grep without -q reads all input: -q exits at the first match, tessera then gets SIGPIPE
# and pipefail would report the pipeline as failed.
if "$uv" run --frozen tessera --help 2>/dev/null | grep -w serve >/dev/null; then
  "$uv" run --frozen tessera serve
else
  echo "serve: no deployments exist yet; the server keeps running (Ctrl-C to stop)"
  wait $server
fi
