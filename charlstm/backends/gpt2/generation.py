"""Sampling text from a GPT-2 with keras-hub's samplers, compiled once.

keras-hub compiles `generate` per sampler and per input shape, so every call
with new settings recompiles it. `GPT2Generator` traces keras-hub's own
`generate_step` once, for any batch and any length, with a sampler whose
temperature, top-k, top-p and random state are variables, so every later call
reuses the same graph.

Lengths count characters, as for the LSTM: tokens are generated in rounds until
every sample has `length` characters (or hit a stop string), then cut. A round
holds at most the model's window (`GPT2Config.sequence_length` tokens); a longer
text slides the window on, keeping the last half of it as context.

Seeds are token-healed (`charlstm.backends.gpt2.healing`): the seed's last token
is removed and the first token is sampled, in a graph of its own traced once,
among the tokens whose text starts with the removed text, so a seed ending in
"\n" can go on as "\n    " the way the training text did.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import keras
import numpy as np
from keras import ops

from charlstm.backends import require_gpt2
from charlstm.infer.generator import Generator
from charlstm.infer.sampling import Sampling, StopMatcher
from charlstm.utils.checks import InputError

require_gpt2()

import keras_hub  # noqa: E402

from charlstm.backends.gpt2.config import GPT2Config  # noqa: E402
from charlstm.backends.gpt2.healing import TokenHealer  # noqa: E402
from charlstm.backends.gpt2.tokenizer import decode, encode  # noqa: E402

# Tokens per `stream` round: how often characters are handed out.
STREAM_TOKENS = 8


class TokenSampler(keras_hub.samplers.Sampler):
    """Temperature, top-k and top-p sampling as one keras-hub sampler.

    The settings live in variables, set by `configure` before each call, so the
    compiled generation graph never has to be traced again. Temperature 0 is
    greedy. Top-k keeps the k most likely tokens, top-p then the fewest whose
    probability reaches p (`charlstm.infer.sampling` does the same for the LSTM).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.temperature_value = keras.Variable(1.0, dtype="float32", trainable=False)
        self.top_k_value = keras.Variable(0, dtype="int32", trainable=False)  # 0: all
        self.top_p_value = keras.Variable(1.0, dtype="float32", trainable=False)
        self.seed_generator = keras.random.SeedGenerator(0)

    def configure(self, sampling: Sampling) -> None:
        """Sets the variables from `sampling` (a random seed if it has none)."""
        random_seed = sampling.random_seed
        if random_seed is None:
            random_seed = int(np.random.default_rng().integers(2**31))
        self.temperature_value.assign(float(sampling.temperature))
        self.top_k_value.assign(int(sampling.top_k or 0))
        top_p = sampling.top_p
        self.top_p_value.assign(float(top_p if top_p is not None else 1.0))
        state = self.seed_generator.state
        state.assign(np.array([random_seed, 0], dtype=state.dtype))

    def compute_probabilities(self, logits):
        return ops.cast(logits, "float32")  # (batch, vocab); scaled in get_next_token

    def get_next_token(self, logits):
        greedy = ops.argmax(logits, axis=-1)  # (batch,)
        temperature = self.temperature_value
        logits = logits / ops.maximum(temperature, 1e-6)
        vocabulary = ops.shape(logits)[-1]
        k = ops.where(self.top_k_value > 0, self.top_k_value, vocabulary)
        k = ops.minimum(k, vocabulary)
        ordered, _ = ops.top_k(logits, vocabulary)  # (batch, vocab), largest first
        kth = ops.take(ordered, k - 1, axis=1)[:, None]  # (batch, 1)
        ordered = ops.where(ordered >= kth, ordered, -np.inf)
        probs = ops.softmax(ordered, axis=-1)
        # Keep a token if the mass before it is still below top_p.
        before = ops.cumsum(probs, axis=-1) - probs  # (batch, vocab)
        kept = ops.logical_and(
            before < self.top_p_value * (1 - 1e-6), ordered > -np.inf
        )
        kept = ops.logical_or(kept, ops.arange(vocabulary)[None, :] == 0)
        cutoff = ops.min(
            ops.where(kept, ordered, np.inf), axis=-1, keepdims=True
        )  # (batch, 1)
        logits = ops.where(logits >= cutoff, logits, -np.inf)
        sampled = keras.random.categorical(logits, 1, seed=self.seed_generator)
        return ops.where(temperature > 0, sampled[:, 0], greedy)


class GPT2Generator(Generator):
    """Generates text with a GPT-2: the LSTM generators' `generate` and `stream`.

    Text in, text out: the byte-level BPE encodes any seed, so there is no
    vocabulary to check against (`strict` is accepted and has no effect).

    Args:
        model: GPT2LanguageModel. The trained model.
        tokenizer: tokenizers.Tokenizer. Its byte-level BPE.
        config: GPT2Config. The model's configuration.

    Example:
    >>> generator = charlstm.load("runs/gpt2")
    >>> print(generator.generate("def ", 300, temperature=0.75, random_seed=0))
    """

    engine_name = "keras"

    def __init__(self, model, tokenizer, config: GPT2Config):
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.window = config.sequence_length
        self.sampler = TokenSampler()
        model.sampler = self.sampler
        self._generate_tokens = self._compile()
        self.healer = TokenHealer(tokenizer, model.backbone.vocabulary_size)
        self._first_tokens = self._compile_first()

    def _compile(self):
        def run(token_ids, padding_mask):
            inputs = {"token_ids": token_ids, "padding_mask": padding_mask}
            return self.model.generate_step(inputs, stop_token_ids=None)["token_ids"]

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            signature = [
                tf.TensorSpec((None, None), tf.int32),  # (batch, time)
                tf.TensorSpec((None, None), tf.bool),  # (batch, time)
            ]
            return tf.function(run, input_signature=signature, jit_compile=False)
        return run

    def _compile_first(self):
        def run(token_ids, padding_mask, last, allowed):
            inputs = {"token_ids": token_ids, "padding_mask": padding_mask}
            logits = self.model(inputs)  # (batch, time, vocab)
            logits = ops.take_along_axis(logits, last[:, None, None], axis=1)[:, 0]
            logits = ops.cast(logits, "float32")  # (batch, vocab)
            logits = ops.where(allowed, logits, -np.inf)
            return ops.cast(self.sampler.get_next_token(logits), "int32")  # (batch,)

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            signature = [
                tf.TensorSpec((None, None), tf.int32),  # (batch, time)
                tf.TensorSpec((None, None), tf.bool),  # (batch, time)
                tf.TensorSpec((None,), tf.int32),  # (batch,) last positions
                tf.TensorSpec((None, None), tf.bool),  # (batch, vocab)
            ]
            return tf.function(run, input_signature=signature, jit_compile=False)
        return run

    @property
    def traces(self) -> int:
        """How many times generation was traced: 1 after any number of calls."""
        counter = getattr(self._generate_tokens, "experimental_get_tracing_count", None)
        return counter() if counter else 0

    def _round(self, contexts: Sequence[np.ndarray], new_tokens: int) -> list:
        """Generates `new_tokens` (at least) after each context, in one batch.

        Contexts are right-padded; keras-hub keeps each row's own tokens and
        samples from the shortest row's end, so shorter rows get more tokens.
        Returns the new tokens of every row.
        """
        longest = max(len(c) for c in contexts)
        width = longest + new_tokens
        ids = np.zeros((len(contexts), width), dtype=np.int32)  # (rows, time)
        mask = np.zeros((len(contexts), width), dtype=bool)  # (rows, time)
        for row, context in enumerate(contexts):
            ids[row, : len(context)] = context
            mask[row, : len(context)] = True
        out = np.asarray(self._generate_tokens(ids, mask))  # (rows, time)
        return [out[row, len(c) :] for row, c in enumerate(contexts)]

    def _heal(self, seeds: Sequence[str], rows: Sequence[np.ndarray]):
        """Starts every row with a token-healed first token.

        Returns each row's history (the seed's tokens, the last one replaced by
        the first generated token), its generated tokens so far and how many
        characters at the start of their text belong to the seed.
        """
        splits = [self.healer.split(r, s) for r, s in zip(rows, seeds, strict=True)]
        contexts, _ = self._prompts([c for c, _ in splits], 1)
        ids = np.zeros((len(rows), max(map(len, contexts))), dtype=np.int32)
        mask = np.zeros(ids.shape, dtype=bool)  # (rows, time)
        for row, context in enumerate(contexts):
            ids[row, : len(context)] = context
            mask[row, : len(context)] = True
        last = np.array([len(c) - 1 for c in contexts], dtype=np.int32)  # (rows,)
        allowed = np.stack([self.healer.allowed(t) for _, t in splits])
        first = np.asarray(self._first_tokens(ids, mask, last, allowed))  # (rows,)
        histories = [
            np.append(c, f).astype(np.int32)
            for (c, _), f in zip(splits, first, strict=True)
        ]
        generated = [np.array([f], dtype=np.int32) for f in first]
        cuts = [len(self.healer.text(t)) for _, t in splits]
        return histories, generated, cuts

    def _prompts(self, histories, needed: int) -> tuple[list, int]:
        """The context of each row for a round of `needed` tokens, and the round's
        token count: everything if it fits the window, else the last half of the
        window (at least) as context."""
        longest = max(len(h) for h in histories)
        new = max(1, min(needed, self.window - 1))
        if longest + new > self.window:
            new = min(new, max(1, self.window // 2))
        keep = self.window - new
        return [h[len(h) - keep :] for h in histories], new

    def _tokens_for(self, characters: int) -> int:
        """A round's token count for `characters` more characters."""
        per_token = self.config.characters_per_token or 1.0
        return max(1, math.ceil(characters / per_token * 1.1) + 1)

    def _generate_rows(self, seeds, length, sampling, num_samples, strict) -> list:
        """`Generator.generate`'s rows; `strict` has no effect: the byte-level BPE
        encodes every character."""
        encoded = [self._encode(s) for s in seeds]
        rows = [e for e in encoded for _ in range(num_samples)]
        row_seeds = [s for s in seeds for _ in range(num_samples)]
        texts = self._sample_rows(row_seeds, rows, length, sampling)
        return [seeds[i // num_samples] + text for i, text in enumerate(texts)]

    def _encode(self, seed: str) -> np.ndarray:
        if not isinstance(seed, str) or not seed:
            raise InputError(
                f"`seed` must be a non-empty string. Received: seed={seed!r}"
            )
        return encode(self.tokenizer, [seed])[0]

    def _sample_rows(self, seeds, rows, length, sampling: Sampling) -> list[str]:
        """The generated text of every row (seeds not included)."""
        texts = [""] * len(rows)
        if not length:
            return texts
        matcher = StopMatcher(sampling.stop)
        self.sampler.configure(sampling)
        histories, generated, cuts = self._heal(seeds, rows)
        for row in range(len(rows)):
            texts[row] = decode(self.tokenizer, generated[row])[cuts[row] :]
        live = [
            r for r in range(len(rows)) if not self._finished(texts, r, length, matcher)
        ]
        while live:
            needed = max(length - len(texts[row]) for row in live)
            contexts, new = self._prompts(
                [histories[r] for r in live], self._tokens_for(needed)
            )
            for row, tokens in zip(live, self._round(contexts, new), strict=True):
                histories[row] = np.concatenate([histories[row], tokens])
                generated[row] = np.concatenate([generated[row], tokens])
                texts[row] = decode(self.tokenizer, generated[row])[cuts[row] :]
            live = [r for r in live if not self._finished(texts, r, length, matcher)]
        return [text[:length] for text in texts]

    @staticmethod
    def _finished(texts, row, length, matcher: StopMatcher) -> bool:
        """Whether a row is done; cuts its text at a stop string within `length`."""
        if matcher.stops:
            cut = matcher.find(texts[row][:length], 0)
            if cut is not None:
                texts[row] = texts[row][:cut]
                return True
        return len(texts[row]) >= length

    def _stream(self, seed, length, sampling, strict) -> Iterator[str]:
        """`Generator.stream` on GPT-2: tokens come `STREAM_TOKENS` at a time, and
        the text joined is `generate`'s with the same arguments up to the random
        draws; `strict` has no effect."""
        return self._pieces(seed, self._encode(seed), length, sampling)

    def _pieces(self, seed, history, length, sampling) -> Iterator[str]:
        if not length:
            return
        matcher = StopMatcher(sampling.stop)
        self.sampler.configure(sampling)
        (history,), (generated,), (cut_seed,) = self._heal([seed], [history])
        sent = 0  # characters yielded so far
        while True:
            text = decode(self.tokenizer, generated)[cut_seed:]
            window = text[:length]
            cut = matcher.find(window, 0) if matcher.stops else None
            done = cut is not None or len(text) >= length
            ready = cut if cut is not None else len(window)
            if not done:
                # A trailing replacement character may be half of a multi-byte one.
                ready = min(ready, len(text.rstrip("\ufffd")))
                ready = min(ready, len(window) - matcher.held_back(window))
            if ready > sent:
                yield text[sent:ready]
                sent = ready
            if done:
                return
            contexts, new = self._prompts([history], STREAM_TOKENS)
            tokens = self._round(contexts, new)[0]
            history = np.concatenate([history, tokens])
            generated = np.concatenate([generated, tokens])
