"""Text in, ids out: reading a corpus, the vocabularies, the stateful batch layout.

- `corpus`: files, directories or a string -> cleaned text and its statistics.
- `vocabulary`: characters <-> ids (`Vocabulary`).
- `tokens`: word-level tokens <-> ids (`TokenVocabulary`, `tokenize`).
- `batches`: ids -> interleaved stateful batches (`StatefulBatches`).

Only `batches` imports Keras.
"""
