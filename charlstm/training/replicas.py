"""Training steps on one device, or on several with `tf.distribute`, each replica
owning its own streams.

The training loop (`charlstm.training.loop`) runs through a `Steps` object:
`KerasSteps` is Keras's compiled step on one device; `ReplicaSteps` runs the same
update on the replicas of a `tf.distribute.Strategy`. With R replicas and a
global batch of B streams (b = B / R), replica r trains streams r*b .. r*b + b - 1
of every batch, and keeps their states itself:

                    batch k            batch k+1
    replica 0 | streams 0 .. b-1  | streams 0 .. b-1  | ...
    replica 1 | streams b .. 2b-1 | streams b .. 2b-1 | ...

The model under the strategy is stateless (`build_model(state_io=True)`): every
step takes each replica's states and returns its final ones, kept as per-replica
values. Keras 3 would make a stateful layer's state a MirroredVariable whose
copies silently diverge (keras issue 21183), and its `fit` does not run under
MultiWorkerMirroredStrategy at all (keras issue 20585), hence this step:

- every replica computes its rows' cross-entropy summed and divided by the
  global B * T, so the replicas' losses add up to one device's mean, and its
  gradients; one all-reduce sums the gradients;
- the optimizer applies the sum once, in cross-replica context, so that
  `clipnorm` clips the global gradient as on one device (Keras's own step under
  a strategy clips every replica's share before summing them);
- dropout draws a different mask on every replica (Keras's mirrored seed
  generator would give every replica the same one).

Checkpoints do not change: `snapshot()` copies the weights, the optimizer and
the states of all B streams, gathered in stream order, into the usual stateful
model at the global batch. A run trained on R replicas resumes on 1, and
vice versa.

Under MultiWorkerMirroredStrategy every worker runs the same loop on its own
copy of the corpus; the chief alone writes the run
(`charlstm.training.strategy.is_chief`), decisions
taken on one worker's clock (checkpoint due, time budget spent, a signal) are
agreed by all (`agree`), and initial values are the chief's (`_broadcast`).
"""

from __future__ import annotations

import keras
import numpy as np

from charlstm.model.build import build_model, reset_states, state_variables
from charlstm.training.checkpoint import seed_variables
from charlstm.utils.checks import InputError


class KerasSteps:
    """One device: Keras's compiled step on the stateful training model.

    Args:
        model: keras.Model. The compiled stateful training model.
        batch_size: int. Streams per batch.
    """

    replicas = 1

    def __init__(self, model: keras.Model, batch_size: int):
        self.model = model
        self.batch_size = batch_size

    def train(self, x, y) -> float:
        """One update on a batch `x`, `y` (batch, time); returns its loss."""
        return float(self.model.train_on_batch(x, y, return_dict=True)["loss"])

    def validate(self, x, y) -> float:
        """The mean loss over the batches of `x`, `y` (batches * batch, time),
        continuing the states."""
        return float(
            self.model.evaluate(
                x, y, batch_size=self.batch_size, verbose=0, return_dict=True
            )["loss"]
        )

    def reset_states(self) -> None:
        reset_states(self.model)

    def snapshot(self) -> keras.Model:
        """The stateful model at the global batch with the current weights,
        optimizer and states (what checkpoints save)."""
        return self.model

    def agree(self, *flags: bool) -> tuple[bool, ...]:
        """The flags every worker acts on: any worker's True (one worker here)."""
        return tuple(bool(f) for f in flags)


class ReplicaSteps:
    """The training steps on the replicas of a `tf.distribute.Strategy`.

    Args:
        strategy: tf.distribute.Strategy.
        model: keras.Model. The run's compiled stateful training model at the
            global batch; its weights, optimizer state and states are the
            starting point, and `snapshot()` writes the current ones back to it.
        config: ModelConfig. The architecture.
        batch_size: int. The global batch (streams); a multiple of the replicas.
        sequence_length: int. Time steps per batch.
        compile: callable(model). Compiles a model as the run's was compiled.
    """

    def __init__(self, strategy, model, config, batch_size, sequence_length, compile):
        import tensorflow as tf

        self.strategy = strategy
        self.replicas = strategy.num_replicas_in_sync
        if batch_size % self.replicas:
            raise InputError(
                f"`batch_size` must be a multiple of the number of replicas "
                f"({self.replicas}), each of which trains batch_size / replicas "
                f"streams. Received: batch_size={batch_size}"
            )
        self.canonical = model
        self.batch_size = batch_size
        self.local_batch = batch_size // self.replicas
        self.chars = batch_size * sequence_length  # targets in one global batch
        with strategy.scope():
            self.model = build_model(
                config,
                self.local_batch,
                sequence_length,
                stateful=False,
                for_training=True,
                state_io=True,
            )
            compile(self.model)
            self.model.optimizer.build(self.model.trainable_variables)
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        self._multi_worker = isinstance(
            strategy, tf.distribute.MultiWorkerMirroredStrategy
        )
        self._train_step = tf.function(self._train_step)
        self._loss_step = tf.function(self._loss_step)
        self._any_worker = tf.function(self._any_worker)
        self._load(model)

    # Moving values in and out of the replicas.

    def _distribute(self, array: np.ndarray):
        """A global (batch, ...) array as per-replica values, replica r getting
        rows r*b .. r*b + b - 1."""
        b = self.local_batch

        def rows(context):
            r = context.replica_id_in_sync_group
            return array[r * b : (r + 1) * b]

        return self.strategy.experimental_distribute_values_from_function(rows)

    def _everywhere(self, value):
        """The same value on every replica (a collective's input)."""
        return self.strategy.experimental_distribute_values_from_function(
            lambda context: value
        )

    def _gather(self, value) -> np.ndarray:
        """Per-replica values, concatenated in replica order."""
        return np.asarray(self.strategy.gather(value, axis=0))

    def _broadcast(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """The chief's arrays on every worker (where the workers' copies of the
        run may differ: initial weights drawn without a seed)."""
        if not self._multi_worker or not arrays:
            return arrays
        import tensorflow as tf

        def keep_first(values):
            context = tf.distribute.get_replica_context()
            first = tf.cast(context.replica_id_in_sync_group == 0, tf.float32)
            return context.all_reduce("sum", [v * first for v in values])

        @tf.function
        def broadcast(values):
            return self.strategy.run(keep_first, (values,))

        reduced = broadcast(self._everywhere([a.astype("float32") for a in arrays]))
        return [
            np.asarray(self.strategy.experimental_local_results(v)[0]).astype(a.dtype)
            for v, a in zip(reduced, arrays, strict=True)
        ]

    def _load(self, model) -> None:
        """Takes the weights, optimizer variables, states and dropout seeds of the
        stateful `model`."""
        weights = model.get_weights()
        slots = _optimizer_variables(model, self.model)
        targets = _optimizer_variables(self.model, model)
        floats = [i for i, v in enumerate(slots) if "float" in str(v.dtype)]
        states = [keras.ops.convert_to_numpy(v) for v in state_variables(model)]
        values = self._broadcast(
            weights + [keras.ops.convert_to_numpy(slots[i]) for i in floats] + states
        )
        weights, values = values[: len(weights)], values[len(weights) :]
        slot_values, states = values[: len(floats)], values[len(floats) :]
        self.model.set_weights(weights)
        for i, value in zip(floats, slot_values, strict=True):
            targets[i].assign(value)
        for source, target in zip(slots, targets, strict=True):
            if "float" not in str(source.dtype):  # iterations: the same everywhere
                target.assign(source)
        self.states = [self._distribute(s) for s in states]
        self._seed(model)

    def _seed(self, model) -> None:
        """Replica r draws dropout masks from seed + r: the model's generators
        shifted per replica, so replicas draw different masks."""
        import tensorflow as tf

        sources = seed_variables(model)
        targets = seed_variables(self.model)
        if len(sources) != len(targets):  # another architecture: fresh seeds
            sources = targets

        def shift(values):
            r = tf.distribute.get_replica_context().replica_id_in_sync_group
            for target, value in zip(targets, values, strict=True):
                offset = tf.stack([tf.cast(r, value.dtype), tf.zeros((), value.dtype)])
                target.assign(value + offset)  # (2,): seed, counter

        values = [tf.constant(keras.ops.convert_to_numpy(v)) for v in sources]
        if values:
            tf.function(lambda v: self.strategy.run(shift, (v,)))(values)

    def snapshot(self) -> keras.Model:
        """The run's stateful model with the replicas' weights, optimizer state
        and states (all streams, in order) copied in. Every worker must call it
        at the same point (the states are gathered from all of them)."""
        states = [self._gather(s) for s in self.states]
        model = self.canonical
        model.set_weights(self.model.get_weights())
        sources = _optimizer_variables(self.model, model)
        for target, source in zip(
            _optimizer_variables(model, self.model), sources, strict=True
        ):
            target.assign(source.value)
        for variable, value in zip(state_variables(model), states, strict=True):
            variable.assign(value)
        seeds = seed_variables(model)
        replica_seeds = seed_variables(self.model)
        if len(seeds) == len(replica_seeds):  # replica 0's, unshifted
            for target, source in zip(seeds, replica_seeds, strict=True):
                target.assign(self.strategy.experimental_local_results(source.value)[0])
        return model

    # Steps.

    def _train_step(self, x, y, states):
        import tensorflow as tf

        model, replicas, chars = self.model, self.replicas, self.chars

        def replica(x, y, states):
            with tf.GradientTape() as tape:
                probabilities, *final = model([x, *states], training=True)
                # (batch / replicas, time, vocab)
                loss = _summed_cross_entropy(y, probabilities) / chars
                if model.losses:  # regularisation: once over the replicas
                    loss += tf.add_n(model.losses) / replicas
            grads = tape.gradient(loss, model.trainable_variables)
            grads = tf.distribute.get_replica_context().all_reduce("sum", grads)
            return loss, grads, final

        loss, grads, final = self.strategy.run(replica, (x, y, states))
        grads = [self.strategy.experimental_local_results(g)[0] for g in grads]
        model.optimizer.apply(grads, model.trainable_variables)
        return self.strategy.reduce("sum", loss, axis=None), final

    def _loss_step(self, x, y, states):
        import tensorflow as tf

        model, replicas = self.model, self.replicas

        def replica(x, y, states):
            probabilities, *final = model([x, *states], training=False)
            penalty = tf.zeros(())
            if model.losses:
                penalty = tf.add_n(model.losses) / replicas
            return _summed_cross_entropy(y, probabilities), penalty, final

        total, penalty, final = self.strategy.run(replica, (x, y, states))
        reduce = self.strategy.reduce
        return reduce("sum", total, axis=None), reduce("sum", penalty, None), final

    def train(self, x, y) -> float:
        """One update on a global batch `x`, `y` (batch, time); returns its loss."""
        loss, self.states = self._train_step(
            self._distribute(x), self._distribute(y), self.states
        )
        return float(loss)

    def validate(self, x, y) -> float:
        """The mean loss over the global batches of `x`, `y` (batches * batch,
        time), continuing every replica's states."""
        total, penalty = 0.0, 0.0
        count = len(x) // self.batch_size
        for k in range(count):
            rows = slice(k * self.batch_size, (k + 1) * self.batch_size)
            summed, penalty, self.states = self._loss_step(
                self._distribute(x[rows]), self._distribute(y[rows]), self.states
            )
            total += float(summed)
        return total / max(count * self.chars, 1) + float(penalty)

    def reset_states(self) -> None:
        self.states = [
            self._distribute(np.zeros(tuple(v.shape), "float32"))
            for v in state_variables(self.canonical)
        ]

    def agree(self, *flags: bool) -> tuple[bool, ...]:
        """Every worker's flags combined: True where any worker's is."""
        if not self._multi_worker:
            return tuple(bool(f) for f in flags)
        values = np.array([float(bool(f)) for f in flags], "float32")
        agreed = self._any_worker(self._everywhere(values))
        return tuple(bool(v > 0) for v in np.asarray(agreed))

    def _any_worker(self, values):
        import tensorflow as tf

        def replica(values):
            values = tf.identity(values)  # on the replica's device
            return tf.distribute.get_replica_context().all_reduce("sum", values)

        agreed = self.strategy.run(replica, (values,))
        return self.strategy.experimental_local_results(agreed)[0]


def _summed_cross_entropy(y, probabilities):
    import tensorflow as tf

    return tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, probabilities))


def _optimizer_variables(model, other) -> list:
    """The optimizer's variables, which must match `other`'s one for one."""
    variables = list(model.optimizer.variables)
    if len(variables) != len(other.optimizer.variables):
        raise InputError(
            "the optimizer state does not fit the model under the strategy "
            f"({len(variables)} variables against {len(other.optimizer.variables)})."
        )
    return variables
