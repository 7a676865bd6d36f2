"""Ranking metrics as CodeSearchNet computes them.

The test pairs are cut into chunks of 1,000; each query is ranked against the
1,000 codes of its chunk (its own and 999 distractors) by the dot product of
their vectors. Its rank counts the codes that score at least as high as its own
(ties count against it). MRR is the mean of 1 / rank; recall@k the share of
queries whose own code is in the first k.
"""

from __future__ import annotations

import numpy as np

from charlstm.utils.checks import InputError

CHUNK = 1000  # CodeSearchNet's: the query's own code and 999 distractors


def ranks(scores: np.ndarray) -> np.ndarray:
    """The rank (from 1) of each query's own candidate in a square score matrix
    (queries, candidates) whose diagonal holds the right pairs."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1]:
        raise InputError(
            f"`scores` must be a square matrix. Received shape {scores.shape}"
        )
    own = np.diagonal(scores)[:, None]  # (queries, 1)
    return (scores >= own).sum(axis=1)  # ties count against the query


def chunk_ranks(
    query_vectors: np.ndarray, code_vectors: np.ndarray, chunk: int = CHUNK
) -> np.ndarray:
    """Each query's rank among the codes of its chunk of `chunk` pairs."""
    queries = np.asarray(query_vectors)
    codes = np.asarray(code_vectors)
    if queries.shape != codes.shape or queries.ndim != 2:
        raise InputError(
            "`query_vectors` and `code_vectors` must be (pairs, dim) alike. "
            f"Received {queries.shape} and {codes.shape}"
        )
    out = []
    for start in range(0, len(queries), chunk):
        q, c = queries[start : start + chunk], codes[start : start + chunk]
        out.append(ranks(q @ c.T))  # (chunk, chunk)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def summarize(found_ranks: np.ndarray, chunk: int = CHUNK) -> dict:
    """MRR and recall@1, @5, @10 of ranks, with the count and chunk size."""
    found_ranks = np.asarray(found_ranks)
    if found_ranks.size == 0:
        raise InputError("no ranks to summarize: the test set is empty.")
    return {
        "mrr": float(np.mean(1.0 / found_ranks)),
        "recall@1": float(np.mean(found_ranks <= 1)),
        "recall@5": float(np.mean(found_ranks <= 5)),
        "recall@10": float(np.mean(found_ranks <= 10)),
        "queries": int(found_ranks.size),
        "chunk": int(chunk),
    }
