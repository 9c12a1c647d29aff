"""vLLM in this process (`vllm.LLM`), on a GPU: bf16, schema-constrained, thinking off.

vLLM >= 0.10.2 takes the schema as `StructuredOutputsParams`; older releases as
`GuidedDecodingParams` (the old name was removed in 0.12), so both are tried.
"""

from __future__ import annotations

import time
from typing import Any

from termagent.errors import ModelServerError
from termagent.model.chat_render import CHAT_TEMPLATE_KWARGS, renderer_for
from termagent.model.context_budget import PrefixTokenCounter
from termagent.model.conversation import Message
from termagent.model.engines.base import Completion, DecodingSettings, TokenCallback
from termagent.model.schema import action_schema


class VllmEngine:
    name = "vllm"
    concurrent = False  # one LLM object in this process, not thread-safe

    def __init__(
        self,
        model: str,
        *,
        settings: DecodingSettings | None = None,
        max_model_len: int | None = None,
        gpu_memory_utilization: float = 0.9,
        tensor_parallel_size: int = 1,
    ) -> None:
        try:
            import vllm
            from vllm.platforms import current_platform
        except ImportError as error:
            raise ModelServerError(
                "vllm is not installed", hint="pip install 'termagent[vllm]' (it needs a CUDA GPU)"
            ) from error
        if not current_platform.is_cuda_alike():
            raise ModelServerError(
                "in-process vLLM needs a CUDA or ROCm GPU and none was found",
                hint="use --engine transformers on this machine, or --engine openai with a server elsewhere",
            )
        self._vllm = vllm
        self.model = model
        self.settings = settings or DecodingSettings()
        self._llm = vllm.LLM(
            model=model,
            dtype="bfloat16",
            max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization,
            tensor_parallel_size=tensor_parallel_size,
        )
        self.max_model_len = int(self._llm.llm_engine.model_config.max_model_len)
        tokenizer = self._llm.get_tokenizer()
        self._renderer = renderer_for(tokenizer, model)
        self._counter = PrefixTokenCounter(lambda text: len(tokenizer.encode(text, add_special_tokens=False)))
        self._params = self._sampling_params()

    def _sampling_params(self) -> Any:
        settings = self.settings
        arguments: dict[str, Any] = {
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "max_tokens": settings.max_tokens,
        }
        if settings.constrained:
            try:
                from vllm.sampling_params import StructuredOutputsParams

                arguments["structured_outputs"] = StructuredOutputsParams(json=action_schema())
            except ImportError:  # vLLM before 0.10.2
                from vllm.sampling_params import GuidedDecodingParams

                arguments["guided_decoding"] = GuidedDecodingParams(json=action_schema())
        return self._vllm.SamplingParams(**arguments)

    def count_tokens(self, messages: list[Message]) -> int:
        return self._counter(self._renderer.render(messages))

    def complete(self, messages: list[Message], *, on_token: TokenCallback | None = None) -> Completion:
        started = time.perf_counter()
        [result] = self._llm.chat(
            messages, self._params, use_tqdm=False, chat_template_kwargs=dict(CHAT_TEMPLATE_KWARGS)
        )
        output = result.outputs[0]
        if on_token is not None:
            on_token(output.text)  # the offline API does not stream: the whole reply at once
        return Completion(
            text=output.text,
            prompt_tokens=len(result.prompt_token_ids),
            completion_tokens=len(output.token_ids),
            elapsed=time.perf_counter() - started,
            finish_reason=output.finish_reason,
        )

    def close(self) -> None:
        self._llm = None
