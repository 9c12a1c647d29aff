from __future__ import annotations

from pathlib import Path

import pytest

from termagent.policy.engine import Policy
from termagent.policy.loader import load_policy


@pytest.fixture(scope="session")
def default_policy() -> Policy:
    return load_policy("default")


@pytest.fixture(scope="session")
def strict_policy() -> Policy:
    return load_policy("strict")


@pytest.fixture(scope="session")
def auto_policy() -> Policy:
    return load_policy("sandboxed-auto")


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never read or write the real ~/.config/termagent/policy.yaml."""
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config
