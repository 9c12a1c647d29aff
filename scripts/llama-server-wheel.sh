#!/usr/bin/env bash
# Build llama-cpp-python (its OpenAI-compatible server, used by the real-server tests) from
# source ONCE per machine and cache the wheel: the build compiles llama.cpp and takes a long
# time on 2 cores, so later runs only install the cached wheel.
#   usage: scripts/llama-server-wheel.sh [PYTHON]    (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-.venv/bin/python}"
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
CACHE="${TERMAGENT_WHEEL_CACHE:-$HOME/.cache/termagent-wheels}"
mkdir -p "$CACHE"

wheel=$(ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -n1 || true)
if [[ -z "$wheel" ]]; then
    echo "llama-server-wheel: building llama-cpp-python $VERSION from source (slow, once per machine)" >&2
    start=$(date +%s)
    # Portable build (no -march=native: the cached wheel must run on any CPU of this kind), and
    # without the multimodal library (llava/mtmd: only loaded for image chat formats), which is a
    # large part of the compile. Not niced: under a busy machine (CI under load) a niced build
    # gets almost no CPU.
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "$PY" -m pip wheel --no-deps "llama-cpp-python==$VERSION" -w "$CACHE"
    echo "llama-server-wheel: built in $(( $(date +%s) - start )) s" | tee "$CACHE/llama-build-time.txt" >&2
    wheel=$(ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl | head -n1)
fi
if ! "$PY" -c 'import llama_cpp.server' 2>/dev/null; then
    "$PY" -m pip install --quiet "${wheel}[server]"
fi
echo "llama-server-wheel: $wheel" >&2
