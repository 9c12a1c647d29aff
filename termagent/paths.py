"""Where termagent keeps the person's files: configuration, state (trajectories) and caches.

The one place that knows the platform's conventions; on Linux these follow the XDG base
directories (`$XDG_CONFIG_HOME`, `$XDG_STATE_HOME`, `$XDG_CACHE_HOME`), through platformdirs.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

_APP = "termagent"


def config_dir() -> Path:
    """~/.config/termagent: config.yaml and the person's policy.yaml."""
    return platformdirs.user_config_path(_APP)


def state_dir() -> Path:
    """~/.local/state/termagent: trajectories of past runs."""
    return platformdirs.user_state_path(_APP)


def cache_dir() -> Path:
    """~/.cache/termagent: things that can be rebuilt (downloaded or built artefacts)."""
    return platformdirs.user_cache_path(_APP)
