"""The isolation is real: checked from inside a sandbox on a real Docker engine."""

import resource

import pytest

pytestmark = pytest.mark.docker


def _status_field(shell, name: str) -> str:
    output = shell.run(f"grep {name}: /proc/self/status\n", duration=5).output
    return output.splitlines()[1].split()[1]


def test_no_network(shell):
    script = (
        "import socket\n"
        "for host in ('1.1.1.1', '8.8.8.8', '172.17.0.1'):\n"
        "    try:\n"
        "        socket.create_connection((host, 53), timeout=2); print('REACHED', host)\n"
        "    except OSError as e: print('blocked', host, e.errno)\n"
    )
    result = shell.run(f'python3 -c "{script}"\n', duration=15)
    printed = [line.split()[0] for line in result.output.splitlines() if line.startswith(("REACHED ", "blocked "))]
    assert result.finished and printed == ["blocked"] * 3
    interfaces = shell.run("ls /sys/class/net\n", duration=5).output.splitlines()[1:-1]
    assert interfaces == ["lo"]


def test_mount_and_privileged_operations_fail(shell):
    assert shell.run("mount -t tmpfs none /mnt\n", duration=5).exit_status != 0
    assert _status_field(shell, "CapEff") != "000001ffffffffff"
    assert _status_field(shell, "NoNewPrivs") == "1"


def test_strict_profile_has_no_capabilities_and_a_read_only_root(sandbox_factory):
    shell = sandbox_factory("strict").shell
    assert _status_field(shell, "CapEff") == "0000000000000000"
    assert shell.run("touch /etc/x\n", duration=5).exit_status != 0
    assert shell.run("touch /app/x /tmp/x\n", duration=5).exit_status == 0


def test_fork_bomb_is_stopped_by_the_pids_limit(sandbox_factory, docker_client):
    sandbox = sandbox_factory(pids_limit=64)
    shell = sandbox.shell
    shell.run("bomb() { bomb | bomb & }; bomb\n", duration=3)
    pids = int(docker_client.api.inspect_container(sandbox.container.id)["HostConfig"]["PidsLimit"])
    stats = docker_client.api.stats(sandbox.container.id, stream=False)
    assert stats["pids_stats"]["current"] <= pids
    # The agent process itself stays responsive while the bomb runs.
    assert shell.screen_text()


def test_writing_past_the_tmpfs_size_fails_cleanly(sandbox_factory):
    shell = sandbox_factory(tmp_size="16m").shell
    result = shell.run("dd if=/dev/zero of=/tmp/fill bs=1M count=64\n", duration=20)
    assert result.finished and result.exit_status != 0
    assert "No space left on device" in result.output
    assert shell.run("echo still-fine\n", duration=5).output.splitlines()[1] == "still-fine"


@pytest.mark.slow
def test_flooding_output_keeps_memory_bounded_and_the_screen_usable(shell):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    flood = shell.run("yes\n", duration=10)
    assert not flood.finished and flood.foreground == "yes"
    assert len(flood.output) <= 10_200
    stopped = shell.run("C-c", duration=10)
    assert stopped.finished
    growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert growth_mib < 200, f"memory grew by {growth_mib:.0f} MiB"
    assert shell.run("echo usable\n", duration=5).output.splitlines()[1] == "usable"
