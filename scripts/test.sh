#!/usr/bin/env bash
# The whole test suite: lint, unit, integration, end-to-end (real Rasa + action server + hub)
# and the PostgreSQL tests (a real server started by the suite). `make test` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/ensure_postgres.sh
scripts/ensure_chromium.sh
echo "==> ruff"
.venv-app/bin/python -m ruff check .
echo "==> pytest"
exec .venv-app/bin/python -m pytest -p no:cacheprovider "$@"
