"""The GPT-2 backend (keras-hub): a small transformer trained on the same corpus
and split as the LSTM, for comparison on the same measures.

- `config`: `GPT2Config`, `GPT2RunConfig` and the run directory (no keras-hub).
- `backend`: `train_gpt2`, `load_gpt2`, `evaluate_gpt2` (needs the `gpt2` extra).
- `tokenizer`, `training`, `generation`, `healing`, `evaluation`: its parts.
- `cli`: the `train`/`evaluate` options that only GPT-2 takes.
"""
