"""Generation chars/s: `TextGenerator` vs the predict-per-char loops of Frank (2022).

All methods run the same weights: a model built from a `ModelConfig` with random
weights (speed does not depend on training, so the text is gibberish) and the
default corpus's vocabulary. The baselines are the loops of Frank, "Generating
Python with Character Level LSTMs" (2022), from the paper's own code
(github.com/edf42001/ECSE-484-Computational-Intelligence), one `model.predict`
call per character with the input one-hot encoded in numpy and its `sample()`
(log / temperature, softmax, `np.random.multinomial`):

- window: a stateless model re-reads the last 40 characters for every new one
  (`non_stateful_generate_text_and_save_hidden_neurons.py`, as in the keras-io
  example);
- stateful: a stateful copy with input shape (1, 1, vocab) is fed one character
  per call (`generate_text_and_save_hidden_neurons.py`, the loop of section 5).

Compilation is excluded everywhere: each method generates a few characters
before it is timed. Run by hand, alone on the machine:

    python benchmarks/generate_speed.py --preset frank2022 > docs/generate_speed.md

Prints a Markdown table; progress goes to stderr.
"""

import argparse
import dataclasses
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import charlstm  # noqa: E402
from charlstm.model.build import build_model  # noqa: E402

WINDOW = 40  # the sequence length at generation of Frank (2022) and keras-io
TEMPERATURE = 0.75  # the diversity of Frank (2022)


def log(message):
    print(message, file=sys.stderr, flush=True)


def frank_sample(preds, temperature=1.0):
    # The sampler of Frank (2022) and keras-io, verbatim.
    preds = np.asarray(preds).astype("float64")
    preds = np.log(preds) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    probas = np.random.multinomial(1, preds, 1)
    return np.argmax(probas)


def frank_model(config, stateful):
    """The model of Frank (2022): one-hot floats in, LSTM stack, Dense softmax."""
    vocab, layers = config.vocabulary_size, []
    for i in range(config.num_layers):
        last = i == config.num_layers - 1
        sequences = stateful or not last  # the window model returns the last step only
        layers.append(
            keras.layers.LSTM(
                config.units, return_sequences=sequences, stateful=stateful
            )
        )
        if config.dropout:
            layers.append(keras.layers.Dropout(config.dropout))
    shape = dict(batch_shape=(1, 1, vocab)) if stateful else dict(shape=(WINDOW, vocab))
    return keras.Sequential(
        [keras.Input(**shape), *layers, keras.layers.Dense(vocab, activation="softmax")]
    )


def window_loop(model, sentence, length, char_indices, indices_char):
    generated = ""
    for _ in range(length):
        x_pred = np.zeros((1, WINDOW, len(char_indices)))
        for t, char in enumerate(sentence):
            x_pred[0, t, char_indices[char]] = 1.0
        preds = model.predict(x_pred, verbose=0)[0]
        next_char = indices_char[frank_sample(preds, TEMPERATURE)]
        sentence = sentence[1:] + next_char
        generated += next_char
    return generated


def stateful_loop(model, sentence, length, char_indices, indices_char):
    def predict(char):
        x_pred = np.zeros((1, 1, len(char_indices)))
        x_pred[0, 0, char_indices[char]] = 1.0
        return model.predict(x_pred, verbose=0)[0, 0]

    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()
    for char in sentence[:-1]:  # warm-up, excluded from the timing
        predict(char)
    start, generated, next_char = time.perf_counter(), "", sentence[-1]
    for _ in range(length):
        next_char = indices_char[frank_sample(predict(next_char), TEMPERATURE)]
        generated += next_char
    return generated, time.perf_counter() - start


def timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--preset",
        choices=["default", "frank2022"],
        default="default",
        help="default: LSTM 128 x 1, one-hot; frank2022: LSTM 512 x 3",
    )
    parser.add_argument(
        "--baseline-chars",
        type=int,
        default=50,
        help="characters per baseline loop (they are slow)",
    )
    parser.add_argument(
        "--chars", type=int, default=2000, help="characters for charlstm's generate"
    )
    args = parser.parse_args()

    corpus = charlstm.load_corpus()
    vocabulary = corpus.vocabulary
    middle = len(corpus.ids) // 2
    seed = vocabulary.decode(corpus.ids[middle : middle + WINDOW])  # warm-up text
    if args.preset == "frank2022":
        config = charlstm.preset("frank2022").model
    else:
        config = charlstm.ModelConfig(
            cell="lstm", num_layers=1, units=128, dropout=0.0, input_encoding="one_hot"
        )
    config = dataclasses.replace(config, vocabulary_size=vocabulary.size)
    assert config.cell == "lstm" and config.input_encoding == "one_hot"
    keras.utils.set_random_seed(0)
    model = build_model(config, batch_size=1)
    weights = model.get_weights()
    chars = vocabulary.characters
    char_indices = {c: i for i, c in enumerate(chars)}
    indices_char = dict(enumerate(chars))

    # Same weights check: the window model against charlstm's stateless build.
    window_model = frank_model(config, stateful=False)
    window_model.set_weights(weights)
    reference = build_model(config, 1, sequence_length=WINDOW, stateful=False)
    reference.set_weights(weights)
    ids = vocabulary.encode(seed).astype(np.int32)[None]  # (1, 40)
    x = np.eye(vocabulary.size, dtype=np.float32)[ids]  # (1, 40, vocab)
    diff = np.abs(np.asarray(window_model(x))[0] - np.asarray(reference(ids))[0, -1])
    log(
        f"{config.num_layers} x {config.units} LSTM, vocabulary {vocabulary.size}, "
        f"{model.count_params():,} params (random weights); "
        f"window model vs charlstm build: max |dp| = {float(np.max(diff)):.1e}"
    )

    rows = []
    log(f"Frank (2022) window loop: {args.baseline_chars} chars ...")
    window_loop(window_model, seed, 2, char_indices, indices_char)  # compile
    seconds = timed(
        window_loop, window_model, seed, args.baseline_chars, char_indices, indices_char
    )
    rows.append(
        (
            "Frank (2022) / keras-io: stateless 40-char window, `predict` per char",
            args.baseline_chars,
            seconds,
        )
    )

    log(f"Frank (2022) stateful loop: {args.baseline_chars} chars ...")
    stateful_model = frank_model(config, stateful=True)
    stateful_model.set_weights(weights)
    stateful_loop(stateful_model, seed[-3:], 2, char_indices, indices_char)  # compile
    _, seconds = stateful_loop(
        stateful_model, seed, args.baseline_chars, char_indices, indices_char
    )
    rows.append(
        (
            "Frank (2022): stateful (1, 1, vocab), `predict` per char",
            args.baseline_chars,
            seconds,
        )
    )

    log(f"charlstm TextGenerator.generate: {args.chars} chars ...")
    generator = charlstm.TextGenerator.from_model(
        model, vocabulary, config, engine="keras"
    )
    generator.generate(seed, 5, temperature=TEMPERATURE, random_seed=0)  # compile
    seconds = timed(generator.generate, seed, args.chars, TEMPERATURE)
    rows.append(("charlstm `TextGenerator.generate`", args.chars, seconds))

    ours = args.chars / rows[-1][2]
    print("| method | chars generated | seconds | chars/s | charlstm speedup |")
    print("|---|---|---|---|---|")
    for name, count, seconds in rows:
        rate = count / seconds
        speedup = ours / rate
        print(f"| {name} | {count:,} | {seconds:.2f} | {rate:,.1f} | {speedup:.1f}x |")
    print(
        f"\n- Model: {config.num_layers} x {config.units} LSTM, one-hot input, "
        f"vocabulary {vocabulary.size} (stdlib corpus), {model.count_params():,} "
        "parameters, random weights (speed only; the text is meaningless)."
    )
    print(
        f"- Temperature {TEMPERATURE}; a {WINDOW}-character warm-up seed. "
        "Compilation excluded; the stateful baseline's per-character warm-up is "
        "excluded too, charlstm's one-call warm-up is included."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
