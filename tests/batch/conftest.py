from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from ray_cluster import HEAD, WORKER, RayCluster, new_cluster  # noqa: E402


@pytest.fixture
def ray_cluster(sandbox_image) -> Iterator[RayCluster]:
    """A head with one sandbox slot and a worker with two, as separate process groups."""
    pytest.importorskip("ray")
    cluster = new_cluster()
    try:
        cluster.start_node("head", HEAD, head=True)
        cluster.alive_nodes(1)
        cluster.start_node("worker", WORKER)
        cluster.alive_nodes(2)
        yield cluster
    finally:
        cluster.stop()
