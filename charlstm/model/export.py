"""Exporting a trained run for use without charlstm.

`export(run_dir, out)` writes a directory that someone without charlstm can use:

- `model.keras`: a Keras model of built-in layers only, for batch 1 and stateful,
  that `keras.saving.load_model` opens with Keras and TensorFlow alone. Its input
  is a `(1, time)` tensor of single characters (strings); a `StringLookup` layer
  named "vocabulary" holds the characters and turns them into ids; its output is
  `(1, time, len(vocabulary))` next-character probabilities, column `j` for
  `model.get_layer("vocabulary").get_vocabulary()[j]`. Column 0, "[UNK]", is the
  unknown id: every character outside the vocabulary. States carry over between
  calls until `model.layers[i].reset_state()` (every recurrent layer).
- `engine.npz`: the numpy engine's weights (`charlstm.infer.engine_weights`,
  format 1; `docs/export.md` documents it), with `vocab.json` for its ids.
- `vocab.json`, and a `README.md` on how to use the files.

An LN-LSTM run (`cell="ln_lstm"`) has no `model.keras`: no built-in Keras layer
normalises inside an LSTM cell. Its export is `engine.npz`, `vocab.json` and the
README. Dropout is left out (it does nothing at inference). Word-mode runs,
GPT-2 runs and models the numpy engine cannot run (residual connections, layer
normalisation between layers) are refused.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np

from charlstm.backends import run_backend
from charlstm.config import ModelConfig, RunConfig
from charlstm.data.vocabulary import Vocabulary
from charlstm.infer.engine_weights import (
    EngineWeights,
    engine_path,
    file_digest,
    unsupported_reason,
)
from charlstm.model.build import load_model_file
from charlstm.training.run_dir import RunFiles, check_trained
from charlstm.utils.checks import InputError

# The token the exported model's StringLookup gives to characters outside it.
UNKNOWN_TOKEN = "[UNK]"

_RECURRENT = {
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
    "simple_rnn": keras.layers.SimpleRNN,
}

README = """# A character-level language model exported by charlstm {version}

Trained with charlstm (a {layers} x {units} {cell}); these files need no charlstm.

{files}
- `engine.npz` and `vocab.json`: the weights for numpy alone, in the format
  that charlstm's docs/export.md describes.
"""

KERAS_README = """\
- `model.keras`: `keras.saving.load_model("model.keras")` with Keras 3 and
  TensorFlow. Input: a (1, time) string tensor of single characters. Output:
  (1, time, {size}) next-character probabilities; column j is the character
  `model.get_layer("vocabulary").get_vocabulary()[j]` ("[UNK]": any other
  character). The model is stateful: call it on a text piece by piece, and
  `layer.reset_state()` on every recurrent layer to start a new text.

      import keras, numpy as np, tensorflow as tf
      model = keras.saving.load_model("model.keras")
      characters = model.get_layer("vocabulary").get_vocabulary()
      probs = model(tf.constant([list("def ")]))[0, -1].numpy()
      print(characters[int(np.argmax(probs))])
"""

# An LN-LSTM's export: the cell has no built-in Keras layer.
NO_KERAS_README = """\
- No `model.keras`: no built-in Keras layer normalises inside an LSTM cell.
  The cell is Ba, Kiros and Hinton's LSTM with layer normalisation of the input
  projection, the recurrent projection and the cell; `engine.npz` holds each
  gain and shift (docs/export.md).
"""


def export(
    run_dir: str | os.PathLike,
    out: str | os.PathLike,
    checkpoint: str = "best",
    force: bool = False,
) -> Path:
    """Writes a self-contained inference model of a run (see the module docstring).

    Args:
        run_dir: path. A trained LSTM (LN-LSTM, GRU, SimpleRNN) run directory.
        out: path. The directory to write; it must not exist unless `force`.
        checkpoint: "best" (`model.keras`) or "last".
        force: bool. Replace `out` if it exists.

    Returns:
        The path of the written directory.

    Example:
    >>> export("runs/stdlib", "exported/stdlib")
    """
    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(
            f"`out` already exists: {str(out)!r}. Pass force=True (--force) to "
            "replace it."
        )
    if not out.parent.is_dir():
        raise FileNotFoundError(
            f"`out` is in a directory that does not exist: {str(out)!r}"
        )
    config, vocabulary, weights = _read_run(Path(run_dir), checkpoint)
    keras_layers = config.model.cell in _RECURRENT
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        digest = ""  # of the model.keras beside engine.npz, if there is one
        if keras_layers:
            inference_model(config.model, vocabulary, weights).save(tmp / "model.keras")
            digest = file_digest(tmp / "model.keras")
        weights.save(tmp / "engine.npz", digest)
        vocabulary.save(tmp / "vocab.json")
        files = KERAS_README if keras_layers else NO_KERAS_README
        size = vocabulary.size + (vocabulary.unknown_id is None)
        (tmp / "README.md").write_text(
            README.format(
                version=config.version or "?",
                layers=config.model.num_layers,
                units=config.model.units,
                cell=config.model.cell.upper().replace("_", "-"),
                files=files.format(size=size),
            ),
            encoding="utf-8",
        )
        if out.exists():  # force: the old directory goes only once the new is whole
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _read_run(run_dir: Path, checkpoint: str):
    if run_backend(run_dir) != "lstm":
        raise InputError(
            f"export writes LSTM runs; {str(run_dir)!r} is a GPT-2 run, whose "
            "model.keras needs keras-hub to load."
        )
    files = RunFiles(run_dir)
    path = check_trained(files, checkpoint)
    config = RunConfig.load(files.config)
    vocabulary = Vocabulary.load(files.vocabulary)
    if vocabulary.kind != "char":
        raise InputError(
            "export writes character-level runs; a word-mode run's tokenizer is "
            "charlstm code (charlstm.data.tokens)."
        )
    reason = unsupported_reason(config.model)
    if reason:
        raise InputError(f"cannot export {str(run_dir)!r}: {reason}.")
    weights = EngineWeights.read(engine_path(path), file_digest(path))
    if weights is None or weights.config != config.model:
        weights = EngineWeights(config.model, load_model_file(path).get_weights())
    return config, vocabulary, weights


def _check_cell(config: ModelConfig) -> None:
    """An InputError unless the cell is one of Keras's built-in layers."""
    if config.cell not in _RECURRENT:
        raise InputError(
            f"`config.cell` {config.cell!r} has no built-in Keras layer (layer "
            "normalisation inside the LSTM cell); its export is engine.npz alone."
        )


def column_order(vocabulary: Vocabulary) -> np.ndarray:
    """The run's id of each exported column: the unknown id (-1 if the vocabulary
    has none) for "[UNK]", then the characters in the lookup's order."""
    unknown = -1 if vocabulary.unknown_id is None else vocabulary.unknown_id
    return np.array([unknown, *range(len(vocabulary.characters))])


def inference_model(
    config: ModelConfig, vocabulary: Vocabulary, weights: EngineWeights
) -> keras.Model:
    """The batch-1 stateful model of built-in Keras layers, weights set."""
    _check_cell(config)
    order = column_order(vocabulary)  # (columns,) run ids, -1: none
    size = len(order)
    characters = keras.Input(batch_shape=(1, None), dtype="string", name="characters")
    lookup = keras.layers.StringLookup(
        vocabulary=list(vocabulary.characters),
        num_oov_indices=1,
        oov_token=UNKNOWN_TOKEN,
        name="vocabulary",
    )
    ids = lookup(characters)  # (1, time) int64, 0: unknown
    arrays = list(weights.arrays)
    if config.input_encoding == "embedding":
        table = _rows(arrays.pop(0), order)  # (columns, embedding_dim)
    else:  # one-hot: an embedding whose rows are the one-hot vectors
        table = _rows(np.eye(config.vocabulary_size, dtype=np.float32), order)
    embedding = keras.layers.Embedding(size, table.shape[1], name="embedding")
    x = embedding(ids)  # (1, time, features)
    recurrent = []
    for i in range(config.num_layers):
        layer = _RECURRENT[config.cell](
            config.units,
            return_sequences=True,
            stateful=True,
            name=f"{config.cell}_{i}",
        )
        x = layer(x)  # (1, time, units)
        recurrent.append(layer)
    dense = keras.layers.Dense(size, activation="softmax", name="softmax")
    probabilities = dense(x)  # (1, time, columns)
    model = keras.Model(characters, probabilities, name="charlstm_export")
    embedding.set_weights([table])
    for layer in recurrent:
        layer.set_weights([arrays.pop(0) for _ in range(3)])
    kernel, bias = arrays
    dense.set_weights(
        [_rows(kernel.T, order).T, _rows(bias[:, None], order, fill=-1e9)[:, 0]]
    )
    return model


def _rows(array: np.ndarray, order: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """`array`'s rows in `order`; a row of `fill` where the order is -1."""
    out = np.full((len(order), *array.shape[1:]), fill, dtype=np.float32)
    out[order >= 0] = array[order[order >= 0]]
    return out
