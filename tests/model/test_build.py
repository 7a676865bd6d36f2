import keras
import numpy as np
import pytest

from charlstm.config import ModelConfig
from charlstm.model.build import OneHot, build_model, recurrent_layers, reset_states
from charlstm.training.schedule import compile_model, learning_rate_schedule


def config(**kw):
    base = dict(  # the LSTM: the LN-LSTM's layers are tests/model/test_ln_lstm.py's
        vocabulary_size=10,
        cell="lstm",
        num_layers=2,
        units=8,
        embedding_dim=4,
        dropout=0.0,
    )
    base.update(kw)
    return ModelConfig(**base)


@pytest.mark.parametrize("fast_path", [False, True])
@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
@pytest.mark.parametrize("encoding", ["one_hot", "embedding"])
def test_output_is_a_distribution_per_step(cell, encoding, fast_path):
    model = build_model(
        config(cell=cell, input_encoding=encoding, fast_path=fast_path),
        batch_size=3,
        sequence_length=5,
    )
    ids = np.random.default_rng(0).integers(0, 10, size=(3, 5)).astype("int32")
    probs = np.asarray(model(ids))
    assert probs.shape == (3, 5, 10)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    # Keras's layers, or with the fast path charlstm.model.fast_rnn's subclasses
    # of them.
    name = {"lstm": "lstm", "gru": "gru", "simple_rnn": "simplernn"}[cell]
    name = f"fast{name}" if fast_path else name
    assert [type(layer).__name__.lower() for layer in recurrent_layers(model)] == [
        name
    ] * 2


def test_stateful_model_carries_state_between_calls_until_reset():
    model = build_model(config(), batch_size=1, sequence_length=None)
    ids = np.array([[1, 2, 3, 4, 5, 6]], dtype="int32")
    whole = np.asarray(model(ids))
    reset_states(model)
    first = np.asarray(model(ids[:, :3]))
    second = np.asarray(model(ids[:, 3:]))
    np.testing.assert_allclose(
        np.concatenate([first, second], axis=1), whole, atol=1e-6
    )
    # Without a reset the same input gives a different answer; after one it repeats.
    again = np.asarray(model(ids[:, :3]))
    assert not np.allclose(again, first, atol=1e-6)
    reset_states(model)
    np.testing.assert_allclose(np.asarray(model(ids[:, :3])), first, atol=1e-6)


def test_stateless_model_does_not_carry_state():
    model = build_model(config(), batch_size=None, sequence_length=None, stateful=False)
    ids = np.array([[1, 2, 3]], dtype="int32")
    np.testing.assert_allclose(
        np.asarray(model(ids)), np.asarray(model(ids)), atol=1e-7
    )


def test_dropout_layers_follow_every_recurrent_layer():
    model = build_model(config(dropout=0.5, num_layers=3), batch_size=2)
    names = [layer.name for layer in model.layers]
    for i in range(3):
        assert names.index(f"dropout_{i}") == names.index(f"lstm_{i}") + 1


def test_residual_adds_where_widths_match_and_layer_norm_follows_each_layer():
    # Embedding 4 wide, units 8: layer 0 cannot be residual, layers 1-2 are.
    cfg = config(num_layers=3, residual=True, layer_norm=True, dropout=0.5)
    model = build_model(cfg, batch_size=2)
    names = [layer.name for layer in model.layers]
    assert "residual_0" not in names
    for i in (1, 2):
        assert names.index(f"residual_{i}") > names.index(f"lstm_{i}")
    for i in range(3):
        assert names.index(f"dropout_{i}") == names.index(f"layer_norm_{i}") + 1
    # The residual really adds the layer's input: zeroing the top LSTM's
    # weights leaves its layer_norm seeing exactly the layer below's output.
    top = model.get_layer("lstm_2")
    top.set_weights([np.zeros_like(w) for w in top.get_weights()])
    probe = keras.Model(
        model.input,
        [model.get_layer("dropout_1").output, model.get_layer("residual_2").output],
    )
    below, summed = probe(np.array([[1, 2, 3], [4, 5, 6]], dtype="int32"))
    np.testing.assert_allclose(np.asarray(summed), np.asarray(below), atol=1e-6)


def test_residual_and_layer_norm_survive_a_keras_file(tmp_path):
    cfg = config(num_layers=2, residual=True, layer_norm=True, embedding_dim=8)
    model = build_model(cfg, batch_size=1)
    assert "residual_0" in [layer.name for layer in model.layers]
    ids = np.array([[1, 2, 3]], dtype="int32")
    expected = np.asarray(model(ids))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(loaded(ids)), expected, atol=1e-6)


def test_one_hot_layer_config_round_trip_and_output():
    layer = OneHot(5, name="oh")
    clone = OneHot.from_config(layer.get_config())
    assert clone.vocabulary_size == 5 and clone.name == "oh"
    out = np.asarray(layer(np.array([[0, 4]])))
    np.testing.assert_array_equal(out, [[[1, 0, 0, 0, 0], [0, 0, 0, 0, 1]]])


def test_keras_file_round_trip(tmp_path):
    model = build_model(
        config(input_encoding="one_hot"), batch_size=2, sequence_length=4
    )
    compile_model(model, config(), steps_per_epoch=3)
    ids = np.arange(8, dtype="int32").reshape(2, 4)
    expected = np.asarray(model(ids))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(loaded(ids)), expected, atol=1e-6)


def test_learning_rate_decays_once_per_epoch():
    schedule = learning_rate_schedule(
        config(learning_rate=0.002, lr_schedule="exponential", lr_decay=0.97),
        steps_per_epoch=10,
    )
    assert float(schedule(9)) == pytest.approx(0.002)
    assert float(schedule(10)) == pytest.approx(0.002 * 0.97)
    assert float(schedule(25)) == pytest.approx(0.002 * 0.97**2)
    constant = config(lr_schedule="exponential", lr_decay=1.0)
    assert learning_rate_schedule(constant, 10) == constant.learning_rate


def test_default_optimizer_is_adam_with_clipnorm_and_l2_adds_losses():
    cfg = config(l2=0.01, clipnorm=5.0)
    model = compile_model(build_model(cfg, batch_size=2, sequence_length=3), cfg, 5)
    assert type(model.optimizer) is keras.optimizers.Adam
    assert model.optimizer.clipnorm == 5.0
    model(np.zeros((2, 3), dtype="int32"))
    assert len(model.losses) > 0


@pytest.mark.parametrize(
    "name, expected",
    [
        ("rmsprop", keras.optimizers.RMSprop),
        ("adam", keras.optimizers.Adam),
        ("adamw", keras.optimizers.AdamW),
    ],
)
def test_optimizer_choice_and_weight_decay(name, expected):
    cfg = config(optimizer=name, learning_rate=0.01)
    model = compile_model(build_model(cfg, batch_size=2, sequence_length=3), cfg, 5)
    assert type(model.optimizer) is expected
    assert model.optimizer.clipnorm == cfg.clipnorm
    # No decay unless asked, AdamW included (its own default is 0.004).
    assert not model.optimizer.weight_decay
    cfg = config(optimizer=name, weight_decay=0.1)
    model = compile_model(build_model(cfg, batch_size=2, sequence_length=3), cfg, 5)
    assert model.optimizer.weight_decay == pytest.approx(0.1)


def test_cosine_schedule_starts_from_a_plain_float_rate():
    cfg = config(lr_schedule="cosine", learning_rate=0.003, lr_decay=0.5)
    assert learning_rate_schedule(cfg, steps_per_epoch=10) == 0.003


def test_unset_vocabulary_and_stateless_batch_errors():
    with pytest.raises(ValueError, match="vocabulary_size"):
        build_model(ModelConfig(), batch_size=1)
    with pytest.raises(ValueError, match="batch_size"):
        build_model(config(), batch_size=None, stateful=True)


@pytest.mark.parametrize(
    "fast_path, gpu, kind",
    [
        ("auto", False, "stack"),  # CPU: the fused stack
        ("auto", True, "keras"),  # GPU: Keras's layers, which run cuDNN
        ("on", True, "stack"),
        ("off", False, "keras"),
    ],
)
def test_fast_path_auto_chooses_the_layers_for_the_device(
    monkeypatch, fast_path, gpu, kind
):
    from charlstm.model import build

    monkeypatch.setattr(build, "gpu_visible", lambda: gpu)
    lstm = config(fast_path=fast_path)
    assert build.planned_layer_kind(lstm) == kind
    model = build_model(lstm, 2, 5, for_training=True)
    assert build.layer_kind(model) == kind
    if kind == "keras":  # the classes Keras sends to cuDNN, not charlstm's
        assert {type(x) for x in recurrent_layers(model)} == {keras.layers.LSTM}
    gru = config(cell="gru", fast_path=fast_path)
    assert build.planned_layer_kind(gru) == ("fast" if kind == "stack" else "keras")


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("fast_path", ["on", "off"])
def test_state_io_model_passes_the_states_a_stateful_model_keeps(cell, fast_path):
    """`state_io` (the replicas' model): the same outputs and final states as the
    stateful training model, starting from given states."""
    from charlstm.model.build import state_variables

    model_config = config(cell=cell, fast_path=fast_path)
    stateful = build_model(model_config, 2, 5, for_training=True)
    passing = build_model(
        model_config, 2, 5, stateful=False, for_training=True, state_io=True
    )
    passing.set_weights(stateful.get_weights())
    rng = np.random.default_rng(0)
    variables = state_variables(stateful)
    starts = [rng.normal(size=(2, 8)).astype("float32") for _ in variables]
    for variable, value in zip(state_variables(stateful), starts, strict=True):
        variable.assign(value)
    ids = rng.integers(0, 10, (2, 5))
    expected = keras.ops.convert_to_numpy(stateful(ids))  # (batch, time, vocab)
    probabilities, *finals = passing([ids, *starts])
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)
    for final, variable in zip(finals, state_variables(stateful), strict=True):
        kept = keras.ops.convert_to_numpy(variable)
        np.testing.assert_allclose(final, kept, atol=1e-6)
