"""The profile's disk limit holds against a sandbox that tries to fill the host's disk: the
kernel refuses a file past its bound, the watchdog stops the writers of many."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from run_watch import first_stop, until

from termagent.sandbox.disk import parse_size

pytestmark = pytest.mark.docker

LIMIT = "256m"
# What the watchdog promises against a burst at page-cache speed (README, "Disk"): the limit and
# what passes before a stop acts, under a tenth more; past that the container ends.
WATCHDOG_BOUND = parse_size(LIMIT) * 11 // 10


def _host_free(docker_client) -> int:
    root = docker_client.info()["DockerRootDir"]
    try:
        return shutil.disk_usage(root).free
    except OSError:
        pytest.skip(f"the engine's data directory {root} is not on this machine")


def _writable_layer(docker_client, sandbox) -> int:
    found = docker_client.api.containers(all=True, size=True, filters={"id": sandbox.container.id})
    return int(found[0].get("SizeRw") or 0)


def _within_the_watchdogs_bound(docker_client, sandbox) -> None:
    """What a stop leaves is within the watchdog's bound, or it ends the container at its next look."""
    running = docker_client.api.inspect_container

    def kept() -> bool:
        return not running(sandbox.container.id)["State"]["Running"] or (
            _writable_layer(docker_client, sandbox) <= WATCHDOG_BOUND
        )

    until(kept, "the layer within the watchdog's bound, or the container's end")


def test_dd_past_the_disk_limit_is_stopped_and_the_host_loses_at_most_the_limit(sandbox_factory, docker_client):
    sandbox = sandbox_factory(disk=LIMIT)
    shell = sandbox.shell
    free_before = _host_free(docker_client)
    result = shell.run("dd if=/dev/zero of=/root/fill bs=1M count=2048; echo dd-exit=$?\n", duration=120)
    free_after = _host_free(docker_client)
    assert result.finished
    if "dd-exit=153" in result.output:  # 128 + SIGXFSZ: the kernel's bound on one file came first
        assert "File size limit exceeded" in result.output
    else:
        assert result.stopped is not None and result.stopped.limit == "disk"
        # dd is killed, and the rest of the command line is interrupted as by Ctrl-C.
        assert result.stopped.allowed == parse_size(LIMIT) and "Killed" in result.output
        assert "dd-exit" not in result.output.splitlines()[-2]
    assert _writable_layer(docker_client, sandbox) <= parse_size(LIMIT)
    assert free_before - free_after <= parse_size(LIMIT)
    # The sandbox goes on: what is there can be read and removed, and removing is not stopped.
    removed = shell.run("ls -l /root/fill && rm /root/fill; echo rm-exit=$?\n", duration=30)
    assert "rm-exit=0" in removed.output
    assert shell.run("echo fine\n", duration=10).output.splitlines()[1] == "fine"


def test_a_background_writer_is_stopped_and_reported_with_the_next_command(sandbox_factory, docker_client):
    sandbox = sandbox_factory(disk=LIMIT)
    shell = sandbox.shell
    # Many files, each under the kernel's bound on one file: only the watchdog can stop this.
    writer = "(n=0; while :; do n=$((n+1)); cat /usr/bin/* > /root/grow$n; done) >/dev/null 2>&1 &\n"
    started = shell.run(writer, duration=5)
    waited = shell.run("wait; echo waited\n", duration=120)
    stop = started.stopped or waited.stopped
    assert stop is not None
    if stop.ended:  # a burst at page-cache speed passed the limit by a tenth first
        running = docker_client.api.inspect_container
        until(lambda: not running(sandbox.container.id)["State"]["Running"], "the container's end")
        return
    assert waited.finished
    _within_the_watchdogs_bound(docker_client, sandbox)
    left = shell.run("ps -eo comm= | grep -cx cat\n", duration=10).output.splitlines()
    assert "0" in left  # no writer left


def test_one_file_cannot_take_the_limit(sandbox_factory, docker_client):
    sandbox = sandbox_factory(disk=LIMIT)
    shell = sandbox.shell
    result = shell.run("fallocate -l 2G /root/big; echo exit=$?; ls -s /root\n", duration=30)
    # 128 + SIGXFSZ, and nothing reserved.
    assert "File size limit exceeded" in result.output and "exit=153" in result.output
    assert "0 big" in result.output
    assert _writable_layer(docker_client, sandbox) <= parse_size(LIMIT)
    assert shell.run("echo fine\n", duration=10).output.splitlines()[1] == "fine"


def test_space_reserved_at_once_ends_the_sandbox(sandbox_factory, docker_client):
    sandbox = sandbox_factory(disk=LIMIT)
    shell = sandbox.shell
    # Each file under the kernel's bound on one file, together far over the limit.
    reserve = "for n in 1 2 3 4 5 6 7 8; do fallocate -l 200M /root/big$n; done; echo reserved\n"
    results = [shell.run(reserve, duration=10)]
    deadline = time.monotonic() + 60
    while docker_client.api.inspect_container(sandbox.container.id)["State"]["Running"]:
        assert time.monotonic() < deadline, "the sandbox still runs with 2 GiB reserved"
        results.append(shell.run("true\n", duration=1))
    stops = [result.stopped for result in results if result.stopped is not None]
    assert stops and stops[0].used > parse_size(LIMIT)
    assert not shell.run("echo anyone\n", duration=5).alive


@pytest.mark.parametrize("killer", ["once", "in a loop"])
def test_a_sandbox_that_kills_the_stopper_is_still_stopped(sandbox_factory, docker_client, killer):
    sandbox = sandbox_factory(disk=LIMIT)
    shell = sandbox.shell
    # The watchdog's stopper waits in the container: an attacker finds it by its script and kills
    # it, once (it is armed again) or over and over (a stop with none armed ends the container).
    kill = "pkill -KILL -f 'echo armed'"
    if killer == "once":
        assert "pkill=0" in shell.run(f"{kill}; echo pkill=$?\n", duration=10).output
    else:
        shell.run(f"(while :; do {kill}; done) >/dev/null 2>&1 &\n", duration=5)
    writer = "(n=0; while :; do n=$((n+1)); cat /usr/bin/* > /root/grow$n; done) >/dev/null 2>&1 &\n"
    started = shell.run(writer, duration=5)
    waited = shell.run("wait; echo waited\n", duration=120)
    assert (started.stopped or waited.stopped) is not None
    if waited.alive:
        assert waited.finished, waited.output
        _within_the_watchdogs_bound(docker_client, sandbox)
    else:  # no stopper was armed when the stop came: the container was killed
        running = docker_client.api.inspect_container
        until(lambda: not running(sandbox.container.id)["State"]["Running"], "the container's end")


def test_the_files_the_engine_mounts_count_against_the_limit(sandbox_factory, docker_client):
    sandbox = sandbox_factory(disk=LIMIT)
    shell = sandbox.shell
    # /etc/hosts, /etc/hostname and /etc/resolv.conf live in the engine's directory on the host,
    # outside the writable layer: each under the bound on one file, together over the limit.
    fill = "for f in /etc/hosts /etc/resolv.conf /etc/hostname; do head -c 150M /dev/zero >> $f; done\n"
    stop = first_stop(shell, shell.run(fill, duration=120))
    assert stop is not None and stop.limit == "disk"
    if stop.ended:  # a burst at page-cache speed passed the limit by a tenth first
        running = docker_client.api.inspect_container
        until(lambda: not running(sandbox.container.id)["State"]["Running"], "the container's end")
    else:
        info = docker_client.api.inspect_container(sandbox.container.id)
        on_host = sum(Path(info[key]).stat().st_size for key in ("HostsPath", "ResolvConfPath", "HostnamePath"))
        assert on_host + _writable_layer(docker_client, sandbox) <= WATCHDOG_BOUND


def test_the_container_log_takes_no_host_disk(sandbox_factory, docker_client):
    sandbox = sandbox_factory(disk=LIMIT)
    # init's stdout is the container's log: a process in the sandbox can write to it.
    result = sandbox.shell.run("head -c 50M /dev/zero > /proc/1/fd/1; echo written=$?\n", duration=60)
    assert "written=0" in result.output
    info = docker_client.api.inspect_container(sandbox.container.id)
    assert info["HostConfig"]["LogConfig"]["Type"] == "none"
    assert not info["LogPath"] or not Path(info["LogPath"]).exists()
