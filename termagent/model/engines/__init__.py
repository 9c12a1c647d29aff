"""Engines: one small interface (base.Engine), one module per backend, and auto.create_engine.

No module here imports torch, transformers or vllm at import time; each engine does in its constructor.
"""
