"""The sandbox: a hardened Docker container with one interactive shell, read through a
terminal emulator. It knows nothing of models or policies."""

from termagent.sandbox.container import Sandbox, SandboxSpec
from termagent.sandbox.profiles import SandboxProfile, load_profile
from termagent.sandbox.session import CommandResult, ShellSession

__all__ = ["CommandResult", "Sandbox", "SandboxProfile", "SandboxSpec", "ShellSession", "load_profile"]
