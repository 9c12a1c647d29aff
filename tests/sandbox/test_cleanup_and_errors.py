"""No container outlives termagent, and every environment problem is a message, not a traceback."""

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import docker
import pytest
from project_paths import TERMAGENT

from termagent.sandbox.lifecycle import LABEL, OWNER_LABEL, owner_identity

pytestmark = pytest.mark.docker


def _containers_of(docker_client, pid: int) -> list:
    # The owner's identity also holds its start time, unknown once it is dead: match the pid.
    prefix = owner_identity(pid).rsplit(":", 1)[0] + ":"
    # The raw listing: the SDK's list() inspects each container and fails on one removed meanwhile.
    return [
        c["Id"]
        for c in docker_client.api.containers(all=True, filters={"label": LABEL})
        if (c.get("Labels") or {}).get(OWNER_LABEL, "").startswith(prefix)
    ]


def _start_waiting_run(docker_client, sandbox_image):
    process = subprocess.Popen(
        [TERMAGENT, "sandbox", "run", "--duration", "120", "sleep 1000\n"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120  # generous: the machine may be busy
    while not _containers_of(docker_client, process.pid):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    # In the shell's run: the command it typed is running in the container.
    container = _containers_of(docker_client, process.pid)[0]
    while not any("sleep 1000" in " ".join(row) for row in _processes(docker_client, container)):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    return process


def _processes(docker_client, container) -> list[list[str]]:
    try:
        return docker_client.api.top(container)["Processes"] or []
    except docker.errors.APIError:  # created, not started yet
        return []


@pytest.mark.parametrize("signal_number, exit_code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_container_removed_on_signal(docker_client, sandbox_image, signal_number, exit_code):
    process = _start_waiting_run(docker_client, sandbox_image)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == exit_code
    assert "Traceback" not in stderr
    assert _containers_of(docker_client, process.pid) == []


def test_container_removed_on_exception(sandbox_factory, docker_client):
    from termagent.sandbox.container import Sandbox, SandboxSpec

    with pytest.raises(RuntimeError), Sandbox(SandboxSpec(), client=docker_client) as sandbox:
        container_id = sandbox.container.id
        raise RuntimeError("boom")
    assert not docker_client.api.containers(all=True, filters={"id": container_id})


def test_killed_process_orphans_are_reaped_on_next_start_and_by_prune(docker_client, sandbox_image, sandbox_factory):
    for reap in ("next start", "prune"):
        process = _start_waiting_run(docker_client, sandbox_image)
        process.kill()
        process.wait()
        assert len(_containers_of(docker_client, process.pid)) == 1
        if reap == "next start":
            sandbox_factory()
        else:
            completed = subprocess.run([TERMAGENT, "sandbox", "prune"], capture_output=True, text=True, timeout=60)
            assert completed.returncode == 0 and "removed 1" in completed.stdout
        assert _containers_of(docker_client, process.pid) == []


def _run_cli(*args, env=None):
    return subprocess.run(
        [TERMAGENT, "sandbox", "run", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_cli_json_reports_each_command_then_the_screen(sandbox_image):
    completed = _run_cli("--json", "cd /tmp\n", "false\n", "sleep 5\n", "C-c", "--duration", "0.5")
    assert completed.returncode == 0, completed.stderr
    records = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [r.get("keystrokes") for r in records[:-1]] == ["cd /tmp\n", "false\n", "sleep 5\n", "C-c"]
    assert records[0]["cwd"] == "/tmp" and records[1]["exit_status"] == 1
    assert records[2]["finished"] is False and records[2]["foreground"] == "sleep"
    assert records[3]["finished"] is True
    assert set(records[0]) >= {"keystrokes", "finished", "exit_status", "cwd", "foreground", "output", "elapsed"}
    assert records[-1]["screen"].splitlines()[-1].endswith(":/tmp#")


def test_daemon_down_is_a_clear_error():
    completed = _run_cli("ls\n", env={"DOCKER_HOST": "unix:///tmp/no-such-docker.sock"})
    assert completed.returncode == 2
    assert "does not answer" in completed.stderr and "Traceback" not in completed.stderr


def test_docker_not_installed_is_a_clear_error():
    completed = _run_cli(
        "ls\n", env={"DOCKER_HOST": "unix:///tmp/no-such-docker.sock", "PATH": str(Path(sys.executable).parent)}
    )
    assert completed.returncode == 2
    assert "Docker is not installed" in completed.stderr and "Traceback" not in completed.stderr


def test_missing_image_names_the_build_command():
    completed = _run_cli("ls\n", "--image", "termagent-sandbox:no-such-tag")
    assert completed.returncode == 2 and "not there" in completed.stderr and "Traceback" not in completed.stderr
    completed = _run_cli("ls\n", "--image", "termagent-sandbox:bookworm")
    assert completed.returncode == 0


@pytest.fixture(scope="module")
def image_without_bash(docker_client, sandbox_image):
    container = docker_client.containers.run(sandbox_image, ["rm", "/bin/bash", "/usr/bin/bash"], detach=True)
    container.wait()
    image = container.commit(repository="termagent-test", tag="no-bash")
    container.remove()
    yield "termagent-test:no-bash"
    docker_client.images.remove(image.id, force=True)


@pytest.fixture(scope="module")
def image_without_shell(docker_client):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        directory = tarfile.TarInfo("app")
        directory.type = tarfile.DIRTYPE
        archive.addfile(directory)
    docker_client.api.import_image_from_data(data.getvalue(), repository="termagent-test", tag="empty")
    yield "termagent-test:empty"
    docker_client.images.remove("termagent-test:empty", force=True)


def test_image_without_bash_falls_back_to_sh_with_a_warning(image_without_bash):
    completed = _run_cli("--json", "echo via-sh\n", "--image", image_without_bash)
    assert completed.returncode == 0, completed.stderr
    assert "no bash" in completed.stderr and "using sh" in completed.stderr
    assert "via-sh" in json.loads(completed.stdout.splitlines()[0])["output"].splitlines()


def test_image_without_any_shell_is_a_clear_error(image_without_shell, docker_client):
    completed = _run_cli("ls\n", "--image", image_without_shell)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert "termagent: error:" in completed.stderr
