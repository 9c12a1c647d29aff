"""Building the default sandbox image: from the Dockerfile when a registry answers, or offline
from Debian's archive with debootstrap. Both are cached by a hash of the recipe files."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker
from docker.errors import APIError, BuildError, ImageNotFound

from termagent.errors import SandboxError
from termagent.sandbox import DEFAULT_IMAGE

IMAGE_DIR = Path(__file__).with_name("image")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
_REPOSITORY = DEFAULT_IMAGE.split(":")[0]
_IMAGE_CHANGES = ["ENV LANG=C.UTF-8", "WORKDIR /app", 'CMD ["bash"]']

Progress = Callable[[str], None]


def recipe_tag() -> str:
    """A tag naming this exact recipe: same files, same tag, so a rebuild can be skipped."""
    digest = hashlib.sha256()
    for name in ("packages.txt", "Dockerfile", "finish-rootfs.sh"):
        digest.update((IMAGE_DIR / name).read_bytes())
    return f"{_REPOSITORY}:recipe-{digest.hexdigest()[:16]}"


def packages() -> list[str]:
    lines = (IMAGE_DIR / "packages.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def image_is_current(client: docker.DockerClient) -> bool:
    try:
        current = client.images.get(recipe_tag())
        return DEFAULT_IMAGE in current.tags
    except ImageNotFound:
        return False


def build_image(
    client: docker.DockerClient, *, offline: bool, progress: Progress, mirror: str = DEFAULT_MIRROR, force: bool = False
) -> str:
    """Build (or find already built) the default image; returns its name."""
    if not force and image_is_current(client):
        progress(f"{DEFAULT_IMAGE} is up to date ({recipe_tag()})")
        return DEFAULT_IMAGE
    image = _build_offline(client, progress, mirror) if offline else _build_from_dockerfile(client, progress)
    image.tag(recipe_tag())
    image.tag(DEFAULT_IMAGE)
    progress(f"built {DEFAULT_IMAGE}")
    return DEFAULT_IMAGE


def _build_from_dockerfile(client: docker.DockerClient, progress: Progress):
    progress("building from the Dockerfile (pulls debian:bookworm-slim)")
    try:
        image, log = client.images.build(path=str(IMAGE_DIR), pull=True, rm=True, forcerm=True)
    except (BuildError, APIError) as error:
        raise SandboxError(
            f"could not build the sandbox image from its Dockerfile: {error}",
            hint="Without access to an image registry, build it from Debian's archive: "
            "`termagent sandbox build --offline`.",
        ) from error
    for entry in log:
        if entry.get("stream", "").strip():
            progress(entry["stream"].strip())
    return image


def _build_offline(client: docker.DockerClient, progress: Progress, mirror: str):
    if os.geteuid() != 0:
        raise SandboxError(
            "the offline build needs root (debootstrap creates device files and chroots).",
            hint="Run it as root: `sudo termagent sandbox build --offline`.",
        )
    if not shutil.which("debootstrap"):
        raise SandboxError("debootstrap is not installed.", hint="Install it: `apt-get install debootstrap`.")
    with tempfile.TemporaryDirectory(prefix="termagent-rootfs-") as work:
        root = Path(work) / "rootfs"
        _debootstrap(root, mirror, progress)
        progress("trimming the root filesystem")
        subprocess.run(["sh", str(IMAGE_DIR / "finish-rootfs.sh"), str(root)], check=True)
        tarball = Path(work) / "rootfs.tar"
        progress("packing the root filesystem")
        subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."], check=True)
        progress(f"importing into Docker ({tarball.stat().st_size // 2**20} MiB)")
        tag = recipe_tag()
        client.api.import_image_from_file(
            str(tarball), repository=_REPOSITORY, tag=tag.split(":")[1], changes=_IMAGE_CHANGES
        )
        return client.images.get(tag)


def _debootstrap(root: Path, mirror: str, progress: Progress) -> None:
    command = ["debootstrap", "--variant=minbase", f"--include={','.join(packages())}", "bookworm", str(root), mirror]
    progress(f"running {' '.join(command)}")
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip()
        tail = (tail + [line])[-15:]
        if line.startswith("I: "):
            progress(f"debootstrap [{time.monotonic() - started:4.0f}s] {line[3:]}")
    if process.wait() != 0:
        raise SandboxError(
            "debootstrap failed:\n    " + "\n    ".join(tail),
            hint=f"Check that the Debian mirror {mirror} answers (--mirror URL picks another).",
        )
