"""Batch runs: many tasks, each in its own sandbox, N at a time, with a check per task."""
