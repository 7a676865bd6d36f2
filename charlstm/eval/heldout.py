"""Held-out evaluation: loss, bits per character and perplexity, fed statefully."""

from __future__ import annotations

import math

import numpy as np

from charlstm.utils.checks import InputError


def evaluate(
    generator,
    text: str | None = None,
    ids=None,
    num_streams: int | None = None,
    sequence_length: int = 256,
) -> dict:
    """Scores held-out text with a trained model.

    The text is cut into `num_streams` contiguous streams that are read side by
    side, `sequence_length` characters per call, with the state carried from each
    call to the next: every character is predicted from everything before it in
    its stream, as in stateful training (not from independent windows).

    Args:
        generator: TextGenerator. The trained model (`charlstm.load(run_dir)`),
            on any engine: the numpy engine and Keras give the same figure.
        text: str or None. The held-out text; characters outside the vocabulary
            are dropped and counted.
        ids: 1-D int array or None. Already-encoded text, instead of `text`.
        num_streams: int or None. Parallel streams (None: up to 32, at least 1,000
            characters each).
        sequence_length: int. Characters fed per call.

    Returns:
        dict with `loss` (nats per character), `bits_per_char`, `perplexity`,
        `characters` (scored characters) and `unknown_dropped`.

    Example:
    >>> evaluate(charlstm.load("runs/stdlib"), text=open("held_out.py").read())
    """
    unknown_dropped = 0
    if ids is None:
        if text is None:
            raise InputError("`text` or `ids` must be given.")
        ids = generator.vocabulary.encode(text, strict=False)
        unknown_dropped = len(text) - generator.vocabulary.character_count(ids)
    ids = np.asarray(ids)
    if len(ids) < 2:
        raise InputError(
            f"the held-out text must have at least 2 characters of the vocabulary. "
            f"Received: {len(ids)}"
        )
    targets = len(ids) - 1
    if num_streams is None:
        num_streams = int(min(32, max(1, targets // 1000)))
    if not 1 <= num_streams <= targets:
        raise InputError(
            f"`num_streams` must be in [1, {targets}]. "
            f"Received: num_streams={num_streams}"
        )
    length = targets // num_streams
    kept = num_streams * length
    x = ids[:kept].reshape(num_streams, length).astype(np.int32)  # (streams, length)
    y = ids[1 : kept + 1].reshape(num_streams, length)  # (streams, length)

    engine = generator.engine
    engine.reset(num_streams)
    nll = 0.0
    rows = np.arange(num_streams)[:, None]
    for start in range(0, length, sequence_length):
        chunk = x[:, start : start + sequence_length]  # (streams, time)
        probs = engine.feed(chunk, return_sequences=True)  # (streams, time, vocab)
        cols = np.arange(chunk.shape[1])[None, :]
        picked = probs[rows, cols, y[:, start : start + sequence_length]]
        nll -= np.log(np.maximum(picked.astype(np.float64), 1e-30)).sum()
    loss = nll / kept
    return {
        "loss": loss,
        "bits_per_char": loss / math.log(2),
        "perplexity": math.exp(loss),
        "characters": kept,
        "unknown_dropped": unknown_dropped,
    }
