"""What a user or an editor sends, fuzzed: any corpus bytes, any vocabulary file,
any `complete --serve` line gets a one-line answer, never a traceback."""

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import charlstm
from charlstm.cli import main
from charlstm.cli.complete import serve
from charlstm.data.vocabulary import Vocabulary
from charlstm.utils.checks import InputError

TINY = ["--units", "4", "--num-layers", "1", "--embedding-dim", "2", "--quiet"]
TINY += ["--batch-size", "2", "--sequence-length", "3", "--epochs", "1"]
FUZZ = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(st.binary(max_size=400))
def test_any_corpus_bytes_train_or_fail_in_one_line(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("fuzz")
    corpus = root / "corpus.txt"
    corpus.write_bytes(data)
    code = main(["train", str(corpus), "--out", str(root / "run"), *TINY])
    assert code in (0, 2)  # anything else raised: a traceback


@FUZZ
@given(st.binary(max_size=200))
def test_any_vocabulary_file_loads_or_is_an_input_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("vocab") / "vocab.json"
    path.write_bytes(data)
    try:
        vocabulary = Vocabulary.load(path)
    except InputError as error:
        assert "vocab.json" in str(error)
    else:
        assert vocabulary.size >= 1


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["characters", "kind", "tokens", "x"]),
        st.one_of(st.text(max_size=8), st.integers(), st.lists(st.text(max_size=3))),
    )
)
def test_any_vocabulary_json_object_loads_or_is_an_input_error(tmp_path_factory, obj):
    path = tmp_path_factory.mktemp("vocab") / "vocab.json"
    path.write_text(json.dumps(obj))
    try:
        Vocabulary.load(path)
    except InputError as error:
        assert "vocab.json" in str(error)


@pytest.fixture(scope="module")
def generator(trained_run):
    return charlstm.load(trained_run, engine="numpy")


REQUEST = st.one_of(
    st.text(max_size=60),
    st.builds(
        json.dumps,
        st.dictionaries(
            st.sampled_from(
                ["prefix", "context", "candidates", "max_length", "temperature"]
                + ["top_k", "top_p", "random_seed", "strict", "id", "beam_width"]
            ),
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(-3, 5),
                st.floats(allow_nan=True),
                st.text(max_size=12),
            ),
        ),
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(REQUEST, min_size=1, max_size=4))
def test_any_serve_line_gets_one_json_answer_and_serving_goes_on(generator, lines):
    lines = [line.replace("\n", " ") for line in lines]
    stdin = io.StringIO("\n".join(lines) + '\n{"prefix": "head b"}\n')
    stdout = io.StringIO()
    serve(generator, DEFAULTS, stdin, stdout)
    answers = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert len(answers) == len([line for line in lines if line.strip()]) + 1
    for answer in answers:
        assert ("error" in answer) != ("completions" in answer)
        if "error" in answer:
            assert answer["error"] and "\n" not in answer["error"]
    assert "completions" in answers[-1]  # still serving after the fuzz


DEFAULTS = {
    "prefix": None,
    "context": "",
    "candidates": 1,
    "max_length": 10,
    "temperature": 0.0,
    "beam_width": None,
    "top_k": None,
    "top_p": None,
    "random_seed": None,
    "strict": False,
    "confidence": False,
}
