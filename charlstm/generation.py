"""Generating text from a trained model: warm up on a seed, then sample step by step."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from charlstm.checks import check_count
from charlstm.config import ModelConfig, RunConfig
from charlstm.model import build_model, reset_states
from charlstm.runs import RunFiles, check_trained
from charlstm.sampling import check_sampling, sample
from charlstm.vocabulary import Vocabulary


class TextGenerator:
    """Generates text with a trained model.

    Holds the trained weights and builds stateful inference models of any batch
    size from them. Each model's forward pass is compiled once and reused: the
    warm-up seed goes through in one call, then every new character is one call.

    Args:
        model: keras.Model. A trained model (any batch size) of `config`.
        vocabulary: Vocabulary. The run's vocabulary.
        config: RunConfig or ModelConfig. The model's configuration.

    Example:
    >>> generator = charlstm.load("runs/stdlib")
    >>> print(generator.generate("def ", 200, temperature=0.75))
    """

    def __init__(self, model: keras.Model, vocabulary: Vocabulary, config):
        self.config = config.model if isinstance(config, RunConfig) else config
        if not isinstance(self.config, ModelConfig):
            raise TypeError(
                f"`config` must be a RunConfig or ModelConfig. Received: {config!r}"
            )
        self.vocabulary = vocabulary
        self.weights = model.get_weights()
        self._models = {}  # batch_size -> (model, compiled step)

    def inference_model(self, batch_size: int = 1) -> keras.Model:
        """A new stateful model with the trained weights.

        It takes integer ids `(batch_size, time)` for any `time` and returns
        probabilities `(batch_size, time, vocabulary_size)`; its state carries over
        between calls until `charlstm.model.reset_states(model)`.
        """
        check_count("batch_size", batch_size)
        model = build_model(self.config, batch_size, None, stateful=True)
        model.set_weights(self.weights)
        return model

    def _compiled(self, batch_size: int):
        if batch_size not in self._models:
            model = self.inference_model(batch_size)
            self._models[batch_size] = (model, _compile_last_step(model))
        return self._models[batch_size]

    def generate(
        self,
        seed: str,
        length: int,
        temperature: float = 0.75,
        top_k: int | None = None,
        top_p: float | None = None,
        num_samples: int = 1,
        random_seed: int | None = None,
        strict: bool = True,
    ):
        """Generates `length` characters (tokens in word mode) after a warm-up `seed`.

        Args:
            seed: str. Warm-up text (at least one character in the vocabulary).
            length: int. Number of characters to generate; in word mode (a
                `TokenVocabulary`), number of tokens.
            temperature: float. 0 is greedy; 0.75 is seed 002's choice.
            top_k: int or None. Sample among the k most likely characters.
            top_p: float or None. Nucleus sampling with this probability mass.
            num_samples: int. Independent samples generated together.
            random_seed: int or None. Makes the output reproducible.
            strict: bool. If False, seed characters outside the vocabulary are
                dropped instead of raising a ValueError that lists them.

        Returns:
            The seed followed by the generated characters: a str, or a list of
            `num_samples` str when `num_samples > 1`.
        """
        check_sampling(temperature, top_k, top_p)
        check_count("length", length, 0)
        check_count("num_samples", num_samples)
        ids = self.vocabulary.encode(seed, strict=strict)
        if len(ids) == 0:
            raise ValueError(
                "`seed` must contain at least one character of the vocabulary. "
                f"Received: seed={seed!r}"
            )
        rng = np.random.default_rng(random_seed)
        model, step = self._compiled(num_samples)
        reset_states(model)
        out = np.empty((num_samples, length), dtype=np.int64)  # (batch, length)
        if length:
            x = np.repeat(
                ids[None, :].astype(np.int32), num_samples, axis=0
            )  # (batch, seed)
            for t in range(length):
                probs = np.asarray(step(x))  # (batch, vocab)
                out[:, t] = sample(probs, temperature, top_k, top_p, rng)
                x = out[:, t : t + 1].astype(np.int32)  # (batch, 1)
        prefix = self.vocabulary.decode(ids) if not strict else seed
        texts = [prefix + self.vocabulary.decode(row) for row in out]
        return texts if num_samples > 1 else texts[0]

    def stream(self, seed: str, length: int, **kwargs):
        """`NumpyTextGenerator.stream` run on this Keras model."""
        return self._on_engine().stream(seed, length, **kwargs)

    def complete(self, prefix: str, **kwargs):
        """`NumpyTextGenerator.complete` run on this Keras model."""
        return self._on_engine().complete(prefix, **kwargs)

    def _on_engine(self):
        if getattr(self, "_engine_generator", None) is None:
            from charlstm.numpy_generation import NumpyTextGenerator

            self._engine_generator = NumpyTextGenerator.on_keras(self)
        return self._engine_generator


def _compile_last_step(model: keras.Model):
    """Compiled: ids (batch, time) -> probabilities of the last step (batch, vocab)."""
    return compile_forward(model, last_only=True)


def compile_forward(model: keras.Model, last_only: bool = False):
    """Compiles a stateful model's forward pass once for any number of time steps.

    Returns a function from int32 ids `(batch, time)` to numpy probabilities
    `(batch, time, vocab)`, or `(batch, vocab)` for the last step if `last_only`.
    """

    def forward(ids):
        probs = model(ids, training=False)  # (batch, time, vocab)
        return probs[:, -1, :] if last_only else probs

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        spec = tf.TensorSpec((model.inputs[0].shape[0], None), tf.int32)
        compiled = tf.function(forward, input_signature=[spec])
        return lambda x: compiled(x).numpy()
    return lambda x: keras.ops.convert_to_numpy(forward(x))


def load(run_dir: str | os.PathLike, checkpoint: str = "best") -> TextGenerator:
    """Loads a trained run directory as a `TextGenerator`.

    Args:
        run_dir: path. A directory written by `charlstm.train`.
        checkpoint: "best" (lowest validation loss, `model.keras`) or "last".

    Example:
    >>> generator = charlstm.load("runs/stdlib")
    """
    files = RunFiles(run_dir)
    path = check_trained(files, checkpoint)
    config = RunConfig.load(files.config)
    vocabulary = Vocabulary.load(files.vocabulary)
    model = keras.saving.load_model(Path(path), compile=False)
    return TextGenerator(model, vocabulary, config)
