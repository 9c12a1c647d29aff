"""The model tests' fixtures (the tiny random Gemma 4, the OpenAI stub server), reused as they are."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

MODEL_TESTS = Path(__file__).resolve().parent.parent / "model"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

sys.path.insert(0, str(MODEL_TESTS))  # their conftest imports its helpers by module name
_spec = importlib.util.spec_from_file_location("model_tests_conftest", MODEL_TESTS / "conftest.py")
_model_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_model_conftest)

tiny_gemma_dir = _model_conftest.tiny_gemma_dir
stub_server = _model_conftest.stub_server
