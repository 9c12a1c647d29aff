"""Everything between the agent loop and the model: the action schema, parsing, the prompt, the
context budget and the engines. Importing this package stays light: engines import torch,
transformers or vllm only when constructed."""
