"""Connecting to the Docker engine, with errors that say what to do."""

from __future__ import annotations

import os
import shutil
import socket

import docker
from docker.errors import DockerException

from termagent.errors import SandboxError

ENGINE_SCRIPT_HINT = "as root, `bash scripts/docker-engine.sh` installs Debian's docker.io and starts dockerd"


def connect() -> docker.DockerClient:
    """A client whose engine answered a ping."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except DockerException as error:
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        if host.startswith("unix://") and not shutil.which("dockerd") and not shutil.which("docker"):
            raise SandboxError(
                "Docker is not installed: termagent runs every command in a Docker container.",
                hint=f"Install it ({ENGINE_SCRIPT_HINT}).",
            ) from error
        raise SandboxError(
            f"the Docker engine at {host} does not answer ({_short(error)}).",
            hint=f"Start it: `sudo systemctl start docker`, or {ENGINE_SCRIPT_HINT}.",
        ) from error


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) < 200 else text[:200] + "..."


def raw_socket(connection: object) -> socket.socket:
    """The socket under what docker-py's `exec_start(..., socket=True)` returns, to select on,
    send to and shut down one way. Over a unix socket docker-py returns the standard library's
    `socket.SocketIO`, which keeps its socket in `_sock` (CPython's, unchanged since 3.0); over
    TLS, the socket itself. This is the only place that relies on it, and tests/sandbox/
    test_docker_connect.py fails if docker-py or CPython changes it."""
    if isinstance(connection, socket.SocketIO):
        connection = getattr(connection, "_sock", None)
    if isinstance(connection, socket.socket):
        return connection
    raise SandboxError(
        f"docker-py returned a {type(connection).__name__} for an exec socket, not a socket",
        hint="DOCKER_HOST over ssh or a named pipe is not supported; use the local unix socket or tcp/TLS "
        "(or install the docker-py version pyproject.toml names)",
    )
