"""Bits per character for a GPT-2, comparable with the LSTM's.

GPT-2 predicts BPE tokens, the char-RNN characters. Both are compared per
character of the same text: the negative log-likelihood of the tokens, summed,
divided by the number of characters those tokens spell and by ln 2,

    bits/char = sum_j -ln p(token_j | tokens before j) / characters / ln 2.

The model sees at most `window` tokens, so long texts are scored in sliding
windows. Each window scores the next `stride` targets (default half the window)
and reads up to `window` inputs before them (window 6, stride 3):

    inputs of window 1:  t0 t1 t2                    scores t1 t2 t3
    inputs of window 2:  t0 t1 t2 t3 t4 t5           scores t4 t5 t6
    inputs of window 3:           t3 t4 t5 t6 t7 t8  scores t7 t8 t9

Precisely, the targets [p, q) are scored from the inputs
`tokens[max(0, q - 1 - window) : q - 1]`, so once the text is longer than a
window every target has at least `window - stride + 1` tokens of context.
Every token after `start` is scored exactly once. Keras-free except for the
compiled forward pass, `token_nll_function`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from charlstm.utils.checks import InputError, check_count

# Windows per forward pass.
BATCH_SIZE = 8

NLLFunction = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def plan_windows(
    num_tokens: int, start: int, window: int, stride: int
) -> list[tuple[int, int, int]]:
    """The windows that score targets `start .. num_tokens - 1` once each.

    Returns:
        A list of `(a, p, q)`: inputs `tokens[a : q - 1]` (at most `window`),
        targets `tokens[a + 1 : q]`, of which those from position `p` are scored.

    Example:
    >>> plan_windows(10, 1, window=6, stride=3)
    [(0, 1, 4), (0, 4, 7), (3, 7, 10)]
    """
    check_count("window", window)
    check_count("stride", stride)
    if stride > window:
        raise InputError(
            f"`stride` must be at most the window. Received: stride={stride}, "
            f"window={window}"
        )
    plan = []
    p = max(1, start)
    while p < num_tokens:
        q = min(p + stride, num_tokens)
        plan.append((max(0, q - 1 - window), p, q))
        p = q
    return plan


def sequence_nll(
    token_nll: NLLFunction,
    sequences: Sequence[tuple[np.ndarray, int]],
    window: int,
    stride: int | None = None,
    batch_size: int = BATCH_SIZE,
) -> tuple[float, int]:
    """Summed negative log-likelihood (nats) of the scored tokens of sequences.

    Args:
        token_nll: callable(ids, targets, mask) -> nll, all `(batch, time)`. The
            model's per-token loss in nats (`token_nll_function`); `mask` marks
            real (not padding) inputs.
        sequences: list of (tokens, start). Score `tokens[start:]` (at least
            from position 1) with the tokens before as context.
        window: int. Tokens the model sees at once.
        stride: int or None. Targets scored per window (None: window // 2).
        batch_size: int. Windows per call.

    Returns:
        (total nats, number of scored tokens).
    """
    stride = stride or max(1, window // 2)
    jobs = [
        (tokens, a, p, q)
        for tokens, start in sequences
        for a, p, q in plan_windows(len(tokens), start, window, stride)
    ]
    total, count = 0.0, 0
    for first in range(0, len(jobs), batch_size):
        batch = jobs[first : first + batch_size]
        width = max(q - 1 - a for _, a, _, q in batch)
        ids = np.zeros((len(batch), width), dtype=np.int32)  # (batch, time)
        targets = np.zeros((len(batch), width), dtype=np.int32)  # (batch, time)
        mask = np.zeros((len(batch), width), dtype=bool)  # real inputs
        scored = np.zeros((len(batch), width), dtype=bool)  # targets counted
        for row, (tokens, a, p, q) in enumerate(batch):
            n = q - 1 - a
            ids[row, :n] = tokens[a : q - 1]
            targets[row, :n] = tokens[a + 1 : q]
            mask[row, :n] = True
            scored[row, p - a - 1 : n] = True
        nll = np.asarray(token_nll(ids, targets, mask), dtype=np.float64)
        total += float(nll[scored].sum())
        count += int(scored.sum())
    return total, count


def token_nll_function(model) -> NLLFunction:
    """The model's per-token loss in nats, compiled once for any batch and length.

    Returns a function of int32 ids, targets and a bool padding mask, all
    `(batch, time)`, giving numpy `(batch, time)`.
    """
    import keras

    def run(ids, targets, mask):
        inputs = {"token_ids": ids, "padding_mask": mask}
        logits = model(inputs, training=False)  # (batch, time, vocab)
        return keras.losses.sparse_categorical_crossentropy(
            targets, logits, from_logits=True
        )  # (batch, time)

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        spec = tf.TensorSpec((None, None), tf.int32)
        compiled = tf.function(
            run,
            input_signature=[spec, spec, tf.TensorSpec((None, None), tf.bool)],
        )
        return lambda ids, targets, mask: compiled(ids, targets, mask).numpy()
    return lambda ids, targets, mask: keras.ops.convert_to_numpy(
        run(ids, targets, mask)
    )


def evaluate_gpt2(
    generator,
    text: str,
    stride: int | None = None,
    batch_size: int = BATCH_SIZE,
) -> dict:
    """Scores held-out text with a GPT-2, per character.

    Every character of the text is scored, as `charlstm.evaluate` scores it for
    the LSTM: the text's tokens follow the tokens of a newline (context only),
    and are scored in sliding windows of the model's `sequence_length` (see the
    module docstring); their NLL is divided by the characters of the text.

    Args:
        generator: GPT2Generator. The trained model (`charlstm.load(run_dir)`).
        text: str. The held-out text.
        stride: int or None. Tokens scored per window (None: half the window).
        batch_size: int. Windows per forward pass.

    Returns:
        dict with `loss` (nats per character), `bits_per_char`, `perplexity`,
        `characters` (scored characters: all of the text), `unknown_characters`
        (always 0: byte-level BPE has no unknown token), `bits_per_char_known`,
        `unknown_dropped` (always 0) and `tokens` (scored tokens):
        `charlstm.evaluate`'s keys.

    Example:
    >>> evaluate_gpt2(charlstm.load("runs/gpt2"), open("held_out.py").read())
    """
    from charlstm.backends.gpt2.tokenizer import encode
    from charlstm.eval.heldout import CONTEXT, scores

    if not isinstance(text, str):
        raise InputError(f"`text` must be a string. Received: {type(text).__name__}")
    if not text:
        raise InputError("the held-out text is empty.")
    context, body = encode(generator.tokenizer, [CONTEXT, text])
    tokens = np.concatenate([context, body])
    if getattr(generator, "_token_nll", None) is None:
        generator._token_nll = token_nll_function(generator.model)
    window = generator.config.sequence_length
    total, count = sequence_nll(
        generator._token_nll, [(tokens, len(context))], window, stride, batch_size
    )
    figures = scores(
        total, len(text), unknown_characters=0, unknown_dropped=0, tokens=count
    )
    figures["bits_per_char_known"] = figures["bits_per_char"]
    return figures
