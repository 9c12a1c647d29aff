#!/usr/bin/env bash
# Install termagent on a Debian machine: system packages, a virtualenv in .venv, the Docker
# engine, and the sandbox image. Safe to run again: every step is skipped when already done.
#   bash scripts/install.sh          # the agent
#   bash scripts/install.sh --dev    # plus what the tests need (transformers, torch CPU, pytest)
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

say() { echo "install: $*" >&2; }

need_packages=()
command -v debootstrap >/dev/null || need_packages+=(debootstrap)
command -v tmux >/dev/null || need_packages+=(tmux)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_packages+=(python3-venv)
# mkfs (in sbin): as root, tests/sandbox builds engines on xfs (project quotas) and btrfs (quota
# groups), whose storage drivers take a size for the sandbox's disk.
if [ "$dev" = 1 ] && [ "$(id -u)" = 0 ]; then
    PATH="$PATH:/usr/sbin:/sbin" command -v mkfs.xfs >/dev/null || need_packages+=(xfsprogs)
    PATH="$PATH:/usr/sbin:/sbin" command -v mkfs.btrfs >/dev/null || need_packages+=(btrfs-progs)
fi
if [ ${#need_packages[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        say "missing ${need_packages[*]}: run as root, or install them with apt-get first."
        exit 1
    fi
    say "installing ${need_packages[*]} ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q "${need_packages[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    say "creating .venv ..."
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "$dev" = 1 ]; then
    # The CPU build of torch; other specs may pull a multi-GB CUDA build.
    .venv/bin/python -c 'import torch' 2>/dev/null || .venv/bin/python -m pip install -q torch==2.13.0
    .venv/bin/python -m pip install -q -e '.[dev,transformers]'
else
    .venv/bin/python -m pip install -q -e .
fi

bash scripts/docker-engine.sh

# The sandbox image: from the Dockerfile when a registry answers, else from Debian's archive.
if ! .venv/bin/termagent sandbox build 2>/tmp/termagent-build.log; then
    say "no image registry answered ($(tail -n 2 /tmp/termagent-build.log | head -n 1)); building offline with debootstrap"
    .venv/bin/termagent sandbox build --offline
fi
say "done: .venv/bin/termagent is ready."
