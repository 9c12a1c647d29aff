"""The sandbox container: created hardened through the docker SDK, always removed at the end."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import docker
import yaml
from docker.errors import APIError, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.types import LogConfig, Ulimit

from termagent.errors import SandboxError
from termagent.sandbox import DEFAULT_IMAGE, MAX_INPUT_BYTES
from termagent.sandbox.disk import DiskWatch, file_size_cap, parse_size
from termagent.sandbox.docker_connect import connect
from termagent.sandbox.lifecycle import reap_orphans, sandbox_labels
from termagent.sandbox.profiles import SandboxProfile, load_profile
from termagent.sandbox.seccomp import security_option
from termagent.sandbox.session import ShellSession

_SHELL_ENV = yaml.safe_load(Path(__file__).with_name("shell_env.yaml").read_text(encoding="utf-8"))
# Keeps the container alive while the shell is exec'd into it; docker's init reaps zombies.
_KEEPALIVE = ["sleep", "infinity"]
# Per engine (its ID): whether its storage driver takes a size for the writable layer. overlay2
# takes one only on xfs with project quotas: learned by trying once.
_SIZE_OPTION_WORKS: dict[str, bool] = {}


@dataclass(frozen=True)
class SandboxSpec:
    image: str = DEFAULT_IMAGE
    profile: SandboxProfile = field(default_factory=lambda: load_profile("default"))
    columns: int = 160
    lines: int = 40
    # Host paths to mount (docker.types.Mount); empty unless the user asks for a workspace.
    mounts: tuple[docker.types.Mount, ...] = ()
    max_input_bytes: int = MAX_INPUT_BYTES  # the largest keystroke string typed in one command


class Sandbox:
    """A running sandbox container with one shell session; use as a context manager."""

    def __init__(self, spec: SandboxSpec, client: docker.DockerClient | None = None) -> None:
        self.spec = spec
        self._client = client
        self._container: Container | None = None
        self._shell: ShellSession | None = None
        # Watches the disk limit (started with the shell).
        self.disk_watch: DiskWatch | None = None

    def __enter__(self) -> Sandbox:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def container(self) -> Container:
        """The running container (a SandboxError before start() or after close())."""
        if self._container is None:
            raise SandboxError("the sandbox has no container: it was not started, or it was closed.")
        return self._container

    @property
    def shell(self) -> ShellSession:
        """The shell session (a SandboxError before start())."""
        if self._shell is None:
            raise SandboxError("the sandbox has no shell: it was not started.")
        return self._shell

    def start(self) -> ShellSession:
        client = self._client = self._client or connect()
        reap_orphans(client)
        container = self._container = self._create(client)
        try:
            container.start()
        except APIError as error:
            raise SandboxError(
                f"the sandbox container did not start: {error.explanation or error}",
                hint=f"Check that {self.spec.image} has `sleep` and a shell.",
            ) from error
        shell = self._shell = ShellSession(
            client.api,
            container.id,
            columns=self.spec.columns,
            lines=self.spec.lines,
            max_input_bytes=self.spec.max_input_bytes,
        )
        shell.start()
        # Watched even where the engine bounds the layer: the files it mounts from its own
        # directory are outside that bound, and a stop tells the model more than a full disk.
        self.disk_watch = DiskWatch(client.api, container.id, parse_size(self.spec.profile.disk))
        self.disk_watch.start()
        shell.limit_stops = self.disk_watch.take_stop
        return shell

    def _create(self, client: docker.DockerClient) -> Container:
        try:
            info = client.info()
            engine = info.get("ID") or client.api.base_url  # every local engine's URL is the same
            if engine not in _SIZE_OPTION_WORKS:
                # Only overlay2's size bounds the writable layer alone: btrfs's counts the image
                # too, and stops being enforced once its quota groups go inconsistent.
                _SIZE_OPTION_WORKS[engine] = info.get("Driver") == "overlay2"
            if _SIZE_OPTION_WORKS[engine]:
                try:
                    container = self._create_with(client, {"size": self.spec.profile.disk.upper()})
                except APIError:
                    # Refused with a size: if it is taken without one, the size was what the
                    # engine refused (its storage driver cannot bound the layer): the watchdog does.
                    container = self._create_with(client, None)
                    _SIZE_OPTION_WORKS[engine] = False
                    return container
                return container
            return self._create_with(client, None)
        except ImageNotFound as error:
            hint = (
                "Build it: `termagent sandbox build` (or `termagent sandbox build --offline` without a registry)."
                if self.spec.image == DEFAULT_IMAGE
                else f"Pull or build it first: `docker pull {self.spec.image}`."
            )
            raise SandboxError(f"the sandbox image {self.spec.image} is not there.", hint=hint) from error
        except APIError as error:
            raise SandboxError(f"could not create the sandbox container: {error.explanation or error}") from error

    def _create_with(self, client: docker.DockerClient, storage_opt: dict[str, str] | None) -> Container:
        profile = self.spec.profile
        file_cap = file_size_cap(parse_size(profile.disk))
        tmpfs = {"/tmp": f"size={profile.tmp_size},mode=1777"}
        if profile.read_only:
            tmpfs["/root"] = "size=16m,mode=700"
            # /app must stay writable, unless the user's directory is mounted there.
            if not any(mount["Target"] == "/app" for mount in self.spec.mounts):
                tmpfs["/app"] = f"size={profile.tmp_size}"
        return client.containers.create(
            self.spec.image,
            entrypoint=_KEEPALIVE,
            command=[],
            labels=sandbox_labels(),
            init=True,
            working_dir="/app",
            environment=_SHELL_ENV,
            network_mode=profile.network,
            cap_drop=["ALL"],
            cap_add=list(profile.cap_add),
            # termagent's seccomp filter: no setuid/setgid files, devices, file capabilities
            # or new namespaces, whatever the capabilities (seccomp.yaml says why).
            security_opt=["no-new-privileges", security_option()],
            pids_limit=profile.pids_limit,
            # fsize: the kernel's own bound on any one file, under the disk limit (disk.py says why).
            # core: none, hard limit too. The kernel writes a core past fsize, or, where the host's
            # core_pattern is a pipe, hands it to a host program (systemd-coredump, apport: they
            # honour this limit) that stores it on the host; the engine's (docker.service:
            # infinity) is inherited otherwise.
            ulimits=[Ulimit(name="fsize", soft=file_cap, hard=file_cap), Ulimit(name="core", soft=0, hard=0)],
            mem_limit=profile.memory,
            memswap_limit=profile.memory,
            nano_cpus=int(profile.cpus * 1e9),
            tmpfs=tmpfs,
            read_only=profile.read_only,
            mounts=list(self.spec.mounts),
            storage_opt=storage_opt,
            # Nothing reads the container's own output (the shell is an exec with its stream), and
            # a log on the host's disk is one a process in the sandbox could grow without bound
            # by writing to init's stdout.
            log_config=LogConfig(type=LogConfig.types.NONE),
        )

    def close(self) -> None:
        if self.disk_watch is not None:
            self.disk_watch.close()
        if self._shell is not None:
            self._shell.close()
        if self._container is not None:
            with contextlib.suppress(NotFound):
                try:
                    self._container.remove(force=True)
                except APIError as error:
                    # 409 Conflict: a removal of this container is already under way.
                    if error.status_code != 409:
                        raise SandboxError(
                            f"could not remove sandbox container {self._container.name}: {error}",
                            hint="Remove it with `termagent sandbox prune`.",
                        ) from error
            self._container = None
