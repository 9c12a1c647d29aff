"""A second, private Docker engine whose storage driver can bound a container's disk by itself:
overlay2 on xfs with project quotas, or btrfs with quota groups. Built by the tests on a loop
mounted file system image, next to the machine's engine (its own socket, data and exec roots,
pid file, containerd namespace and network namespace, no iptables rules), and torn down
completely.

Building one needs root, loop devices, mkfs for the file system, a kernel that mounts it with
quotas and a `dockerd`; without one of them, `Unavailable` says which."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
from run_watch import until

IMAGE_BYTES = 3 << 30  # sparse: only what is written takes the host's disk
_SBIN = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
_STARTUP = 180  # s for dockerd to answer: generous, a busy machine is only slower
_SHUTDOWN = 120  # s for dockerd to stop its containers and containerd before it is killed


class Unavailable(Exception):
    """This machine cannot build the engine (the reason says what is missing)."""


@dataclass(frozen=True)
class Backing:
    """A file system on which a storage driver takes a size for the container's disk."""

    fs: str
    mount_options: str  # besides `loop`
    quota_option: str  # what /proc/mounts shows when the quota is on ("" when it is not shown)
    driver: str
    full: str  # the error message a write past the size gets
    kernel: str  # what the kernel must have to mount it so


BACKINGS = {
    # xfs answers ENOSPC past a project quota; overlay2 bounds the writable layer with one.
    "xfs": Backing("xfs", "pquota", "prjquota", "overlay2", "No space left on device", "CONFIG_XFS_QUOTA"),
    # The btrfs driver turns quota groups on itself when a container asks for a size.
    "btrfs": Backing("btrfs", "", "", "btrfs", "Disk quota exceeded", "CONFIG_BTRFS_FS"),
}


@dataclass(frozen=True)
class QuotaEngine:
    backing: Backing
    client: docker.DockerClient
    data_root: Path  # the mounted file system


@contextmanager
def quota_engine(backing: Backing, workdir: Path, image: str, source: docker.DockerClient) -> Iterator[QuotaEngine]:
    """Start the engine in `workdir`, with `image` loaded from the `source` engine; everything
    (dockerd, mounts, files) is gone when the block ends, however it ends."""
    if os.geteuid() != 0:
        raise Unavailable("mounting a file system image and running dockerd need root")
    needed = (f"mkfs.{backing.fs}", "mount", "umount", "unshare", "dockerd")
    found = {name: shutil.which(name, path=_SBIN) for name in needed}
    tools = {name: path for name, path in found.items() if path is not None}
    missing = sorted(found.keys() - tools.keys())
    if missing:
        raise Unavailable(f"{', '.join(missing)} not found (scripts/install.sh --dev installs mkfs as root)")
    disk, data_root, exec_root = workdir / "disk.img", workdir / "data", workdir / "exec"
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        data_root.mkdir()
        exec_root.mkdir()
        with disk.open("wb") as file:
            file.truncate(IMAGE_BYTES)
        _run([tools[f"mkfs.{backing.fs}"], "-q", str(disk)])
        cleanup.callback(_unmount_under, workdir, tools["umount"])
        options = ",".join(filter(None, ["loop", backing.mount_options]))
        # A kernel without the file system's quota support refuses the option (dmesg says so).
        _run([tools["mount"], "-t", backing.fs, "-o", options, str(disk), str(data_root)], f"needs {backing.kernel}")
        if backing.quota_option and backing.quota_option not in _mount_options(data_root):
            raise Unavailable(f"{data_root} was mounted without {backing.quota_option}")
        client = cleanup.enter_context(_dockerd(tools["dockerd"], workdir, data_root, exec_root, backing))
        client.images.load(source.api.get_image(image))
        yield QuotaEngine(backing, client, data_root)


@contextmanager
def _dockerd(
    dockerd: str, workdir: Path, data_root: Path, exec_root: Path, backing: Backing
) -> Iterator[docker.DockerClient]:
    url = f"unix://{workdir}/docker.sock"
    config = workdir / "daemon.json"
    config.write_text("{}")  # not the machine's /etc/docker/daemon.json (its hosts, its data root)
    log = workdir / "dockerd.log"
    command = [
        # Its own network namespace: with its bridge off, dockerd deletes docker0, which is the
        # machine engine's.
        "unshare",
        "--net",
        dockerd,
        f"--config-file={config}",
        f"--host={url}",
        f"--data-root={data_root}",
        f"--exec-root={exec_root}",
        f"--pidfile={workdir}/docker.pid",
        f"--storage-driver={backing.driver}",
        # The machine's engine keeps its iptables rules and its containerd's objects.
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--ip-masq=false",
        "--containerd-namespace=termagent-quota-test",
        "--containerd-plugins-namespace=termagent-quota-test-plugins",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
    clients: list[docker.DockerClient] = []
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"dockerd ended with {process.returncode}:\n{_tail(log)}")
            try:
                client = docker.DockerClient(base_url=url)
            except (docker.errors.DockerException, OSError):
                return False
            clients.append(client)
            return True

        until(answers, f"an answer from dockerd on {url}", _STARTUP)
        client = clients[0]
        info = client.info()
        if info["Driver"] != backing.driver:
            raise AssertionError(f"dockerd runs {info['Driver']}, not {backing.driver}:\n{_tail(log)}")
        yield client
    finally:
        for client in clients:
            client.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(_SHUTDOWN)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _run(command: list[str], hint: str = "") -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise Unavailable(f"`{' '.join(command)}` failed ({'; '.join(filter(None, [hint, *said[:1]]))})")


def _mounts() -> list[tuple[str, str]]:
    """(mount point, options) of this process's mounts (octal escapes in the point decoded)."""
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        point = fields[1].encode().decode("unicode_escape")
        found.append((point, fields[3]))
    return found


def _mount_options(point: Path) -> list[str]:
    return [option for mounted, options in _mounts() if mounted == str(point) for option in options.split(",")]


def _unmount_under(directory: Path, umount: str) -> None:
    """Unmount what is mounted in `directory`, deepest first; a mount still busy is detached
    lazily (its loop device goes with it)."""
    inside = sorted(
        {point for point, _ in _mounts() if Path(point).is_relative_to(directory)},
        key=lambda point: point.count("/"),
        reverse=True,
    )
    for point in inside:
        if subprocess.run([umount, point], capture_output=True, check=False).returncode != 0:
            subprocess.run([umount, "-l", point], capture_output=True, check=False)


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
