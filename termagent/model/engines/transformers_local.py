"""A Hugging Face model run in this process (CPU or GPU), greedy by default.

Constrained decoding runs the action schema through xgrammar (grammar_processor.py), pretty-printed
with indent 2 as in the training data, and closes the JSON before max_tokens runs out, so that even
a weak model returns a valid action.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from termagent.errors import ModelServerError
from termagent.model.chat_render import renderer_for
from termagent.model.context_budget import PrefixTokenCounter
from termagent.model.conversation import Message
from termagent.model.engines.base import Completion, DecodingSettings, TokenCallback, tightest_context
from termagent.model.schema import action_schema

if TYPE_CHECKING:
    from transformers import GenerationMixin


class TransformersEngine:
    name = "transformers"
    concurrent = False  # one model in this process

    def __init__(
        self,
        model: str,
        *,
        settings: DecodingSettings | None = None,
        max_model_len: int | None = None,
        device: str | None = None,
    ) -> None:
        try:
            import torch
            import transformers
        except ImportError as error:
            raise ModelServerError(
                "the transformers engine needs torch and transformers",
                hint="pip install 'termagent[transformers]'",
            ) from error
        self._torch = torch
        self.model = model
        self.settings = settings or DecodingSettings()
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        # bf16 as on the card where the hardware has it; CPUs are far faster in float32.
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        source, gguf = weights_source(model)
        try:
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(source, **gguf)
            model_weights = transformers.AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **gguf)
            # transformers wraps to() in a decorator whose annotation loses the bound self.
            loaded = model_weights.to(self.device).eval()  # type: ignore[arg-type]
        except (OSError, ValueError, KeyError, NotImplementedError) as error:
            # OSError: nothing to load; ValueError/KeyError/NotImplementedError: a GGUF architecture
            # or quantization transformers cannot read.
            raise ModelServerError(
                f"cannot load the model {model}: {(str(error).strip() or repr(error)).splitlines()[0]}",
                hint="pass --model with a local model folder, a .gguf file (or a folder holding one) of an "
                "architecture transformers reads, or a Hugging Face id that can be downloaded",
            ) from error
        self._model: GenerationMixin | None = loaded  # None once closed
        text_config = loaded.config.get_text_config()
        self.max_model_len = tightest_context(max_model_len, getattr(text_config, "max_position_embeddings", None))
        self._renderer = renderer_for(self._tokenizer, model)
        self._counter = PrefixTokenCounter(lambda text: len(self._tokenizer.encode(text, add_special_tokens=False)))
        eos = loaded.generation_config.eos_token_id
        self._stop_ids = [eos] if isinstance(eos, int) else list(eos or [self._tokenizer.eos_token_id])
        self._grammar = self._compile_grammar(text_config.vocab_size) if self.settings.constrained else None

    def _compile_grammar(self, vocab_size: int) -> Any:
        try:
            from termagent.model.engines.grammar_processor import GrammarCompiler

            return GrammarCompiler(
                self._tokenizer, vocab_size=vocab_size, stop_token_ids=self._stop_ids, schema=action_schema()
            )
        except ImportError as error:
            raise ModelServerError(
                "constrained decoding needs xgrammar",
                hint="pip install 'termagent[transformers]', or pass --no-constrained",
            ) from error

    def render(self, messages: list[Message]) -> str:
        return self._renderer.render(messages)

    def count_tokens(self, messages: list[Message]) -> int:
        return self._counter(self.render(messages))

    def complete(self, messages: list[Message], *, on_token: TokenCallback | None = None) -> Completion:
        import transformers

        if self._model is None:
            raise ModelServerError("the transformers engine was closed: it has no model to generate with")
        model = self._model
        started = time.perf_counter()
        prompt = self.render(messages)
        # The chat template already wrote <bos>; the tokenizer must not add another.
        input_ids = self._tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids.to(self.device)
        self._counter.remember(prompt, input_ids.shape[1])
        sampling = self.settings.temperature > 0
        config = transformers.GenerationConfig(
            max_new_tokens=self.settings.max_tokens,
            do_sample=sampling,
            temperature=self.settings.temperature if sampling else None,
            top_p=self.settings.top_p if sampling else None,
            eos_token_id=self._stop_ids,
            pad_token_id=self._stop_ids[0] if self._tokenizer.pad_token_id is None else self._tokenizer.pad_token_id,
        )
        processors = []
        if self._grammar is not None and self.settings.constrained:  # settings may change after loading
            processors.append(self._grammar.processor(self.settings.max_tokens))
        streamer = _callback_streamer(self._tokenizer, on_token) if on_token else None
        with self._torch.inference_mode():
            output = model.generate(
                input_ids,
                attention_mask=self._torch.ones_like(input_ids),
                generation_config=config,
                logits_processor=transformers.LogitsProcessorList(processors),
                streamer=streamer,
            )
        new_ids = output[0, input_ids.shape[1] :].tolist()
        finished = bool(new_ids) and new_ids[-1] in self._stop_ids
        return Completion(
            # One sequence decodes to one str; transformers annotates the batch case (list[str]) too.
            text=self._tokenizer.decode(new_ids, skip_special_tokens=True),  # type: ignore[arg-type]
            prompt_tokens=input_ids.shape[1],
            completion_tokens=len(new_ids),
            elapsed=time.perf_counter() - started,
            finish_reason="stop" if finished else "length",
        )

    def close(self) -> None:
        self._model = None


def weights_source(model: str) -> tuple[str, dict[str, str]]:
    """What from_pretrained reads for `model`, and `gguf_file=` when that is a GGUF file: `--model`
    may name a .gguf file, or a folder holding one GGUF and no config.json."""
    path = Path(model).expanduser()
    gguf: Path | None = None
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelServerError(
                f"{model} is a file but not a GGUF model",
                hint="pass a .gguf file, or a model folder (config.json and weights)",
            )
        gguf = path
    elif path.is_dir() and not (path / "config.json").is_file():
        found = sorted(path.glob("*.gguf"))
        if len(found) > 1:
            raise ModelServerError(
                f"{model} holds several GGUF files: {', '.join(p.name for p in found)}",
                hint=f"pass one of them: --model {found[0]}",
            )
        if not found:
            raise ModelServerError(
                f"{model} holds neither a config.json nor a .gguf file",
                hint="pass a model folder saved by transformers, or a .gguf file",
            )
        gguf = found[0]
    if gguf is None:
        return model, {}
    missing = [name for name in ("gguf", "accelerate") if importlib.util.find_spec(name) is None]
    if missing:
        raise ModelServerError(
            f"loading a GGUF file needs the {' and '.join(missing)} package(s)",
            hint="pip install 'termagent[transformers]'",
        )
    return str(gguf.parent), {"gguf_file": gguf.name}


def _callback_streamer(tokenizer: Any, on_token: TokenCallback) -> Any:
    """transformers' TextStreamer (it decodes whole words), delivering text to a callback."""
    from transformers import TextStreamer

    class CallbackStreamer(TextStreamer):
        def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
            if text:
                on_token(text)

    return CallbackStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
