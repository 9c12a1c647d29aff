"""The errors termagent reports as a message instead of a traceback.

Every error a person can act on is a `TermagentError`: it says what went wrong and, in `hint`,
what to do. Callers tell errors apart by class, never by message text. The command line turns
any of them into `termagent: error: ...` and the exit status `exit_status` of its class
(`exit_status_for` is the one place that mapping lives).

    TermagentError
    ├── ConfigurationError   bad option, profile, config file, template, task or input file
    ├── SandboxError         Docker engine, image, container or shell
    │   └── SandboxBusyError the engine is already doing what was asked (e.g. a prune)
    ├── ModelServerError     the model server or in-process engine
    ├── PolicyError          a policy file that cannot be loaded or written
    └── WorkspaceError       copying the person's project in, collecting or applying changes
"""

from __future__ import annotations

# Exit statuses of the `termagent` command (README, "Exit status").
EXIT_OK = 0
EXIT_NOT_COMPLETED = 1
EXIT_CONFIG_ERROR = 2
EXIT_INTERRUPTED = 130


class TermagentError(Exception):
    """An error the user can act on: what went wrong, and what to do about it."""

    exit_status = EXIT_CONFIG_ERROR
    # Shown when the raiser gives no hint of its own.
    default_hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  {self.hint}"


class ConfigurationError(TermagentError):
    """An option, profile, configuration file, template, task file or input file (replay records,
    replies, a trajectory to replay, a batch file) that cannot be used."""

    default_hint = "See `termagent --help` and the README for the accepted values."


class SandboxError(TermagentError):
    """The Docker engine, the sandbox image, the container or the shell in it."""

    default_hint = "Run `termagent doctor` to check the Docker engine and the sandbox image."


class SandboxBusyError(SandboxError):
    """The engine is already doing the operation (another termagent, or `docker system prune`)."""


class ModelServerError(TermagentError):
    """The model server did not answer usefully, or an in-process engine could not load."""

    default_hint = "Run `termagent doctor` to check the model server or engine."


class PolicyError(TermagentError):
    """A policy file that cannot be loaded, validated or written."""

    default_hint = "See docs/policies.md for the policy format; `termagent policy check` tries one."


class WorkspaceError(TermagentError):
    """Copying the person's project into the sandbox, collecting or applying the changes."""


def exit_status_for(error: BaseException) -> int:
    """The command's exit status for an error that ended it."""
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, TermagentError):
        return error.exit_status
    raise TypeError(f"not an error termagent reports: {type(error).__name__}")
