"""The one place termagent leans on docker-py's and CPython's socket internals: an exec socket
from the real Docker engine must come back as the type `raw_socket` expects, and the socket it
returns must carry bytes both ways."""

from __future__ import annotations

import select
import socket

import pytest

from termagent.errors import SandboxError
from termagent.sandbox import DEFAULT_IMAGE
from termagent.sandbox.docker_connect import connect, raw_socket


@pytest.fixture
def container():
    client = connect()
    created = client.containers.run(DEFAULT_IMAGE, ["sleep", "600"], detach=True, network_mode="none")
    try:
        yield created
    finally:
        created.remove(force=True)


def test_an_exec_socket_is_unwrapped_to_a_working_socket(container):
    api = container.client.api
    exec_id = api.exec_create(container.id, ["cat"], stdin=True, tty=True)["Id"]
    connection = api.exec_start(exec_id, socket=True, tty=True)
    try:
        # docker-py 7 over the unix socket: the standard library's SocketIO around the socket.
        assert isinstance(connection, socket.SocketIO | socket.socket), type(connection)
        raw = raw_socket(connection)
        assert isinstance(raw, socket.socket)
        assert raw.fileno() >= 0
        raw.sendall(b"ping\n")
        echoed = b""
        while b"ping" not in echoed:
            ready, _, _ = select.select([raw], [], [], 60)
            assert ready, f"no echo from cat within 60 s: {echoed!r}"
            chunk = raw.recv(4096)
            assert chunk, f"the exec socket closed early: {echoed!r}"
            echoed += chunk
    finally:
        connection.close()


def test_anything_else_fails_loudly():
    with pytest.raises(SandboxError, match="not a socket"):
        raw_socket(object())
