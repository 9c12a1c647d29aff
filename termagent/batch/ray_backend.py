"""Running a batch's tasks on a Ray cluster instead of local threads.

Each task is one Ray task that calls the same per-task function as a local run (`run_task`, or
eval's `run_with_agent`), on a node that advertises the custom resource `termagent_sandbox` (one
per task: the node's number of sandboxes at a time). The trajectory is written on the worker and
sent back as bytes into the driver's output directory, unless every node shares an output path.

Retries are done here rather than by Ray's `max_retries`, because the report must say how many
attempts a task took and Ray does not tell the caller: a task whose worker or node died is
submitted once more (Ray places it on a live node); an error inside the task is not retried.
Sandboxes are labelled with the run and the node, so that those of a dead node are reaped by the
next task that starts where they are.
"""

from __future__ import annotations

import dataclasses
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from termagent.batch.runner import TaskReport
from termagent.errors import ConfigurationError
from termagent.model.engines.auto import EngineOptions, create_engine

RESOURCE = "termagent_sandbox"
RETRIES = 1  # more attempts after a worker or node died
CANCEL_GRACE_SECONDS = 60.0  # for interrupted tasks to remove their sandboxes before they are killed


@dataclass(frozen=True)
class Job:
    """One task: `run` runs it headless with its trajectory at the path it is given."""

    name: str
    run: Callable[[Path], TaskReport]


@dataclass(frozen=True)
class _Outcome:
    report: TaskReport
    node: str
    files: dict[str, bytes]  # the attempt's output files by name (empty when written to a shared path)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise ConfigurationError("--ray needs Ray", hint="pip install 'termagent[ray]'") from error
    return ray


def remote_engine_options(options: EngineOptions) -> EngineOptions:
    """The engine options every worker builds its own engine from: only an engine that takes
    concurrent requests (a model server, shared by URL) can serve tasks on many nodes."""
    engine = create_engine(options).engine
    try:
        if not engine.concurrent:
            raise ConfigurationError(
                f"--ray cannot share the in-process {engine.name} engine between nodes: it holds the model in "
                "one process and takes one request at a time",
                hint="serve the model with `vllm serve MODEL` and pass --engine openai --base-url URL "
                "(a URL every node can reach); see docs/ray.md",
            )
    finally:
        engine.close()
    return dataclasses.replace(options, kind=engine.name)


def _attempt(job: Job, run_id: str, shared_dir: str | None) -> _Outcome:
    """One attempt of `job` on a worker (runs in the Ray worker process)."""
    import ray

    from termagent.sandbox.docker_connect import connect
    from termagent.sandbox.lifecycle import cluster_owner, reap_orphans

    node = ray.get_runtime_context().get_node_id()
    dead = {entry["NodeID"] for entry in ray.nodes() if not entry["Alive"]}
    client = connect()
    try:
        reap_orphans(client, dead_nodes=dead)
    finally:
        client.close()
    with cluster_owner(run_id, node), tempfile.TemporaryDirectory(prefix="termagent-ray-") as scratch:
        out = Path(shared_dir or scratch)
        report = job.run(out / f"{job.name}.jsonl")
        files = {} if shared_dir else {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    return _Outcome(report, node, files)


def _connect(ray: Any, address: str | None, slots: int) -> None:
    """Join the cluster at `address`, or start a local one with `slots` sandboxes at a time; a
    caller that already called ray.init (with its own options) is left as it is."""
    options: dict[str, Any] = (
        {"address": address} if address else {"resources": {RESOURCE: slots}, "include_dashboard": False}
    )
    try:
        if not ray.is_initialized():
            ray.init(**options, logging_level="WARNING", log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ConfigurationError(
            f"cannot reach the Ray cluster at {address or 'a new local cluster'}: {error}",
            hint="start one with `ray start --head --resources '{\"termagent_sandbox\": 2}'` "
            "and pass --ray HOST:PORT (or --ray auto on a node of it)",
        ) from error
    if not ray.cluster_resources().get(RESOURCE):
        ray.shutdown()
        raise ConfigurationError(
            f"no node of the Ray cluster offers the resource {RESOURCE}",
            hint=f"start the nodes with `ray start --resources '{{\"{RESOURCE}\": N}}'` "
            "(N sandboxes at a time; see docs/ray.md)",
        )


def _save(outcome: _Outcome, output_dir: Path, attempts: int) -> TaskReport:
    for name, content in outcome.files.items():
        # Names come from the worker's own scratch folder; a path would escape the output folder.
        if Path(name).name != name or name in (".", ".."):
            raise ConfigurationError(
                f"a worker returned an output file with a path in its name: {name!r}",
                hint="every node of the Ray cluster must run this version of termagent",
            )
        (output_dir / name).write_bytes(content)
    report = outcome.report
    trajectory = output_dir / Path(report.trajectory).name if outcome.files else Path(report.trajectory)
    return dataclasses.replace(report, node=outcome.node, attempts=attempts, trajectory=str(trajectory))


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def run_on_ray(
    jobs: Sequence[Job],
    *,
    address: str | None,
    slots: int,
    output_dir: Path,
    run_id: str,
    on_done: Callable[[TaskReport], None],
    on_cancel: Callable[[int], None] = lambda count: None,
    shared_dir: Path | None = None,
) -> list[TaskReport]:
    """Run every job on the cluster at `address` (None: start a local one with `slots` sandboxes);
    `on_done` sees each task's report once, as it finishes. Reports come back in the jobs' order;
    the sandboxes carry `run_id` in their labels. On Ctrl-C the tasks not done are cancelled
    (`on_cancel` hears how many) and KeyboardInterrupt goes on."""
    ray = _import_ray()
    from ray.exceptions import NodeDiedError, ObjectLostError, RayTaskError, WorkerCrashedError

    lost = (WorkerCrashedError, NodeDiedError, ObjectLostError)
    output_dir.mkdir(parents=True, exist_ok=True)
    _connect(ray, address, slots)
    remote = ray.remote(_attempt).options(num_cpus=0, resources={RESOURCE: 1}, max_retries=0)
    shared = str(shared_dir.resolve()) if shared_dir else None
    pending: dict[Any, tuple[Job, int]] = {}

    def submit(job: Job, attempt: int) -> None:
        pending[remote.remote(job, run_id, shared)] = (job, attempt)

    for job in jobs:
        submit(job, 1)
    reports: dict[str, TaskReport] = {}
    try:
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            job, attempt = pending.pop(ref)
            try:
                report = _save(ray.get(ref), output_dir, attempt)
            except lost as error:
                if attempt <= RETRIES:
                    submit(job, attempt + 1)
                    continue
                report = TaskReport(
                    job.name,
                    status="error",
                    attempts=attempt,
                    error=f"its Ray worker was lost {attempt} times: {type(error).__name__}",
                )
            except RayTaskError as error:  # a bug, not a lost worker: the traceback is in the worker's log
                report = TaskReport(
                    job.name,
                    status="error",
                    attempts=attempt,
                    error=f"failed on Ray: {type(error.cause).__name__}: {error.cause}",
                )
            reports[job.name] = report
            on_done(report)
    except KeyboardInterrupt:
        _cancel(ray, list(pending))
        on_cancel(len(pending))
        raise
    finally:
        ray.shutdown()
    return [reports[job.name] for job in jobs]


def _cancel(ray: Any, refs: list[Any]) -> None:
    """Interrupt the running tasks (their sandboxes are removed as on Ctrl-C locally) and drop
    the queued ones; a task that does not end within the grace time is killed, and its sandbox is
    then reaped by the next termagent on that node."""
    if not refs:
        return
    for ref in refs:
        ray.cancel(ref)
    _, stuck = ray.wait(refs, num_returns=len(refs), timeout=CANCEL_GRACE_SECONDS)
    for ref in stuck:
        ray.cancel(ref, force=True)
