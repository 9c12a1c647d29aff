#!/usr/bin/env bash
# Set up everything the tests need (as scripts/install.sh --dev does) and run them.
# Docker-backed tests must run here: TERMAGENT_REQUIRE_DOCKER turns a missing engine into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
export TERMAGENT_REQUIRE_DOCKER=1
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
