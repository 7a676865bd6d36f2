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

An LN-LSTM run (`cell="ln_lstm"`): no built-in Keras layer runs its cell over
time, so its `model.keras` is one step of it (`step_model`), of built-in layers
(Dense, LayerNormalization, Add, Multiply): inputs a `(1,)` string tensor of
one character and each layer's `h` and `c`, `(1, units)`; outputs the `(1,
columns)` probabilities and the new states, in the same order. Dropout is left
out (it does nothing at inference). Word-mode runs, GPT-2 runs and models the
numpy engine cannot run (residual connections, layer normalisation between
layers) are refused.
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
from charlstm.model.ln_lstm import EPSILON
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

# An LN-LSTM's export: no built-in Keras layer runs its cell over time.
STEP_README = """\
- `model.keras`: `keras.saving.load_model("model.keras")` with Keras 3 and
  TensorFlow. One step of the model (an LN-LSTM: Ba, Kiros and Hinton's LSTM
  with layer normalisation inside the cell, which no built-in Keras layer runs
  over time). Inputs: a (1,) string tensor of one character, then each layer's
  h and c, (1, {units}) each, zeros to start a text. Outputs: (1, {size})
  next-character probabilities (column j is the character
  `model.get_layer("vocabulary").get_vocabulary()[j]`, "[UNK]": any other
  character), then the new states, in the inputs' order.

      import keras, numpy as np, tensorflow as tf
      model = keras.saving.load_model("model.keras")
      characters = model.get_layer("vocabulary").get_vocabulary()
      states = [tf.zeros((1, {units}))] * {states}
      for character in "def ":
          probs, *states = model([tf.constant([character]), *states])
      print(characters[int(np.argmax(probs[0]))])
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
    m = config.model
    over_time = m.cell in _RECURRENT  # else one step (an LN-LSTM)
    build = inference_model if over_time else step_model
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        build(m, vocabulary, weights).save(tmp / "model.keras")
        weights.save(tmp / "engine.npz", file_digest(tmp / "model.keras"))
        vocabulary.save(tmp / "vocab.json")
        size = vocabulary.size + (vocabulary.unknown_id is None)
        files = (KERAS_README if over_time else STEP_README).format(
            size=size, units=m.units, states=2 * m.num_layers
        )
        (tmp / "README.md").write_text(
            README.format(
                version=config.version or "?",
                layers=m.num_layers,
                units=m.units,
                cell=m.cell.upper().replace("_", "-"),
                files=files,
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


def _check_cell(config: ModelConfig, cells) -> None:
    """An InputError unless `config.cell` is one of `cells`."""
    if config.cell not in cells:
        raise InputError(
            f"`config.cell` must be one of {tuple(cells)} here, got "
            f"{config.cell!r}: export() picks the model for each cell."
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
    _check_cell(config, _RECURRENT)
    order = column_order(vocabulary)  # (columns,) run ids, -1: none
    characters = keras.Input(batch_shape=(1, None), dtype="string", name="characters")
    arrays = list(weights.arrays)
    x = _embedded(characters, config, vocabulary, arrays, order)  # (1, time, features)
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
    dense = keras.layers.Dense(len(order), activation="softmax", name="softmax")
    probabilities = dense(x)  # (1, time, columns)
    model = keras.Model(characters, probabilities, name="charlstm_export")
    for layer in recurrent:
        layer.set_weights([arrays.pop(0) for _ in range(3)])
    _set_softmax(dense, arrays, order)
    return model


def step_model(
    config: ModelConfig, vocabulary: Vocabulary, weights: EngineWeights
) -> keras.Model:
    """One step of an LN-LSTM run, of built-in Keras layers, weights set:
    [character (1,), h_0, c_0, h_1, ...] -> [probabilities (1, columns),
    h_0', c_0', h_1', ...], each state (1, units).

    Per layer, as `charlstm.model.ln_lstm`: the input and recurrent projections
    (Dense) are normalised (LayerNormalization, the bias folded into the input
    normalisation's shift) and added; fixed Dense kernels of zeros and ones
    pick the four gates' columns out of the sum, since a layer normalisation
    covers all four jointly."""
    _check_cell(config, ("ln_lstm",))
    order = column_order(vocabulary)  # (columns,) run ids, -1: none
    character = keras.Input(batch_shape=(1,), dtype="string", name="character")
    arrays = list(weights.arrays)
    x = _embedded(character, config, vocabulary, arrays, order)  # (1, features)
    units, inputs, outputs, settings = config.units, [character], [], []
    for i in range(config.num_layers):
        h = keras.Input(batch_shape=(1, units), name=f"h_{i}")
        c = keras.Input(batch_shape=(1, units), name=f"c_{i}")
        inputs += [h, c]
        kernel, recurrent, bias, gx, bx, gh, bh, gc, bc = (
            arrays.pop(0) for _ in range(9)
        )
        name = f"ln_lstm_{i}"
        project = keras.layers.Dense(4 * units, use_bias=False, name=f"{name}_input")
        loop = keras.layers.Dense(4 * units, use_bias=False, name=f"{name}_recurrent")
        norms = [
            _norm(f"{name}_{part}_norm") for part in ("input", "recurrent", "cell")
        ]
        settings += [(project, [kernel]), (loop, [recurrent])]
        # The bias is folded into the input normalisation's shift.
        settings += zip(norms, ([gx, bx + bias], [gh, bh], [gc, bc]), strict=True)
        z = keras.layers.Add(name=f"{name}_z")(
            [norms[0](project(x)), norms[1](loop(h))]
        )  # (1, 4 * units)
        gates = []
        for k, (gate, activation) in enumerate(GATES):
            pick = keras.layers.Dense(
                units,
                activation=activation,
                use_bias=False,
                trainable=False,
                name=f"{name}_{gate}",
            )
            gates.append(pick(z))  # (1, units)
            settings.append((pick, [_columns(4 * units, k * units, units)]))
        input_gate, forget, candidate, output = gates
        c_new = keras.layers.Add(name=f"{name}_c")(
            [
                keras.layers.Multiply()([forget, c]),
                keras.layers.Multiply()([input_gate, candidate]),
            ]
        )  # (1, units)
        squashed = keras.layers.Activation("tanh")(norms[2](c_new))
        x = keras.layers.Multiply(name=f"{name}_h")([output, squashed])  # (1, units)
        outputs += [x, c_new]
    dense = keras.layers.Dense(len(order), activation="softmax", name="softmax")
    probabilities = dense(x)  # (1, columns)
    model = keras.Model(inputs, [probabilities, *outputs], name="charlstm_export")
    for layer, values in settings:
        layer.set_weights(values)
    _set_softmax(dense, arrays, order)
    return model


# The LSTM's gates in Keras's column order, with their activations.
GATES = (
    ("input_gate", "sigmoid"),
    ("forget_gate", "sigmoid"),
    ("candidate", "tanh"),
    ("output_gate", "sigmoid"),
)


def _norm(name: str) -> keras.layers.LayerNormalization:
    return keras.layers.LayerNormalization(epsilon=EPSILON, name=name)


def _columns(width: int, start: int, count: int) -> np.ndarray:
    """A (width, count) kernel that picks columns start .. start + count - 1."""
    kernel = np.zeros((width, count), dtype=np.float32)
    kernel[np.arange(start, start + count), np.arange(count)] = 1.0
    return kernel


def _embedded(characters, config, vocabulary, arrays, order):
    """The vocabulary lookup and the embedding (a one-hot run's rows are the
    one-hot vectors) of `characters`, its table set. Pops the embedding table
    off `arrays`."""
    lookup = keras.layers.StringLookup(
        vocabulary=list(vocabulary.characters),
        num_oov_indices=1,
        oov_token=UNKNOWN_TOKEN,
        name="vocabulary",
    )
    ids = lookup(characters)  # int64, 0: unknown
    if config.input_encoding == "embedding":
        table = _rows(arrays.pop(0), order)  # (columns, embedding_dim)
    else:
        table = _rows(np.eye(config.vocabulary_size, dtype=np.float32), order)
    embedding = keras.layers.Embedding(len(order), table.shape[1], name="embedding")
    x = embedding(ids)  # built by the call: its table can be set
    embedding.set_weights([table])
    return x


def _set_softmax(dense, arrays, order) -> None:
    """The softmax's kernel and bias (the last two of `arrays`) in the export's
    columns; a column with no run id (an unknown id the run lacks) gets none of
    the probability."""
    kernel, bias = arrays
    dense.set_weights(
        [_rows(kernel.T, order).T, _rows(bias[:, None], order, fill=-1e9)[:, 0]]
    )


def _rows(array: np.ndarray, order: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """`array`'s rows in `order`; a row of `fill` where the order is -1."""
    out = np.full((len(order), *array.shape[1:]), fill, dtype=np.float32)
    out[order >= 0] = array[order[order >= 0]]
    return out
