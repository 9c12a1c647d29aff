"""A real llama-cpp-python OpenAI-compatible server (`python -m llama_cpp.server`) on 127.0.0.1,
serving SmolLM2's GGUF. scripts/llama-server-wheel.sh builds and installs llama-cpp-python once per
machine (scripts/test.sh runs it, so CI always has it)."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ALIAS = "smollm2"
N_CTX = 2048  # llama-cpp-python's default, stated as such by termagent when the server does not say
START_SECONDS = 300.0


def llama_cpp_missing() -> str | None:
    """Why the server cannot start here, or None."""
    if importlib.util.find_spec("llama_cpp") is None:
        return (
            "llama-cpp-python is not installed: scripts/llama-server-wheel.sh builds it from source once "
            "per machine and installs it (scripts/test.sh runs it)"
        )
    return None


class LlamaCppServer:
    def __init__(self, gguf: Path, log: Path, *, n_ctx: int = N_CTX) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.gguf, self.log_path, self.n_ctx = gguf, log, n_ctx
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LlamaCppServer:
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.gguf),
            "--model_alias",
            ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(min(2, os.cpu_count() or 1)),
            "--verbose",
            "True",
        ]
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited {self.process.returncode}: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(self.base_url + "/models", timeout=5) as response:
                    if json.load(response).get("data"):
                        return self
            except OSError:
                time.sleep(0.5)  # polling for the port to open, not synchronising on time
        self.__exit__()
        raise RuntimeError(f"llama_cpp.server did not answer within {START_SECONDS:.0f} s: {self.log()[-2000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
