"""Build a tiny random-weight Gemma 4 (model, BPE tokenizer, chat template) into a folder.

Loaded afterwards through the same `from_pretrained` path users take, so the transformers engine is
tested for real, only with a model that knows nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from termagent.model.conversation import load_instructions

SPECIAL_TOKENS = ["<pad>", "<eos>", "<bos>", "<unk>", "<|turn>", "<turn|>", "<|channel>", "<channel|>"]
VOCAB_SIZE = 1000

# Gemma 4's turn markers; thinking on opens the thought channel, which the engine must never do.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n"
    "{{ m['content'] }}<turn|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|turn>model\n"
    "{% if enable_thinking is not defined or enable_thinking %}<|channel>thought\n{% endif %}{% endif %}"
)


def _corpus() -> list[str]:
    action = {
        "analysis": "The screen shows a shell prompt in /app; nothing has been built yet.",
        "plan": "List the files and run the build script.",
        "commands": [{"keystrokes": "ls -la\n", "duration": 0.1}, {"keystrokes": "make all\n", "duration": 30}],
        "task_complete": False,
    }
    screen = "root@box:/app# ls\nMakefile  main.c  README.md\nroot@box:/app# "
    return [load_instructions(), json.dumps(action, indent=2), json.dumps(action), screen] * 4


def build_tiny_gemma(folder: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Gemma4ForCausalLM, Gemma4TextConfig, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_corpus(), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        chat_template=CHAT_TEMPLATE,
    )
    tokenizer.save_pretrained(folder)

    end_of_turn = bpe.token_to_id("<turn|>")
    config = Gemma4TextConfig(
        vocab_size=bpe.get_vocab_size(),
        vocab_size_per_layer_input=bpe.get_vocab_size(),
        hidden_size=64,
        hidden_size_per_layer_input=16,
        intermediate_size=128,
        num_hidden_layers=2,
        layer_types=["sliding_attention", "full_attention"],
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        global_head_dim=32,
        sliding_window=64,
        max_position_embeddings=8192,
        pad_token_id=0,
        eos_token_id=[1, end_of_turn],
        bos_token_id=2,
    )
    torch.manual_seed(0)  # the same random weights on every run, so failures reproduce
    model = Gemma4ForCausalLM(config)
    model.generation_config.eos_token_id = [1, end_of_turn]
    model.save_pretrained(folder)
    return folder
