"""`termagent batch --ray` against a real two-node Ray cluster on this machine (tests/batch/ray_cluster.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from project_paths import EXAMPLES, TERMAGENT
from ray_cluster import WORKER

from termagent.sandbox.lifecycle import LABEL, NODE_LABEL, RUN_LABEL

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]


def batch(cluster, tasks_file: Path, output_dir: Path, *options: str, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [TERMAGENT, "batch", str(tasks_file), "--ray", cluster.address, "--output-dir", str(output_dir), *options],
        env=cluster.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def finish(process: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout + stderr


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def containers(docker_client, label: str, value: str | None = None) -> list[dict]:
    wanted = f"{label}={value}" if value is not None else label
    return docker_client.api.containers(all=True, filters={"label": [LABEL, wanted]})


def slow_tasks(tmp_path: Path, count: int, seconds: int) -> Path:
    """`count` replayed tasks that each keep a sandbox busy for `seconds`, then pass their check."""

    def reply(commands=(), complete=False) -> str:
        text = json.dumps(
            {
                "analysis": "a",
                "plan": "p",
                "task_complete": complete,
                "commands": [{"keystrokes": k, "duration": d} for k, d in commands],
            }
        )
        return json.dumps({"reply": text}) + "\n"

    replies = tmp_path / "slow.jsonl"
    replies.write_text(
        reply([(f"sleep {seconds}; echo done > /app/done\n", seconds + 30)])
        + reply(complete=True)
        + reply(complete=True)
    )
    tasks = [
        {
            "name": f"slow-{n}",
            "task": "wait, then write /app/done",
            "replay": str(replies),
            "check": "test -f /app/done",
        }
        for n in range(count)
    ]
    path = tmp_path / "slow.yaml"
    path.write_text(json.dumps({"defaults": {"policy": "sandboxed-auto", "max_steps": 5}, "tasks": tasks}))
    return path


def test_examples_run_on_both_nodes_and_trajectories_come_back(ray_cluster, docker_client, tmp_path):
    head, worker = ray_cluster.node_id("test_head", 2), ray_cluster.node_id("test_worker", 2)
    code, output = finish(batch(ray_cluster, EXAMPLES / "tasks.yaml", tmp_path / "out"))
    assert code == 0, output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    results = report["results"]
    assert report["passed"] == report["tasks"] == 3 and all(r["check"] == "passed" for r in results)
    # Three tasks at once on one slot of the head and two of the worker: both nodes take some.
    assert {r["node"] for r in results} == {head, worker}
    assert all(r["attempts"] == 1 for r in results)
    for result in results:
        trajectory = tmp_path / "out" / f"{result['name']}.jsonl"
        assert result["trajectory"] == str(trajectory)
        types = [json.loads(line)["type"] for line in trajectory.read_text().splitlines()]
        assert types[0] == "run_started" and "run_finished" in types
    assert not containers(docker_client, RUN_LABEL, report["run_id"])


def test_eval_live_runs_on_both_nodes(ray_cluster, tmp_path):
    head, worker = ray_cluster.node_id("test_head", 2), ray_cluster.node_id("test_worker", 2)
    completed = subprocess.run(
        [
            TERMAGENT,
            "eval",
            "live",
            str(EXAMPLES / "live"),
            "--oracle",
            "--ray",
            ray_cluster.address,
            "--output-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=ray_cluster.environment(),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads((tmp_path / "summary.json").read_text())["results"]
    assert len(results) == 5 and all(r["passed"] for r in results)
    assert {r["node"] for r in results} == {head, worker} and {r["attempts"] for r in results} == {1}


def test_a_dead_worker_nodes_task_is_retried_once_elsewhere(ray_cluster, docker_client, tmp_path):
    head, worker = ray_cluster.node_id("test_head", 2), ray_cluster.node_id("test_worker", 2)
    process = batch(ray_cluster, slow_tasks(tmp_path, count=3, seconds=8), tmp_path / "out")
    try:
        wait_for(
            lambda: [c for c in containers(docker_client, NODE_LABEL, worker) if c["State"] == "running"],
            300,
            "a sandbox of the worker node",
        )
        ray_cluster.nodes[1].kill()
        code, output = finish(process)
    finally:
        process.kill()
    assert code == 0, output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    results = report["results"]
    assert sorted(r["name"] for r in results) == ["slow-0", "slow-1", "slow-2"]  # each exactly once
    assert all(r["check"] == "passed" for r in results)
    retried = [r for r in results if r["attempts"] == 2]
    assert retried and all(r["node"] == head for r in retried)
    assert all(r["attempts"] == 1 for r in results if r not in retried)
    for result in results:
        assert (tmp_path / "out" / f"{result['name']}.jsonl").exists()
    # The node comes back; the next run there leaves nothing of the dead node's sandboxes. (Its
    # workers write into a folder every node shares, here the same disk.)
    ray_cluster.start_node("worker-again", WORKER)
    again = tmp_path / "again"
    code, output = finish(batch(ray_cluster, slow_tasks(tmp_path, count=3, seconds=1), again, "--shared-output-dir"))
    assert code == 0, output
    results = json.loads((again / "report.json").read_text())["results"]
    assert all(
        Path(r["trajectory"]) == again / f"{r['name']}.jsonl" and Path(r["trajectory"]).exists() for r in results
    )
    assert not containers(docker_client, RUN_LABEL, report["run_id"])
    assert not containers(docker_client, NODE_LABEL, worker)


def test_ctrl_c_on_the_driver_cancels_the_remote_tasks(ray_cluster, docker_client, tmp_path):
    head, worker = ray_cluster.node_id("test_head", 2), ray_cluster.node_id("test_worker", 2)
    # Four tasks for three slots: three run, one waits in Ray's queue.
    process = batch(ray_cluster, slow_tasks(tmp_path, count=4, seconds=300), tmp_path / "out", start_new_session=True)
    try:

        def running() -> list[dict]:
            return [
                c
                for node in (head, worker)
                for c in containers(docker_client, NODE_LABEL, node)
                if c["State"] == "running"
            ]

        wait_for(lambda: len(running()) == 3, 300, "three running sandboxes")
        os.killpg(process.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
        code, output = finish(process, timeout=300)
    finally:
        process.kill()
    assert code == 130, output
    assert "cancelled 4 Ray task(s)" in output
    assert not [c for node in (head, worker) for c in containers(docker_client, NODE_LABEL, node)]
    assert not (tmp_path / "out" / "report.json").exists()
