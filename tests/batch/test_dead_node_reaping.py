"""Sandboxes of a cluster node that died are reaped by the next termagent on that Docker engine,
even when their owner's hostname is not this machine's (a restarted pod): by the node label."""

from __future__ import annotations

import contextlib

import docker
import pytest

from termagent.sandbox.lifecycle import LABEL, NODE_LABEL, OWNER_LABEL, RUN_LABEL, reap_orphans

pytestmark = pytest.mark.docker


@pytest.fixture
def labelled_container(docker_client, sandbox_image):
    created = []

    def create(node: str) -> str:
        container = docker_client.containers.create(
            sandbox_image,
            entrypoint=["sleep", "infinity"],
            network_mode="none",
            labels={LABEL: "1", OWNER_LABEL: "another-pod:1:1", RUN_LABEL: "run-of-test", NODE_LABEL: node},
        )
        created.append(container.id)
        return container.name

    yield create
    for container_id in created:
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.api.remove_container(container_id, force=True)


def test_only_the_dead_nodes_sandboxes_are_reaped(docker_client, labelled_container):
    dead, alive = labelled_container("node-that-died"), labelled_container("node-still-alive")
    removed = reap_orphans(docker_client, dead_nodes={"node-that-died"})
    assert dead in removed and alive not in removed
    names = [c["Names"][0].lstrip("/") for c in docker_client.api.containers(all=True, filters={"label": LABEL})]
    assert dead not in names and alive in names
