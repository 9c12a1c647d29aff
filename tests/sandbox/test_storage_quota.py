"""The profile's disk limit where the storage driver enforces it (the `storage_opt` size): against
a real engine on a file system with quotas (quota_engine.py), the container is created with the
size where the driver's size bounds the layer alone (overlay2 on xfs), the watchdog runs as
everywhere, and nothing passes the limit: a file stops at the kernel's bound, many at the
watchdog or the full file system."""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path

import docker
import pytest
from quota_engine import BACKINGS, QuotaEngine, Unavailable, quota_engine
from run_watch import first_stop, until

from termagent.sandbox.container import Sandbox, SandboxSpec
from termagent.sandbox.disk import parse_size
from termagent.sandbox.lifecycle import LABEL
from termagent.sandbox.profiles import load_profile

pytestmark = pytest.mark.docker
# overlay2 on xfs: the size bounds the writable layer, the limit the profile means.
on_xfs = pytest.mark.parametrize("engine", ["xfs"], indirect=True)

LIMIT = "256m"
# What the watchdog promises against a burst (README, "Disk"): the limit and what passes before a
# stop acts, under a tenth more; past that the container ends.
WATCHDOG_BOUND = parse_size(LIMIT) * 11 // 10


@pytest.fixture(scope="session")
def engine(request, docker_client, sandbox_image, tmp_path_factory):
    with ExitStack() as stack:
        workdir = tmp_path_factory.mktemp(f"{request.param}-engine")
        try:
            started = stack.enter_context(quota_engine(BACKINGS[request.param], workdir, sandbox_image, docker_client))
        except Unavailable as reason:
            pytest.skip(f"no engine on {request.param} with quotas: {reason}")
        yield started


@pytest.fixture
def sandbox(engine: QuotaEngine, sandbox_image):
    spec = SandboxSpec(image=sandbox_image, profile=load_profile("default").with_overrides(disk=LIMIT))
    with Sandbox(spec, client=engine.client) as started:
        yield started
    assert not engine.client.api.containers(all=True, filters={"label": LABEL}), "a sandbox container left"


def _writable_layer(client: docker.DockerClient, sandbox: Sandbox) -> int:
    found = client.api.containers(all=True, size=True, filters={"id": sandbox.container.id})
    return int(found[0].get("SizeRw") or 0)


def _ended(engine: QuotaEngine, sandbox: Sandbox) -> None:
    running = engine.client.api.inspect_container
    until(lambda: not running(sandbox.container.id)["State"]["Running"], "the container's end")


def _free(engine: QuotaEngine) -> int:
    return shutil.disk_usage(engine.data_root).free


@on_xfs
def test_the_container_takes_the_size_and_the_watchdog_runs(engine, sandbox):
    host_config = engine.client.api.inspect_container(sandbox.container.id)["HostConfig"]
    assert host_config["StorageOpt"] == {"size": LIMIT.upper()}
    assert sandbox.disk_watch is not None


@on_xfs
def test_dd_past_the_limit_fails_and_the_file_system_loses_at_most_the_limit(engine, sandbox):
    shell = sandbox.shell
    free_before = _free(engine)
    result = shell.run("dd if=/dev/zero of=/root/fill bs=1M count=2048; echo dd-exit=$?\n", duration=120)
    assert result.finished
    # The kernel's bound on one file (under the limit), the watchdog, or a full file system.
    assert (
        ("File size limit exceeded" in result.output and "dd-exit=153" in result.output)
        or result.stopped is not None
        or (engine.backing.full in result.output and "dd-exit=1" in result.output)
    ), result.output
    assert _writable_layer(engine.client, sandbox) <= parse_size(LIMIT)
    assert free_before - _free(engine) <= parse_size(LIMIT)
    # The sandbox goes on: what is there can be removed, and the space comes back (btrfs gives
    # it back to the quota group when its transaction commits: sync).
    assert "rm-exit=0" in shell.run("rm /root/fill && sync; echo rm-exit=$?\n", duration=30).output
    assert shell.run("head -c 1M /dev/zero > /root/again; echo again=$?\n", duration=30).output.count("again=0")


@on_xfs
def test_many_files_are_stopped_or_end_with_the_file_system_full(engine, sandbox):
    shell = sandbox.shell
    free_before = _free(engine)
    # Each file under the kernel's bound on one file, together far over the limit.
    writer = "for n in $(seq 20); do head -c 100M /dev/zero > /root/f$n || { echo stopped-at=$n; break; }; done\n"
    result = shell.run(writer, duration=120)
    assert result.finished
    assert result.stopped is not None or (engine.backing.full in result.output and "stopped-at=" in result.output)
    assert _writable_layer(engine.client, sandbox) <= parse_size(LIMIT)
    assert free_before - _free(engine) <= parse_size(LIMIT)


@pytest.mark.parametrize("engine", sorted(BACKINGS), indirect=True)
def test_the_sandbox_gets_its_limit_and_no_more(engine, sandbox):
    # btrfs's size would count the image and stop holding once removed containers leave its quota
    # groups inconsistent: not given there (the watchdog bounds the layer).
    shell = sandbox.shell
    free_before = _free(engine)
    most = shell.run("head -c 200M /dev/zero > /root/most; echo written=$?; rm -f /root/most && sync\n", duration=120)
    assert "written=0" in most.output, most.output
    writer = "for n in $(seq 20); do head -c 100M /dev/zero > /root/f$n || break; done\n"
    result = shell.run(writer, duration=120)
    if result.stopped is not None and result.stopped.ended:
        # A burst faster than the measurements passed the limit by a tenth: the container ended.
        _ended(engine, sandbox)
        return
    assert _writable_layer(engine.client, sandbox) <= WATCHDOG_BOUND
    assert free_before - _free(engine) <= WATCHDOG_BOUND


@pytest.mark.parametrize("engine", sorted(BACKINGS), indirect=True)
def test_the_files_the_engine_mounts_count_against_the_limit(engine, sandbox):
    # /etc/hosts, /etc/hostname and /etc/resolv.conf live in the engine's directory, outside the
    # layer the size bounds: each under the bound on one file, together over the limit, for the
    # watchdog to stop.
    fill = "for f in /etc/hosts /etc/resolv.conf /etc/hostname; do head -c 150M /dev/zero >> $f; done\n"
    stop = first_stop(sandbox.shell, sandbox.shell.run(fill, duration=120))
    assert stop is not None
    if stop.ended:  # a burst faster than the measurements: the container ended
        _ended(engine, sandbox)
        return
    info = engine.client.api.inspect_container(sandbox.container.id)
    on_host = sum(Path(info[key]).stat().st_size for key in ("HostsPath", "ResolvConfPath", "HostnamePath"))
    assert on_host + _writable_layer(engine.client, sandbox) <= WATCHDOG_BOUND
