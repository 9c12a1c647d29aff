"""The sandbox: a hardened Docker container with one interactive shell, read through a
terminal emulator. It knows nothing of models or policies.

Modules: container (create, remove), session (the shell on a pty), terminal (the screen),
shell_marks (the shell integration's marks), image (build the default image), profiles
(isolation settings), lifecycle (labels, orphan reaping, SIGTERM), docker_connect.
"""

# Kept here, not in image.py and session.py, so that naming the defaults needs no Docker import.
DEFAULT_IMAGE = "termagent-sandbox:bookworm"
MAX_INPUT_BYTES = 1 << 20  # the largest keystroke string typed in one command (--max-input)
