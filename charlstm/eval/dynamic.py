"""Dynamic evaluation: the model adapts to the text it has scored so far.

Krause, Kahembwe, Murray and Renals (2018), "Dynamic Evaluation of Neural
Sequence Models". The text is read in segments s_1, s_2, ... of
`segment_length` characters, in one stream. Each segment is scored with the
current weights first, then the weights take one gradient step on that
segment's loss, so every character is predicted before the model learns from
it. The hidden state is carried from segment to segment; the gradient is
truncated at segment boundaries (truncated BPTT). Two update rules, both with a
decay towards the trained weights θ_0 (the paper's "global prior"), where
g = ∇ L(s_i) is the gradient of the segment's mean NLL per character:

- `rms` (the paper's "RMS with an RMS global prior"):
  θ ← θ − η g / (sqrt(MS) + ε) + λ (θ_0 − θ) ⊙ min(RMS / mean(RMS), 1/λ),
  with MS the mean squared gradient of θ_0 on a sample of the training data
  and RMS = sqrt(MS); `mean` runs over every weight, and the clip keeps a
  weight from decaying past θ_0.
- `sgd`: θ ← θ − η g + λ (θ_0 − θ).

The gradients come from `charlstm.eval.lstm_gradients` (numpy, float64).
Neither TensorFlow nor Keras is imported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charlstm.config import check, is_int, option
from charlstm.eval.heldout import CONTEXT, held_out_ids, scores
from charlstm.eval.lstm_gradients import (
    Layout,
    backward,
    forward,
    lstm_weights,
    zero_state,
)
from charlstm.utils.checks import InputError

VARIANTS = ("rms", "sgd")


@dataclass
class DynamicConfig:
    """How dynamic evaluation adapts the weights (Krause et al. 2018).

    The defaults of η, λ and ε are those of the authors' public code
    (`dynamiceval.py`, tuned on word-level PTB, in the paper's form of the
    rule); the segment length is the 20 its README recommends over 5 (same
    figures, three times faster). A character-level model of another size will
    want η and λ tuned on validation text, as the paper did.
    """

    variant: str = option(
        "rms",
        help="rms: the paper's steps, each weight's scaled by its gradient's RMS "
        "on training text, with a decay scaled the same way; sgd: plain steps "
        "with a uniform decay",
        choices=VARIANTS,
    )
    segment_length: int = option(
        20, help="characters scored per segment, then one update on them"
    )
    learning_rate: float = option(5e-5, help="step size η of the updates")
    decay: float = option(
        0.002, help="decay λ towards the trained weights per update, in [0, 1]"
    )
    epsilon: float = option(2e-5, help="ε added to the gradients' RMS (rms)")
    statistics_characters: int = option(
        100_000,
        help="characters of training text that the gradients' RMS is measured on (rms)",
    )
    statistics_batch_size: int = option(
        100,
        help="streams per gradient measured for the RMS: more gives "
        "smaller RMS, so larger steps (rms)",
    )

    def __post_init__(self):
        check(
            self.variant in VARIANTS,
            f"`variant` must be one of {VARIANTS}.",
            variant=self.variant,
        )
        for name in (
            "segment_length",
            "statistics_characters",
            "statistics_batch_size",
        ):
            value = getattr(self, name)
            check(
                is_int(value) and value >= 1,
                f"`{name}` must be an integer >= 1.",
                **{name: value},
            )
        for name in ("learning_rate", "decay", "epsilon"):
            value = getattr(self, name)
            check(
                isinstance(value, (int, float)) and math.isfinite(value) and value >= 0,
                f"`{name}` must be a number >= 0.",
                **{name: value},
            )
        check(self.decay <= 1, "`decay` must be in [0, 1].", decay=self.decay)
        check(
            self.variant != "rms" or self.epsilon > 0,
            "`epsilon` must be > 0 with variant='rms'.",
            epsilon=self.epsilon,
        )


def _context_inputs(vocabulary, ids) -> np.ndarray:
    """The inputs that predict `ids`: the text read after a newline."""
    context = vocabulary.encode(CONTEXT, strict=False)[:1]
    return np.concatenate([context if len(context) else [0], ids[:-1]]).astype(np.intp)


def statistics_text(run_dir, sources=None) -> tuple[str, str]:
    """Training text for the `rms` rule's gradient statistics, read and cleaned
    as the run's corpus was, and where it came from.

    Args:
        run_dir: path. The run (its `config.json` says how it read its corpus).
        sources: paths or None. Training text; None: the run's own corpus (the
            default corpus if it was trained on that).

    Returns:
        (text, a description of its sources).

    Example:
    >>> text, where = statistics_text("runs/stdlib")
    """
    from charlstm.backends import run_backend, run_config_class
    from charlstm.data.corpus import default_corpus_paths, read_text
    from charlstm.training.run_dir import RunFiles

    data = run_config_class(run_backend(run_dir)).load(RunFiles(run_dir).config).data
    if sources:
        return read_text(sources, data), " ".join(map(str, sources))
    named = data.sources or [str(p) for p in default_corpus_paths()]
    missing = [s for s in named if not Path(s).exists()]
    if missing:
        raise InputError(
            f"the run's corpus {missing[0]!r} is not found: the rms variant needs "
            "training text for its gradient statistics: give it (--statistics-corpus, "
            "statistics_text=...), or use variant 'sgd'"
        )
    return read_text(named, data), " ".join(data.sources or ["the default corpus"])


def gradient_statistics(generator, text: str, config: DynamicConfig) -> list:
    """The mean squared gradient MS of every weight on training text, at the
    trained weights: the `rms` rule's normaliser and decay rates.

    The paper measures MS on the training data, so that it scales each weight's
    step by the size its gradients have when nothing is new; measured on the
    text being scored it would use characters before they are scored. The
    first `statistics_characters` of `text` are cut into `statistics_batch_size`
    streams read side by side; MS averages the squared gradient of the mean NLL
    of each batch of segments (the state carried, the gradient truncated).

    Args:
        generator: TextGenerator. An LSTM or LN-LSTM run (`charlstm.load(run_dir)`).
        text: str. Training text, cleaned as the run's corpus was: the start of
            the run's corpus is training data (the validation share is the tail
            of every stream).
        config: DynamicConfig. The segment length and the sample's size.

    Returns:
        list of float64 arrays, MS in Keras's weight order.

    Example:
    >>> ms = gradient_statistics(generator, open("corpus.txt").read(), DynamicConfig())
    """
    params = lstm_weights(generator)
    layout = Layout.of(generator.config)
    ids = generator.vocabulary.encode(
        text[: config.statistics_characters], strict=False
    )
    batch, n = config.statistics_batch_size, config.segment_length
    count = len(ids) // (batch * n)  # whole batches of segments
    if count < 1:
        raise InputError(
            "the statistics text must hold at least `statistics_batch_size` x "
            f"`segment_length` = {batch * n:,} characters of the vocabulary. "
            f"Received: {len(ids):,} characters (statistics_batch_size={batch}, "
            f"segment_length={n})"
        )
    length = count * n
    inputs = _context_inputs(generator.vocabulary, ids)[: batch * length]
    inputs = inputs.reshape(batch, length)  # (streams, time)
    targets = ids[: batch * length].reshape(batch, length).astype(np.intp)
    state = zero_state(params, layout, batch)
    ms = [np.zeros_like(p) for p in params]
    for start in range(0, length, n):
        segment = slice(start, start + n)
        _, state, cache = forward(
            params, layout, inputs[:, segment], targets[:, segment], state
        )
        for total, grad in zip(ms, backward(params, layout, cache), strict=True):
            total += (grad / (batch * n)) ** 2  # of the mean NLL
    return [total / count for total in ms]


class UpdateRule:
    """The chosen rule's step (see the module), its RMS terms computed once.

    Args:
        config: DynamicConfig. The variant, η, λ and ε.
        ms: list of arrays or None. The gradient statistics (`rms`).
    """

    def __init__(self, config: DynamicConfig, ms=None):
        self.config = config
        if config.variant == "rms":
            if ms is None:
                raise InputError(
                    "`ms` (`gradient_statistics`) must be given with variant='rms'. "
                    "Received: ms=None"
                )
            self.rms = [np.sqrt(m) for m in ms]
            mean = sum(r.sum() for r in self.rms) / sum(r.size for r in self.rms)
            self.rates = [  # λ ⊙ min(RMS / mean(RMS), 1 / λ): never past θ_0
                config.decay * np.minimum(r / mean, 1 / config.decay)
                if config.decay
                else np.zeros_like(r)
                for r in self.rms
            ]

    def apply(self, params, start, grads) -> None:
        """One step on `params`, in place, towards `start` (θ_0); `grads` of the
        mean NLL."""
        eta, decay = self.config.learning_rate, self.config.decay
        if self.config.variant == "sgd":
            for p, p0, g in zip(params, start, grads, strict=True):
                p += decay * (p0 - p) - eta * g
            return
        terms = zip(params, start, grads, self.rms, self.rates, strict=True)
        for p, p0, g, r, rate in terms:
            p += rate * (p0 - p) - eta * g / (r + self.config.epsilon)


def _scores(nll, ids, vocabulary, unknown_dropped: int) -> dict:
    """`heldout.scores` of per-character NLLs, with the unknown characters apart."""
    characters = vocabulary.character_count(ids)
    unknown = np.zeros(len(ids), bool)
    if vocabulary.unknown_id is not None:
        unknown = ids == vocabulary.unknown_id
    count = int(unknown.sum())
    known = float(nll[~unknown].sum())
    return scores(
        float(nll.sum()),
        characters,
        unknown_characters=count,
        bits_per_char_known=(
            known / (characters - count) / math.log(2) if characters > count else None
        ),
        unknown_dropped=unknown_dropped,
    )


def evaluate_dynamic(
    generator,
    text: str | None = None,
    config: DynamicConfig | None = None,
    statistics_text: str | None = None,
    ids=None,
    progress=None,
    ms=None,
) -> dict:
    """Scores held-out text statically and with dynamic evaluation.

    Both figures score every character of the text once, in one stream read
    after a newline (as `charlstm.evaluate` with one stream), unknown
    characters through the unknown id: "static" with the trained weights,
    "dynamic" with weights that adapt after each segment (see the module).

    Args:
        generator: TextGenerator. An LSTM or LN-LSTM run (`charlstm.load(run_dir)`).
        text: str or None. The held-out text, cleaned as the run's corpus was.
        config: DynamicConfig or None (the defaults).
        statistics_text: str or None. Training text for the `rms` rule's
            gradient statistics (`gradient_statistics`); unused by `sgd`.
        ids: 1-D int array or None. Already-encoded text, instead of `text`.
        progress: callable(done, total) or None. Called after each segment
            with the characters scored so far.
        ms: list of arrays or None. `gradient_statistics` already measured
            (with this config's segment length and sample), instead of
            measuring them on `statistics_text`: for trying several step sizes
            and decays on one run.

    Returns:
        dict with "static" and "dynamic", each with `charlstm.evaluate`'s keys
        (`loss`, `bits_per_char`, `perplexity`, `characters`,
        `unknown_characters`, `bits_per_char_known`, `unknown_dropped`).

    Example:
    >>> generator = charlstm.load("runs/stdlib")
    >>> figures = evaluate_dynamic(generator, open("held_out.py").read(),
    ...     statistics_text=open("train.py").read())
    >>> figures["static"]["bits_per_char"] - figures["dynamic"]["bits_per_char"]
    """
    config = config or DynamicConfig()
    params = lstm_weights(generator)
    layout = Layout.of(generator.config)
    vocabulary = generator.vocabulary
    if config.variant != "rms":
        ms = None
    elif ms is None:
        if statistics_text is None:
            raise InputError(
                "`statistics_text` (training text) or `ms` must be given with "
                "variant='rms'. Received: statistics_text=None"
            )
        ms = gradient_statistics(generator, statistics_text, config)
    rule = UpdateRule(config, ms)
    ids, unknown_dropped = held_out_ids(vocabulary, text, ids)
    inputs = _context_inputs(vocabulary, ids)[None]  # (1, time)
    targets = ids.astype(np.intp)[None]
    start = [p.copy() for p in params]  # θ_0
    static_state = state = zero_state(params, layout, 1)
    static_nll, dynamic_nll = np.empty(len(ids)), np.empty(len(ids))
    n = config.segment_length
    for begin in range(0, len(ids), n):
        segment = slice(begin, begin + n)
        x, y = inputs[:, segment], targets[:, segment]  # (1, time)
        nll, static_state, _ = forward(start, layout, x, y, static_state)
        static_nll[segment] = nll[0]
        nll, state, cache = forward(params, layout, x, y, state)  # scored first
        dynamic_nll[segment] = nll[0]
        if begin + n < len(ids):  # then adapted on, unless nothing follows
            grads = backward(params, layout, cache)
            rule.apply(params, start, [g / y.shape[1] for g in grads])
        if progress is not None:
            progress(min(begin + n, len(ids)), len(ids))
    return {
        "static": _scores(static_nll, ids, vocabulary, unknown_dropped),
        "dynamic": _scores(dynamic_nll, ids, vocabulary, unknown_dropped),
    }
