"""Making sure no sandbox container outlives termagent: labels that name the owning process (and,
on a cluster, the run and node), reaping of containers whose owner died (kill -9) or whose node
died, and SIGTERM turned into a normal exit."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Collection, Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType

import docker

LABEL = "io.termagent.sandbox"
OWNER_LABEL = "io.termagent.owner"
RUN_LABEL = "io.termagent.run"
NODE_LABEL = "io.termagent.node"

_cluster_labels: ContextVar[Mapping[str, str]] = ContextVar("termagent_cluster_labels", default=MappingProxyType({}))


def _process_start_time(pid: int) -> str | None:
    """The kernel's start time of `pid`, so a recycled pid is not mistaken for its owner."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_identity(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_process_start_time(pid)}"


def sandbox_labels() -> dict[str, str]:
    return {LABEL: "1", OWNER_LABEL: owner_identity(), **_cluster_labels.get()}


@contextlib.contextmanager
def cluster_owner(run: str, node: str) -> Iterator[None]:
    """Sandboxes started inside also name the run and the cluster node they belong to: a node's
    hostname may not survive it (a restarted pod), so its containers are known by the node id."""
    token = _cluster_labels.set({RUN_LABEL: run, NODE_LABEL: node})
    try:
        yield
    finally:
        _cluster_labels.reset(token)


def _owner_is_gone(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's container: not ours to judge
    return owner_identity(int(pid_text)) != owner or _process_start_time(int(pid_text)) is None


def reap_orphans(
    client: docker.DockerClient, *, everything: bool = False, dead_nodes: Collection[str] = ()
) -> list[str]:
    """Remove sandbox containers whose owning process is gone, or whose cluster node is among
    `dead_nodes` (all of them with `everything`). Returns the names of the containers removed."""
    removed = []
    # The raw listing carries the labels; the SDK's list() would inspect each container and fail
    # on one that another termagent process removes meanwhile.
    for container in client.api.containers(all=True, filters={"label": LABEL}):
        labels = container.get("Labels") or {}
        if everything or _owner_is_gone(labels.get(OWNER_LABEL, "")) or labels.get(NODE_LABEL) in dead_nodes:
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                client.api.remove_container(container["Id"], force=True)
                removed.append(container["Names"][0].lstrip("/"))
    return removed


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """While inside, SIGTERM raises SystemExit so `finally` blocks (container removal) run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigterm(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
