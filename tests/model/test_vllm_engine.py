"""The vllm engine's glue, against a stand-in `vllm` module that checks the call shapes (vLLM needs
a CUDA GPU, which this machine lacks); the real path is a GPU test."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pytest

from termagent.errors import TermagentError
from termagent.model.conversation import Conversation
from termagent.model.engines.base import DecodingSettings
from termagent.model.engines.vllm_inprocess import VllmEngine
from termagent.model.schema import action_schema, validate_action

REPLY = json.dumps({"analysis": "a", "plan": "p", "commands": []})


@dataclass
class StandIn:
    """What the stand-in vllm saw."""

    cuda: bool = True
    modern: bool = True  # StructuredOutputsParams (>= 0.10.2) or only GuidedDecodingParams
    llm_kwargs: dict[str, Any] = field(default_factory=dict)
    chats: list[tuple[Any, Any, dict[str, Any]]] = field(default_factory=list)


class _Tokenizer:
    chat_template = None  # so the engine falls back to the Gemma 4 markers

    def get_vocab(self) -> dict[str, int]:
        return {"<|turn>": 4}

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        assert add_special_tokens is False
        return [0] * len(text.split())


def _install(monkeypatch: pytest.MonkeyPatch, seen: StandIn) -> None:
    class SamplingParams:
        def __init__(self, **kwargs: Any) -> None:
            assert set(kwargs) <= {"temperature", "top_p", "max_tokens", "structured_outputs", "guided_decoding"}
            self.kwargs = kwargs

    class JsonParams:
        def __init__(self, *, json: Any) -> None:
            self.json = json

    class LLM:
        def __init__(self, **kwargs: Any) -> None:
            seen.llm_kwargs = kwargs
            self.llm_engine = types.SimpleNamespace(
                model_config=types.SimpleNamespace(max_model_len=kwargs["max_model_len"] or 32768)
            )

        def get_tokenizer(self) -> _Tokenizer:
            return _Tokenizer()

        def chat(self, messages: Any, sampling_params: Any, *, use_tqdm: bool, chat_template_kwargs: dict) -> list:
            assert isinstance(sampling_params, SamplingParams) and use_tqdm is False
            assert all(set(m) == {"role", "content"} for m in messages)
            seen.chats.append((messages, sampling_params, chat_template_kwargs))
            output = types.SimpleNamespace(text=REPLY, token_ids=[0] * 7, finish_reason="stop")
            return [types.SimpleNamespace(prompt_token_ids=[0] * 30, outputs=[output])]

    vllm = types.ModuleType("vllm")
    vllm.LLM, vllm.SamplingParams = LLM, SamplingParams
    sampling_params = types.ModuleType("vllm.sampling_params")
    setattr(sampling_params, "StructuredOutputsParams" if seen.modern else "GuidedDecodingParams", JsonParams)
    platforms = types.ModuleType("vllm.platforms")
    platforms.current_platform = types.SimpleNamespace(is_cuda_alike=lambda: seen.cuda)
    for name, module in {"vllm": vllm, "vllm.sampling_params": sampling_params, "vllm.platforms": platforms}.items():
        monkeypatch.setitem(sys.modules, name, module)


def _messages() -> list[dict[str, str]]:
    return Conversation("t", "root@box:/app# ").messages


@pytest.mark.parametrize("modern", [True, False], ids=["structured_outputs", "guided_decoding"])
def test_llm_and_chat_are_called_with_schema_bf16_and_thinking_off(monkeypatch, modern: bool) -> None:
    seen = StandIn(modern=modern)
    _install(monkeypatch, seen)
    engine = VllmEngine("m", max_model_len=16384, gpu_memory_utilization=0.8, tensor_parallel_size=2)
    assert seen.llm_kwargs == {
        "model": "m",
        "dtype": "bfloat16",
        "max_model_len": 16384,
        "gpu_memory_utilization": 0.8,
        "tensor_parallel_size": 2,
    }
    assert engine.max_model_len == 16384
    pieces: list[str] = []
    completion = engine.complete(_messages(), on_token=pieces.append)
    assert (completion.text, completion.prompt_tokens, completion.completion_tokens) == (REPLY, 30, 7)
    assert pieces == [REPLY]
    [(messages, params, template_kwargs)] = seen.chats
    assert messages == _messages()
    assert template_kwargs == {"enable_thinking": False}
    key = "structured_outputs" if modern else "guided_decoding"
    assert params.kwargs[key].json == action_schema()
    assert (params.kwargs["temperature"], params.kwargs["top_p"], params.kwargs["max_tokens"]) == (0.0, 1.0, 1024)


def test_unconstrained_sends_no_schema_and_counts_tokens_with_the_tokenizer(monkeypatch) -> None:
    seen = StandIn()
    _install(monkeypatch, seen)
    engine = VllmEngine("m", settings=DecodingSettings(temperature=0.5, constrained=False))
    engine.complete(_messages())
    params = seen.chats[0][1]
    assert params.kwargs == {"temperature": 0.5, "top_p": 1.0, "max_tokens": 1024}
    assert engine.max_model_len == 32768
    rendered = "<bos><|turn>user\n" + _messages()[0]["content"] + "<turn|>\n<|turn>model\n"
    assert engine.count_tokens(_messages()) == len(rendered.split())


def test_no_gpu_is_an_actionable_error(monkeypatch) -> None:
    _install(monkeypatch, StandIn(cuda=False))
    with pytest.raises(TermagentError, match="needs a CUDA or ROCm GPU"):
        VllmEngine("m")


def test_vllm_missing_is_an_actionable_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` raise ImportError
    with pytest.raises(TermagentError, match="vllm is not installed") as caught:
        VllmEngine("m")
    assert "termagent[vllm]" in str(caught.value)


def _real_gpu() -> bool:
    if importlib.util.find_spec("vllm") is None or importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.skipif(not _real_gpu(), reason="needs vllm and a CUDA GPU")
def test_real_vllm_returns_valid_actions(tiny_gemma_dir) -> None:
    engine = VllmEngine(str(tiny_gemma_dir), max_model_len=4096, gpu_memory_utilization=0.3)
    completion = engine.complete(_messages())
    assert validate_action(json.loads(completion.text)) == []
