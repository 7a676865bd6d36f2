"""Text in, ids out: reading a corpus, the vocabularies, the stateful batch layout.

- `cleaning`: Unicode normal form, folding to ASCII, lowercasing.
- `corpus`: files, directories or a string -> cleaned text, its statistics, ids.
- `vocabulary`: characters <-> ids, with an unknown id (`Vocabulary`).
- `tokens`: word-level tokens <-> ids (`TokenVocabulary`, `tokenize`).
- `batches`: ids -> interleaved stateful batches (`StatefulBatches`).
- `variable_lengths`: AWD-LSTM's variable truncation lengths on that layout.

Only `batches` imports Keras.
"""
