"""Held-out evaluation: loss, bits per character and perplexity, fed statefully.

Every character of the text is scored, each from the model's context: the text
is read as if it followed a newline (the start of a file), so its first
character is predicted too, and it is cut into contiguous streams read side by
side, the last one padded, so that no character is skipped. Characters outside
the vocabulary are scored through the unknown id and counted apart; the GPT-2
backend (`charlstm.backends.gpt2.evaluation`) scores the same characters.
"""

from __future__ import annotations

import math

import numpy as np

from charlstm.utils.checks import InputError

# The text is read as if it followed this: a file starts after a newline.
CONTEXT = "\n"


def scores(nll: float, characters: int, **extra) -> dict:
    """The evaluation keys from a summed NLL in nats over `characters`
    characters: `loss` (nats per character), `bits_per_char`, `perplexity`,
    `characters`, then `extra`."""
    if characters < 1:
        raise InputError(f"`characters` must be >= 1. Received: {characters}")
    loss = nll / characters
    return {
        "loss": loss,
        "bits_per_char": loss / math.log(2),
        "perplexity": math.exp(loss),
        "characters": int(characters),
        **extra,
    }


def held_out_ids(vocabulary, text: str | None, ids=None) -> tuple[np.ndarray, int]:
    """The ids to score (`ids`, or `text` encoded with outside characters as the
    unknown id), and how many characters a vocabulary without one dropped."""
    unknown_dropped = 0
    if ids is None:
        if text is None:
            raise InputError("`text` or `ids` must be given.")
        ids = vocabulary.encode(text, strict=False)
        unknown_dropped = len(text) - vocabulary.character_count(ids)
    ids = np.asarray(ids)
    if len(ids) < 1:
        raise InputError(
            "the held-out text has no characters of the vocabulary to score."
        )
    return ids, unknown_dropped


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
    its stream, as in stateful training (not from independent windows). The
    first character of the text is predicted after a newline.

    Args:
        generator: TextGenerator. The trained model (`charlstm.load(run_dir)`),
            on any engine: the numpy engine and Keras give the same figure.
        text: str or None. The held-out text, cleaned as the run's corpus was;
            characters outside the vocabulary are scored as the unknown id (a
            vocabulary written before Unicode corpora has none: they are dropped).
        ids: 1-D int array or None. Already-encoded text, instead of `text`.
        num_streams: int or None. Parallel streams (None: up to 32, at least 1,000
            characters each).
        sequence_length: int. Characters fed per call.

    Returns:
        dict with `loss` (nats per character), `bits_per_char`, `perplexity`,
        `characters` (scored characters: all of the text), `unknown_characters`
        (scored as the unknown id), `bits_per_char_known` (over the others) and
        `unknown_dropped` (characters a vocabulary without an unknown id dropped).
        Word mode: `characters` counts the characters the tokens spell.

    Example:
    >>> evaluate(charlstm.load("runs/stdlib"), text=open("held_out.py").read())
    """
    vocabulary = generator.vocabulary
    ids, unknown_dropped = held_out_ids(vocabulary, text, ids)
    if num_streams is None:
        num_streams = int(min(32, max(1, len(ids) // 1000)))
    if not 1 <= num_streams <= len(ids):
        raise InputError(
            f"`num_streams` must be in [1, {len(ids)}]. "
            f"Received: num_streams={num_streams}"
        )
    context = vocabulary.encode(CONTEXT, strict=False)[:1]
    inputs = np.concatenate([context if len(context) else [0], ids[:-1]])
    length = -(-len(ids) // num_streams)
    pad = num_streams * length - len(ids)
    x = np.pad(inputs, (0, pad)).reshape(num_streams, length).astype(np.int32)
    y = np.pad(ids, (0, pad)).reshape(num_streams, length)  # (streams, length)
    scored = np.pad(np.ones(len(ids), bool), (0, pad)).reshape(num_streams, length)
    unknown = scored & (y == vocabulary.unknown_id)
    if vocabulary.unknown_id is None:
        unknown[:] = False

    engine = generator.engine
    engine.reset(num_streams)
    nll = np.zeros((num_streams, length))  # (streams, length) nats
    rows = np.arange(num_streams)[:, None]
    for start in range(0, length, sequence_length):
        stop = start + sequence_length
        chunk = x[:, start:stop]  # (streams, time)
        probs = engine.feed(chunk, return_sequences=True)  # (streams, time, vocab)
        cols = np.arange(chunk.shape[1])[None, :]
        picked = probs[rows, cols, y[:, start:stop]].astype(np.float64)
        nll[:, start:stop] = -np.log(np.maximum(picked, 1e-30))
    nll[~scored] = 0.0
    characters = vocabulary.character_count(ids)
    unknown_count = int(unknown.sum())
    known = scored & ~unknown
    return scores(
        float(nll.sum()),
        characters,
        unknown_characters=unknown_count,
        bits_per_char_known=(
            float(nll[known].sum()) / (characters - unknown_count) / math.log(2)
            if characters > unknown_count
            else None
        ),
        unknown_dropped=unknown_dropped,
    )
