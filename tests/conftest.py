"""Fixtures shared by every test folder: the Docker engine and the sandbox image.

Tests that need an engine are marked `docker` (the `docker_client` fixture marks them); they
skip with the reason when no engine answers. The image is built once per machine (cached by
its recipe) and reused by every test."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from termagent.errors import TermagentError

# The tiny random Gemma 4 builder and the OpenAI-compatible stub server live with the model tests;
# the agent and eval tests use them too.
sys.path.insert(0, str(Path(__file__).parent / "model"))
from openai_stub_server import StubServer  # noqa: E402
from tiny_gemma import build_tiny_gemma  # noqa: E402


@pytest.fixture(scope="session")
def docker_client():
    from termagent.sandbox.docker_connect import connect

    try:
        client = connect()
    except TermagentError as error:
        if os.environ.get("TERMAGENT_REQUIRE_DOCKER"):
            pytest.fail(f"TERMAGENT_REQUIRE_DOCKER is set but {error}")
        pytest.skip(f"needs a Docker engine: {error.message}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def sandbox_image(docker_client) -> str:
    from termagent.sandbox import DEFAULT_IMAGE
    from termagent.sandbox.image import build_image, image_is_current

    if not image_is_current(docker_client):
        if os.geteuid() != 0:
            pytest.skip("the sandbox image is not built and building it offline needs root")
        build_image(docker_client, offline=True, progress=lambda message: None)
    return DEFAULT_IMAGE


@pytest.fixture
def no_leftover_containers(docker_client):
    """Fails the test if it leaves a sandbox container of this process behind."""
    from termagent.sandbox.lifecycle import LABEL, OWNER_LABEL, owner_identity

    yield
    mine = [
        c["Id"]
        for c in docker_client.api.containers(all=True, filters={"label": LABEL})
        if (c.get("Labels") or {}).get(OWNER_LABEL) == owner_identity()
    ]
    for container_id in mine:
        docker_client.api.remove_container(container_id, force=True)
    assert not mine, f"sandbox containers left behind: {mine}"


@pytest.fixture
def sandbox_factory(docker_client, sandbox_image, no_leftover_containers):
    """Start sandboxes (removed at the end of the test): factory(profile="default", **overrides)."""
    from termagent.sandbox.container import Sandbox, SandboxSpec
    from termagent.sandbox.profiles import load_profile

    started = []

    def start(profile: str = "default", image: str | None = None, **overrides):
        spec = SandboxSpec(image=image or sandbox_image, profile=load_profile(profile).with_overrides(**overrides))
        sandbox = Sandbox(spec, client=docker_client)
        started.append(sandbox)
        sandbox.__enter__()
        return sandbox

    yield start
    for sandbox in started:
        sandbox.close()


@pytest.fixture
def shell(sandbox_factory):
    return sandbox_factory().shell


@pytest.fixture(scope="session")
def tiny_gemma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    # A 64-wide model gains nothing from threads, and loses much when other tests share the cores.
    torch.set_num_threads(1)
    return build_tiny_gemma(tmp_path_factory.mktemp("tiny-gemma4"))


@pytest.fixture
def stub_server() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


@pytest.fixture
def closed_port_url() -> str:
    """A URL on which nothing listens (the port was just free)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
