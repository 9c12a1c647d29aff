"""A real Ray cluster of two nodes on this machine for the tests: a head and a worker started by
`ray start --block` as separate process groups, on free ports and private temp folders, small
(one CPU each, a 100 MB object store), so that a node can be killed like a machine that dies."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))
# Different resources on each node, so that where a task ran is visible.
HEAD = {"termagent_sandbox": 1, "test_head": 1}
WORKER = {"termagent_sandbox": 2, "test_worker": 1}
OBJECT_STORE_BYTES = 100 * 1024 * 1024
# The head notices a dead node within seconds instead of half a minute.
FAST_FAILURE_DETECTION = {
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_failure_threshold": "4",
    "RAY_health_check_timeout_ms": "1000",
}
_STARTED = "This command will now block forever"
_NODES_SCRIPT = """
import json, sys, time, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
deadline = time.monotonic() + float(sys.argv[3])
while True:
    nodes = [n for n in ray.nodes() if n["Alive"]]
    if len(nodes) >= int(sys.argv[2]) or time.monotonic() > deadline:
        break
    time.sleep(0.2)
print("NODES", json.dumps([{"id": n["NodeID"], "resources": n["Resources"]} for n in nodes]))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RayNode:
    name: str
    resources: dict[str, float]
    process: subprocess.Popen
    log: Path

    def kill(self) -> None:
        """Every process of the node at once, as when its machine dies."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)
        _kill_group(self.process.pid)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _joined(node: RayNode, timeout: float = 300.0) -> bool:
    """Whether `ray start --block` says it is up (it prints this once the node has registered)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _STARTED in node.log.read_text(errors="replace"):
            return True
        if node.process.poll() is not None:
            _kill_group(node.process.pid)
            return False
        time.sleep(0.2)
    node.kill()
    return False


@dataclass
class RayCluster:
    address: str
    temp_dir: Path
    # Token authentication with a token of its own: nothing else on the machine can join or
    # submit, and a token another Ray left in ~/.ray does not get in the way.
    token: str = field(default_factory=lambda: secrets.token_hex(32))
    nodes: list[RayNode] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        """What every node and driver of this cluster runs with."""
        return (
            os.environ
            | {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}
            | FAST_FAILURE_DETECTION
        )

    def start_node(self, name: str, resources: dict[str, float], *, head: bool = False) -> RayNode:
        """Start a node and wait until it has joined; on a loaded machine `ray start` gives up after
        30 s of waiting for its own raylet, so a node that gave up is started again (3 times)."""
        for attempt in range(3):
            node = self._start_node(f"{name}-{attempt}", resources, head=head)
            if _joined(node):
                self.nodes.append(node)
                return node
        raise AssertionError(f"Ray node {name} did not start: {node.log.read_text(errors='replace')[-3000:]}")

    def _start_node(self, name: str, resources: dict[str, float], *, head: bool) -> RayNode:
        ports = {
            flag: str(free_port())
            for flag in (
                "--dashboard-agent-listen-port",
                "--dashboard-agent-grpc-port",
                "--runtime-env-agent-port",
                "--metrics-export-port",
            )
        }
        command = [
            RAY,
            "start",
            "--block",
            "--node-ip-address",
            "127.0.0.1",
            "--num-cpus",
            "1",
            "--object-store-memory",
            str(OBJECT_STORE_BYTES),
            "--resources",
            json.dumps(resources),
            "--disable-usage-stats",
            "--temp-dir",
            str(self.temp_dir),
        ]
        command += [item for pair in ports.items() for item in pair]
        if head:
            command += [
                "--head",
                "--port",
                self.address.rsplit(":", 1)[1],
                "--include-dashboard",
                "false",
                "--dashboard-port",
                str(free_port()),
            ]
        else:
            command += ["--address", self.address]
        log = self.temp_dir / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=self.environment(),
                start_new_session=True,
                cwd=self.temp_dir,
            )
        return RayNode(name, resources, process, log)

    def alive_nodes(self, count: int, timeout: float = 120.0) -> list[dict]:
        """The alive nodes (id and resources), once there are `count` of them."""
        completed = subprocess.run(
            [sys.executable, "-c", _NODES_SCRIPT, self.address, str(count), str(timeout)],
            capture_output=True,
            text=True,
            timeout=timeout + 60,
            env=self.environment(),
        )
        assert completed.returncode == 0, completed.stderr
        # Ray may print its own lines on stdout too.
        nodes = json.loads(next(line for line in completed.stdout.splitlines() if line.startswith("NODES "))[6:])
        assert len(nodes) >= count, f"only {len(nodes)} Ray node(s) came up: {self.logs()}"
        return nodes

    def node_id(self, marker: str, count: int) -> str:
        """The id of the alive node that advertises the resource `marker`."""
        return next(node["id"] for node in self.alive_nodes(count) if marker in node["resources"])

    def logs(self) -> str:
        return "\n".join(f"--- {node.name}\n{node.log.read_text(errors='replace')[-3000:]}" for node in self.nodes)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            if node.process.poll() is None:
                os.killpg(node.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for node in reversed(self.nodes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(timeout=max(1.0, deadline - time.monotonic()))
            _kill_group(node.process.pid)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def new_cluster() -> RayCluster:
    # A short folder: Ray's Unix sockets live under it, and their paths are limited to 107 bytes.
    temp_dir = Path(tempfile.mkdtemp(prefix="tg-ray-", dir="/tmp"))
    return RayCluster(address=f"127.0.0.1:{free_port()}", temp_dir=temp_dir)
