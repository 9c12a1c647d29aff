"""termagent: a terminal agent that runs a local model's keystrokes in a hardened sandbox."""

__version__ = "0.1.0"
