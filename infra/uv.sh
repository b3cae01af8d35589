#!/usr/bin/env bash
# Print the path of the uv that `make setup` installed (PATH, ~/.local/bin, or the uv
# package of the python3 that installed it); exit 1 when there is none yet.
command -v uv 2>/dev/null && exit 0
[ -x "$HOME/.local/bin/uv" ] && { echo "$HOME/.local/bin/uv"; exit 0; }
python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null && exit 0
exit 1
