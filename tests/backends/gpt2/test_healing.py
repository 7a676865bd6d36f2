"""Token healing's masks and seed splitting on a tiny byte-level BPE."""

import numpy as np
import pytest

from charlstm.backends.gpt2.healing import TokenHealer
from charlstm.backends.gpt2.tokenizer import END_OF_TEXT, train_tokenizer
from tests.gpt2_helpers import make_code


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer([make_code(12000)], 300)


def test_allowed_tokens_start_with_the_healed_text(tokenizer):
    healer = TokenHealer(tokenizer, width=310)
    newline = tokenizer.token_to_id("Ċ")  # "\n"
    mask = healer.allowed(newline)
    assert mask.shape == (310,) and not mask[300:].any()
    allowed = {tokenizer.id_to_token(i) for i in np.flatnonzero(mask)}
    # The merged newline-and-indentation tokens of the code are allowed.
    assert {"Ċ", "ĊĠĠ", "ĊĠĠĠ"} <= allowed
    assert all(token.startswith("Ċ") for token in allowed)
    starting = [t for t in tokenizer.get_vocab() if t.startswith("Ċ")]
    assert len(allowed) == len(starting)
    assert not mask[tokenizer.token_to_id("Ġ")]
    assert not mask[tokenizer.token_to_id(END_OF_TEXT)]
    space = healer.allowed(tokenizer.token_to_id("Ġ"))
    assert space[tokenizer.token_to_id("Ġ=")] and not space[newline]
    assert healer.allowed(newline) is mask  # cached
    assert healer.allowed(None).all()


def test_split_backs_up_one_whole_token(tokenizer):
    healer = TokenHealer(tokenizer)
    ids = tokenizer.encode("x = 1\n").ids
    context, token = healer.split(ids, "x = 1\n")
    assert list(context) == ids[:-1] and token == tokenizer.token_to_id("Ċ")
    assert healer.text(token) == "\n" and healer.text(None) == ""
    # One token: nothing left to condition on, so it is kept.
    assert healer.split(tokenizer.encode("x").ids, "x")[1] is None
    # A special token is never healed.
    ids = tokenizer.encode("x" + END_OF_TEXT).ids
    assert healer.split(ids, "x" + END_OF_TEXT)[1] is None
    # The last byte of a two-byte character is not a whole character: kept.
    ids = tokenizer.encode("xé").ids
    assert len(ids) == 3 and healer.split(ids, "xé")[1] is None
