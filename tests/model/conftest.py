from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from openai_stub_server import StubServer
from tiny_gemma import build_tiny_gemma


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
