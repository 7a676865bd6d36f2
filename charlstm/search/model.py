"""A trained code search: its config, its encoders and vocabularies, the index of
code vectors, and the directory they are saved in.

A search directory holds `config.json` (`SearchConfig`), `query_vocab.json` and
`code_vocab.json` (`SearchVocabulary`, absent for a charlstm code encoder's
side), `encoder.keras` (the `DualEncoder`) and `index.npz` + `index.json` (the
code vectors of every function it was given, and where each function is).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charlstm.config import STATE_NAMES, check, is_int, option
from charlstm.search.pairs import CodePair
from charlstm.search.tokens import SearchVocabulary, code_tokens, query_tokens
from charlstm.utils.checks import InputError
from charlstm.utils.storage import atomic_path, atomic_write_text

CODE_ENCODERS = ("nbow", "bilstm", "charlstm")


@dataclass
class SearchConfig:
    """How a code search is built and trained."""

    encoder: str = option(
        "nbow",
        help="nbow (bag of words), bilstm, or charlstm: a trained charlstm run's "
        "states as the code side (--char-run)",
        choices=CODE_ENCODERS,
    )
    query_encoder: str = option(
        "nbow", help="the query side's encoder", choices=("nbow", "bilstm")
    )
    pooling: str = option("mean", help="nbow pooling", choices=("mean", "max"))
    dim: int = option(128, help="width of the shared vector space")
    vocabulary_size: int = option(10000, help="tokens kept per side")
    max_query_tokens: int = option(30, help="docstring tokens read")
    max_code_tokens: int = option(200, help="code tokens read")
    char_run: str = option("", help="charlstm run directory (--encoder charlstm)")
    char_length: int = option(1000, help="code characters a charlstm encoder reads")
    epochs: int = option(10, help="training epochs")
    batch_size: int = option(256, help="pairs per batch: each query's distractors")
    learning_rate: float = option(0.002, help="Adam learning rate")
    test_share: float = option(0.2, help="share of the pairs (whole files) in test")
    random_seed: int = option(0, help="seeds the split, initialisation and batches")

    def __post_init__(self):
        check(
            self.encoder in CODE_ENCODERS,
            f"`encoder` must be one of {CODE_ENCODERS}.",
            encoder=self.encoder,
        )
        check(
            (self.encoder == "charlstm") == bool(self.char_run),
            "`char_run` goes with encoder='charlstm', and only with it.",
            encoder=self.encoder,
            char_run=self.char_run,
        )
        for name in ("dim", "vocabulary_size", "max_query_tokens", "max_code_tokens"):
            value = getattr(self, name)
            check(
                is_int(value) and value >= 1, f"`{name}` must be >= 1.", **{name: value}
            )
        for name in ("epochs", "batch_size", "char_length"):
            value = getattr(self, name)
            check(
                is_int(value) and value >= 1, f"`{name}` must be >= 1.", **{name: value}
            )
        check(
            self.learning_rate > 0,
            "`learning_rate` must be positive.",
            learning_rate=self.learning_rate,
        )
        check(
            0 < self.test_share < 1,
            "`test_share` must be in (0, 1).",
            test_share=self.test_share,
        )


class CharFeatures:
    """A trained charlstm run's view of code: the final states of every layer
    after reading the code (its first `length` characters), on the numpy engine.
    """

    def __init__(self, run_dir: str | os.PathLike, length: int):
        from charlstm.infer.load import load

        self.generator = load(run_dir, engine="numpy")
        self.length = length

    @property
    def width(self) -> int:
        config = self.generator.config
        states = len(STATE_NAMES[config.cell])
        return config.num_layers * states * config.units

    def __call__(self, codes) -> np.ndarray:
        """Features (codes, width), the codes read 64 at a time."""
        generator = self.generator
        vocabulary = generator.vocabulary
        out = np.zeros((len(codes), self.width), np.float32)
        for start in range(0, len(codes), 64):
            chunk = codes[start : start + 64]
            ids = [vocabulary.encode(c[: self.length], strict=False) for c in chunk]
            ids = [i if len(i) else np.zeros(1, np.int64) for i in ids]  # id 0
            generator.warm_up(ids)  # every code read to its end, side by side
            states = generator.engine.get_state()  # per layer: (codes, units)
            out[start : start + len(chunk)] = np.concatenate(states, axis=1)
        return out


class CodeSearch:
    """Encoders of queries and code in one space, with their tokenizers.

    Args:
        config: SearchConfig.
        query_vocabulary: SearchVocabulary of docstrings.
        code_vocabulary: SearchVocabulary of code, or None for a charlstm encoder.
        model: DualEncoder or None (built from the config if None).
    """

    def __init__(self, config, query_vocabulary, code_vocabulary, model=None):
        self.config = config
        self.query_vocabulary = query_vocabulary
        self.code_vocabulary = code_vocabulary
        self.features = (
            CharFeatures(config.char_run, config.char_length)
            if config.encoder == "charlstm"
            else None
        )
        self.model = model or self._build()

    @classmethod
    def for_pairs(cls, config: SearchConfig, pairs) -> CodeSearch:
        """A new, untrained search with vocabularies built from `pairs`."""
        queries = SearchVocabulary.build(
            [query_tokens(p.docstring) for p in pairs], config.vocabulary_size
        )
        codes = None
        if config.encoder != "charlstm":
            codes = SearchVocabulary.build(
                [code_tokens(p.code) for p in pairs], config.vocabulary_size
            )
        return cls(config, queries, codes)

    def _build(self):
        import keras

        from charlstm.search.encoders import DualEncoder, build_encoder

        keras.utils.set_random_seed(self.config.random_seed)
        c = self.config
        query = build_encoder(
            c.query_encoder, self.query_vocabulary.size, c.dim, c.pooling
        )
        if self.features is None:
            code = build_encoder(c.encoder, self.code_vocabulary.size, c.dim, c.pooling)
        else:
            inputs = keras.Input((self.features.width,))
            code = keras.Model(inputs, keras.layers.Dense(c.dim)(inputs))
        model = DualEncoder(query, code)
        model.compile(optimizer=keras.optimizers.Adam(c.learning_rate))
        return model

    def query_inputs(self, texts) -> np.ndarray:
        tokens = [query_tokens(t) for t in texts]
        return self.query_vocabulary.encode(tokens, self.config.max_query_tokens)

    def code_inputs(self, codes) -> np.ndarray:
        if self.features is not None:
            return self.features(codes)  # (codes, width)
        tokens = [code_tokens(c) for c in codes]
        return self.code_vocabulary.encode(tokens, self.config.max_code_tokens)

    def fit(self, pairs, verbose: int = 0) -> list[float]:
        """Trains on `pairs`; returns the loss of every epoch."""
        if len(pairs) < 2:
            raise InputError(
                "training needs at least 2 documented functions. "
                f"Received: {len(pairs)}"
            )
        inputs = {
            "query": self.query_inputs([p.docstring for p in pairs]),
            "code": self.code_inputs([p.code for p in pairs]),
        }
        history = self.model.fit(
            inputs,
            batch_size=self.config.batch_size,
            epochs=self.config.epochs,
            shuffle=True,
            verbose=verbose,
        )
        return [float(v) for v in history.history["loss"]]

    def encode_queries(self, texts) -> np.ndarray:
        """Query vectors (texts, dim)."""
        ids = self.query_inputs(texts)
        return np.asarray(
            self.model.query_encoder.predict(ids, verbose=0, batch_size=512)
        )

    def encode_code(self, codes) -> np.ndarray:
        """Code vectors (codes, dim)."""
        x = self.code_inputs(codes)
        return np.asarray(self.model.code_encoder.predict(x, verbose=0, batch_size=512))

    def evaluate(self, pairs) -> dict:
        """MRR and recall@1/5/10 as CodeSearchNet ranks (`charlstm.search.metrics`)."""
        from charlstm.search.metrics import chunk_ranks, summarize

        if not pairs:
            raise InputError("no documented functions to evaluate on.")
        q = self.encode_queries([p.docstring for p in pairs])
        c = self.encode_code([p.code for p in pairs])
        return summarize(chunk_ranks(q, c))

    # The search directory ------------------------------------------------------

    def save(self, out: str | os.PathLike, pairs) -> None:
        """Writes the search and the index of `pairs`' code vectors to `out`."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            out / "config.json", json.dumps(dataclasses.asdict(self.config), indent=1)
        )
        self.query_vocabulary.save(out / "query_vocab.json")
        if self.code_vocabulary is not None:
            self.code_vocabulary.save(out / "code_vocab.json")
        with atomic_path(out / "encoder.keras") as tmp:
            self.model.save(tmp)
        vectors = self.encode_code([p.code for p in pairs])  # (pairs, dim)
        with atomic_path(out / "index.npz") as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, vectors=vectors)
        records = [
            {
                "path": p.path,
                "name": p.qualified_name,
                "line": p.lineno,
                "docstring": p.docstring.split("\n")[0],
            }
            for p in pairs
        ]
        atomic_write_text(out / "index.json", json.dumps(records) + "\n")

    @classmethod
    def load(cls, directory: str | os.PathLike) -> CodeSearch:
        """Reads a search directory written by `save`."""
        import keras

        import charlstm.search.encoders  # noqa: F401  registers the layers

        directory = Path(directory)
        needed = ["config.json", "query_vocab.json", "encoder.keras"]
        missing = [n for n in needed if not (directory / n).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{str(directory)!r} holds no code search (missing "
                f"{', '.join(missing)}); build one with charlstm search train."
            )
        try:
            config = SearchConfig(**json.loads((directory / "config.json").read_text()))
        except (ValueError, TypeError) as error:
            raise InputError(
                f"{str(directory)!r}: a damaged config.json ({error})"
            ) from None
        codes = None
        if config.encoder != "charlstm":
            codes = SearchVocabulary.load(directory / "code_vocab.json")
        model = keras.saving.load_model(directory / "encoder.keras", compile=False)
        return cls(
            config, SearchVocabulary.load(directory / "query_vocab.json"), codes, model
        )


@dataclass
class Hit:
    """One function found by a query."""

    score: float
    path: str
    name: str
    line: int
    docstring: str  # its first line


def search_index(search: CodeSearch, directory, query: str, top: int = 5) -> list[Hit]:
    """The `top` functions of a search directory's index for `query`."""
    directory = Path(directory)
    if not (directory / "index.npz").is_file():
        raise FileNotFoundError(
            f"{str(directory)!r} has no index.npz; build it with charlstm search train."
        )
    with np.load(directory / "index.npz") as data:
        vectors = data["vectors"]  # (functions, dim)
    records = json.loads((directory / "index.json").read_text())
    if not query.strip():
        raise InputError("the query is empty.")
    scores = vectors @ search.encode_queries([query])[0]  # (functions,)
    best = np.argsort(-scores, kind="stable")[:top]
    return [
        Hit(
            float(scores[i]),
            records[i]["path"],
            records[i]["name"],
            records[i]["line"],
            records[i]["docstring"],
        )
        for i in best
    ]


def pair_count_check(pairs: list[CodePair], sources) -> None:
    if not pairs:
        raise InputError(
            f"no documented function found in {' '.join(map(str, sources))}: code "
            "search needs functions with docstrings."
        )
