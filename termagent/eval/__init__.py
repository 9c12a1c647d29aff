"""Evaluation: the card's tb2-lite replay metrics (replay) and tasks run in the sandbox (live)."""
