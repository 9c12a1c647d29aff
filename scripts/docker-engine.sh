#!/usr/bin/env bash
# Make sure a Docker engine answers on /var/run/docker.sock (or $DOCKER_HOST).
# Installs Debian's docker.io and starts dockerd in the background when needed.
set -euo pipefail

engine_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if engine_answers; then
    exit 0
fi

if [ -n "${DOCKER_HOST:-}" ]; then
    echo "docker-engine: DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST." >&2
    exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "docker-engine: no Docker engine; install one (as root: apt-get install docker.io)." >&2
        exit 1
    fi
    echo "docker-engine: installing Debian's docker.io ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q docker.io >/dev/null
fi

if [ "$(id -u)" != 0 ]; then
    echo "docker-engine: the Docker daemon is not running; start it (sudo systemctl start docker)." >&2
    exit 1
fi

log=/var/log/termagent-dockerd.log
echo "docker-engine: starting dockerd in the background (log: $log) ..." >&2
nohup dockerd >"$log" 2>&1 &

for _ in $(seq 1 120); do
    if engine_answers; then
        echo "docker-engine: ready." >&2
        exit 0
    fi
    sleep 0.5
done
echo "docker-engine: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
