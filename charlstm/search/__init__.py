"""Code search: the retrieval baselines of CodeSearchNet, as Perez, Ottens and
Viswanathan, "Automatic Code Generation using Pre-Trained Language Models"
(2021), reproduce them, on any Python tree.

- `pairs`: (docstring, code) pairs of documented functions, split by file.
- `tokens`: code as identifier sub-words, docstrings as words, and their ids.
- `metrics`: MRR and recall@k, as CodeSearchNet ranks (999 distractors).
- `encoders`: a query side and a code side in one vector space, trained so each
  docstring is closest to its own code (softmax over in-batch similarities).
"""
