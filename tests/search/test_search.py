"""Code search: pairs, tokens, CodeSearchNet's ranking metrics, and encoders that
learn a toy mapping."""

import dataclasses
import math
import os
import textwrap

import numpy as np
import pytest

from charlstm.search.encoders import DualEncoder, build_encoder
from charlstm.search.metrics import chunk_ranks, ranks, summarize
from charlstm.search.pairs import extract_pairs, split_by_file
from charlstm.search.tokens import SearchVocabulary, code_tokens, split_identifier

SOURCE = textwrap.dedent(
    '''
    import functools


    def plain(x):
        """Return x plus one."""
        return x + 1


    @functools.cache
    def decorated(path):
        """Read a CSV file.

        Lines after the first are cleaned too.
        """
        with open(path) as f:
            return f.read()


    def undocumented(y):
        return y


    class Reader:
        """A class docstring is not a function's."""

        def method(self):
            """Open the reader."""

            def nested():
                """Nested helper."""
                return 2

            return nested()

        async def fetch(self):
            """Fetch it."""
            return 3
    '''
)


def test_pairs_of_methods_nested_and_decorated_functions(tmp_path):
    (tmp_path / "a.py").write_text(SOURCE)
    (tmp_path / "copy.py").write_text(SOURCE)  # the same pairs: kept once
    (tmp_path / "broken.py").write_text("def f(:\n")
    pairs, skipped = extract_pairs(tmp_path)
    assert skipped == 1
    names = [p.qualified_name for p in pairs]
    assert names == [
        "plain",
        "decorated",
        "Reader.method",
        "Reader.method.nested",
        "Reader.fetch",
    ]
    decorated = pairs[1]
    assert (
        decorated.docstring
        == "Read a CSV file.\n\nLines after the first are cleaned too."
    )
    assert decorated.code.startswith("@functools.cache\ndef decorated(path):\n")
    assert '"""' not in decorated.code and "return f.read()" in decorated.code
    assert decorated.lineno == SOURCE.split("\n").index("@functools.cache") + 1
    assert all(p.path.endswith("a.py") for p in pairs)


def test_split_by_file_keeps_files_whole(tmp_path):
    for i in range(40):
        (tmp_path / f"m{i}.py").write_text(
            f'def f{i}():\n    """Doc {i}."""\n    return {i}\n'
            f'def g{i}():\n    """Other {i}."""\n    return -{i}\n'
        )
    pairs, _ = extract_pairs(tmp_path)
    # The side hangs on the path: paths relative to tmp_path make the split
    # the same in every run (absolute ones put 2 of 40 files in test once).
    pairs = [
        dataclasses.replace(p, path=os.path.relpath(p.path, tmp_path)) for p in pairs
    ]
    train, test = split_by_file(pairs, test_share=0.25, random_seed=1)
    assert {p.path for p in train}.isdisjoint({p.path for p in test})
    assert len(train) + len(test) == 80 and 5 <= len(test) <= 40
    assert split_by_file(pairs, 0.25, 1) == (train, test)  # reproducible
    with pytest.raises(ValueError, match="test_share"):
        split_by_file(pairs, 1.5)


def test_tokens_split_identifiers():
    assert split_identifier("readCsvFile") == ["read", "csv", "file"]
    assert split_identifier("HTTPServer2go") == ["http", "server", "2", "go"]
    assert code_tokens("def read_csv(path):\n    return self._x2") == [
        "def",
        "read",
        "csv",
        "path",
        "return",
        "self",
        "x",
        "2",
    ]
    vocabulary = SearchVocabulary.build([["a", "b", "a"], ["a", "c"]], size=10)
    assert vocabulary.tokens == ["a"]  # b and c are seen once (min_count 2)
    np.testing.assert_array_equal(
        vocabulary.encode([["a", "zzz"], []], length=3), [[2, 1, 0], [0, 0, 0]]
    )


def test_ranks_and_mrr_golden_values():
    scores = np.array(
        [
            [0.9, 0.1, 0.2],  # own first: rank 1
            [0.8, 0.5, 0.1],  # one above: rank 2
            [0.3, 0.3, 0.3],  # tied with all: rank 3 (ties count against)
        ]
    )
    np.testing.assert_array_equal(ranks(scores), [1, 2, 3])
    figures = summarize(ranks(scores))
    assert figures["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert figures["recall@1"] == pytest.approx(1 / 3)
    assert figures["recall@5"] == 1.0
    with pytest.raises(ValueError, match="square"):
        ranks(np.zeros((2, 3)))


def test_chunks_rank_each_query_against_its_own_chunk_only():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(5, 4))
    queries = codes.copy()
    queries[3] = -codes[3]  # query 3 now prefers any other code
    found = chunk_ranks(queries, codes, chunk=2)  # chunks {0,1}, {2,3}, {4}
    assert found[4] == 1  # alone in its chunk
    assert found[3] == 2  # last of its chunk of two
    assert math.isclose(summarize(found, 2)["mrr"], np.mean(1 / found))


def test_a_tiny_dual_encoder_learns_a_toy_mapping():
    """Query word i belongs to code word i: after training, every query ranks
    its own code first."""
    import keras

    keras.utils.set_random_seed(0)
    count = 24
    queries = np.array([[2 + i, 0] for i in range(count)], dtype="int32")
    codes = np.array([[2 + (i * 7) % count, 0] for i in range(count)], dtype="int32")
    model = DualEncoder(
        build_encoder("nbow", count + 2, dim=16),
        build_encoder("nbow", count + 2, dim=16),
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    model.fit(
        {"query": queries, "code": codes}, batch_size=count, epochs=150, verbose=0
    )
    q = np.asarray(model.query_encoder(queries))
    c = np.asarray(model.code_encoder(codes))
    assert summarize(chunk_ranks(q, c))["mrr"] == 1.0


@pytest.mark.parametrize(
    "kind, pooling", [("nbow", "mean"), ("nbow", "max"), ("bilstm", "mean")]
)
def test_encoders_ignore_padding(kind, pooling):
    encoder = build_encoder(kind, 10, dim=8, pooling=pooling)
    short = np.array([[3, 4, 0, 0]], dtype="int32")
    longer = np.array([[3, 4, 0, 0, 0, 0]], dtype="int32")
    np.testing.assert_allclose(
        np.asarray(encoder(short)), np.asarray(encoder(longer)), atol=1e-6
    )
    if kind == "nbow":  # the pooling of the two token vectors, by hand
        table = np.asarray(encoder.layers[1].embeddings)
        pooled = table[[3, 4]].mean(0) if pooling == "mean" else table[[3, 4]].max(0)
        np.testing.assert_allclose(np.asarray(encoder(short))[0], pooled, atol=1e-6)


def test_charlstm_features_are_each_codes_final_states(trained_run):
    """Codes read side by side (padded on the left) end in the states each code
    reaches alone."""
    from charlstm.search.model import CharFeatures

    features = CharFeatures(trained_run, length=40)
    codes = ["head bad", "fed\nbeef cafe gag", "a", "zzz"]  # "zzz": nothing known
    together = features(codes)
    engine, vocabulary = features.generator.engine, features.generator.vocabulary
    for row, code in enumerate(codes):
        ids = vocabulary.encode(code[:40], strict=False)
        engine.reset(1)
        engine.feed((ids if len(ids) else np.zeros(1, np.int64))[None, :])
        alone = np.concatenate(engine.get_state(), axis=1)[0]
        np.testing.assert_allclose(together[row], alone, atol=1e-5)
    assert together.shape == (4, features.width)
