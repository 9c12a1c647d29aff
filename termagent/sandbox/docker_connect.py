"""Connecting to the Docker engine, with errors that say what to do."""

from __future__ import annotations

import os
import shutil

import docker
from docker.errors import DockerException

from termagent.errors import TermagentError

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
            raise TermagentError(
                "Docker is not installed: termagent runs every command in a Docker container.",
                hint=f"Install it ({ENGINE_SCRIPT_HINT}).",
            ) from error
        raise TermagentError(
            f"the Docker engine at {host} does not answer ({_short(error)}).",
            hint=f"Start it: `sudo systemctl start docker`, or {ENGINE_SCRIPT_HINT}.",
        ) from error


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) < 200 else text[:200] + "..."
