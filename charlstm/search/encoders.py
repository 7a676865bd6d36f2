"""Query and code encoders in one vector space, trained as CodeSearchNet trains
its baselines.

Each side maps padded token ids (batch, length) to a vector (batch, dim):

- "nbow": neural bag of words, token embeddings mean- or max-pooled over the
  tokens (padding masked);
- "bilstm": a bidirectional LSTM over the token embeddings, its two final
  states joined and projected to `dim`.

`DualEncoder` scores a batch of queries against the batch's codes by dot product
and minimises the softmax loss over those in-batch similarities (equation 1 of
Perez, Ottens and Viswanathan): each docstring must score its own code above
the other codes of the batch.
"""

from __future__ import annotations

import keras
from keras import ops

from charlstm.utils.checks import InputError

ENCODERS = ("nbow", "bilstm")
POOLINGS = ("mean", "max")


@keras.saving.register_keras_serializable(package="charlstm")
class MaskedPooling(keras.layers.Layer):
    """Mean or max of token vectors over the tokens that are not padding.

    Args:
        mode: "mean" or "max".
    """

    def __init__(self, mode: str = "mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in POOLINGS:
            raise InputError(f"`mode` must be one of {POOLINGS}. Received: {mode!r}")
        self.mode = mode

    def call(self, vectors, ids):
        mask = ops.cast(ops.not_equal(ids, 0), vectors.dtype)[..., None]  # (b, t, 1)
        if self.mode == "mean":
            total = ops.sum(vectors * mask, axis=1)  # (batch, dim)
            return total / ops.maximum(ops.sum(mask, axis=1), 1.0)
        return ops.max(vectors + (mask - 1.0) * 1e9, axis=1)  # (batch, dim)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def build_encoder(
    kind: str, vocabulary_size: int, dim: int = 128, pooling: str = "mean", name=None
) -> keras.Model:
    """One side's encoder: ids (batch, length) -> vectors (batch, dim)."""
    if kind not in ENCODERS:
        raise InputError(f"`encoder` must be one of {ENCODERS}. Received: {kind!r}")
    ids = keras.Input((None,), dtype="int32")
    if kind == "nbow":
        vectors = keras.layers.Embedding(vocabulary_size, dim)(ids)  # (b, t, dim)
        out = MaskedPooling(pooling)(vectors, ids)  # (batch, dim)
    else:
        embedding = keras.layers.Embedding(vocabulary_size, dim, mask_zero=True)
        states = keras.layers.Bidirectional(keras.layers.LSTM(dim // 2))(
            embedding(ids)
        )  # (batch, dim): both directions' final states
        out = keras.layers.Dense(dim)(states)  # (batch, dim)
    return keras.Model(ids, out, name=name)


@keras.saving.register_keras_serializable(package="charlstm")
class DualEncoder(keras.Model):
    """Queries and codes into one space; scores are dot products.

    Args:
        query_encoder: keras.Model. Query ids (batch, length) -> (batch, dim).
        code_encoder: keras.Model. Code ids (batch, length) -> (batch, dim).

    Example:
    >>> model = DualEncoder(build_encoder("nbow", 5000), build_encoder("nbow", 9000))
    >>> model.compile(optimizer="adam")
    >>> model.fit({"query": q_ids, "code": c_ids}, batch_size=256, epochs=10)
    """

    def __init__(self, query_encoder, code_encoder, **kwargs):
        super().__init__(**kwargs)
        self.query_encoder = query_encoder
        self.code_encoder = code_encoder

    def call(self, inputs, training=False):
        queries = self.query_encoder(inputs["query"], training=training)  # (b, dim)
        codes = self.code_encoder(inputs["code"], training=training)  # (b, dim)
        return ops.matmul(queries, ops.transpose(codes))  # (b, b) similarities

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, **kwargs):
        """Softmax over each query's row of in-batch similarities; its own code
        (the diagonal) is the right class."""
        labels = ops.arange(ops.shape(y_pred)[0])
        losses = keras.losses.sparse_categorical_crossentropy(
            labels, y_pred, from_logits=True
        )
        return ops.mean(losses)

    def get_config(self):
        return {
            **super().get_config(),
            "query_encoder": keras.saving.serialize_keras_object(self.query_encoder),
            "code_encoder": keras.saving.serialize_keras_object(self.code_encoder),
        }

    @classmethod
    def from_config(cls, config):
        query = keras.saving.deserialize_keras_object(config.pop("query_encoder"))
        code = keras.saving.deserialize_keras_object(config.pop("code_encoder"))
        return cls(query, code, **config)
