import textwrap

import pytest

from charlstm.eval.functions import extract_functions, select_examples
from charlstm.eval.metrics import syntax_valid

MODULE = textwrap.dedent(
    '''
    import functools


    def top(x):
        """Top-level function."""
        y = x + 1
        return y


    @functools.lru_cache(maxsize=None)
    # a comment between decorators
    @staticmethod
    def decorated(a, b):
        """Decorated,
        over two lines."""  # trailing comment

        return a + b


    def undocumented():
        return 1


    def only_doc():
        """Nothing else."""


    def same_line(): "Doc."; return 1


    def short():
        """One-line body."""
        return 0


    def outer():
        """Outer."""

        def inner():
            """Inner is part of outer's body."""
            return 2

        return inner()


    class A:
        """Class doc."""

        def method(self):
            """Method doc."""
            return self

        class B:
            def deep(self):
                \'\'\'Deep.\'\'\'
                return 3


    async def coro():
        """Async."""
        await thing()


    if True:
        def conditional():
            """Under if."""
            return 4
    '''
).lstrip()


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(MODULE)
    (tmp_path / "pkg" / "broken.py").write_text('def f(:\n    """Doc."""\n')
    (tmp_path / "pkg" / "latin.py").write_bytes(b'def f():\n    "\xff"\n    x\n')
    (tmp_path / "pkg" / "notes.txt").write_text('def g():\n    """D."""\n    x\n')
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "h.py").write_text('def h():\n    """D."""\n    x\n')
    return tmp_path


def test_extracts_top_level_functions_and_methods_in_order(tree):
    examples, skipped = extract_functions(tree)
    assert [e.qualified_name for e in examples] == [
        "top",
        "decorated",
        "short",
        "outer",
        "A.method",
        "A.B.deep",
        "coro",
        "conditional",
    ]
    assert skipped == 2  # broken.py (syntax error) and latin.py (not UTF-8)
    assert {e.path for e in examples} == {str(tree / "pkg" / "mod.py")}


def test_prompt_and_body_are_the_lines_of_the_file(tree):
    examples, _ = extract_functions(tree / "pkg" / "mod.py")
    by_name = {e.qualified_name: e for e in examples}
    for example in examples:
        assert example.source in MODULE
        assert example.source == example.prompt + example.body
        assert syntax_valid(textwrap.dedent(example.source))

    top = by_name["top"]
    assert top.prompt == 'def top(x):\n    """Top-level function."""\n'
    assert top.body == "    y = x + 1\n    return y\n"
    assert (top.lineno, top.indent, top.body_indent) == (4, "", "    ")

    decorated = by_name["decorated"]  # decorators and comments in the prompt
    assert decorated.prompt.startswith("@functools.lru_cache(maxsize=None)\n# a ")
    assert decorated.prompt.endswith('over two lines."""  # trailing comment\n')
    assert decorated.body == "\n    return a + b\n"
    assert decorated.lineno == 10  # the first decorator's line

    assert by_name["short"].body == "    return 0\n"  # a one-line body
    # A nested function is part of its enclosing function's body.
    assert "def inner():" in by_name["outer"].body
    method = by_name["A.method"]
    assert (method.name, method.indent, method.body_indent) == (
        "method",
        "    ",
        " " * 8,
    )
    assert method.prompt == '    def method(self):\n        """Method doc."""\n'
    assert by_name["A.B.deep"].indent == " " * 8


def test_crlf_files_and_a_missing_final_newline(tmp_path):
    path = tmp_path / "crlf.py"
    path.write_bytes(b'def f():\r\n    """Doc."""\r\n    return 1')
    (example,), skipped = extract_functions(path)
    assert skipped == 0
    assert example.prompt == 'def f():\n    """Doc."""\n'
    assert example.body == "    return 1\n"


def test_a_tree_without_documented_functions_gives_nothing(tmp_path):
    (tmp_path / "a.py").write_text("def f():\n    return 1\n\nx = 2\n")
    assert extract_functions(tmp_path) == ([], 0)


def test_a_missing_source_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        extract_functions(tmp_path / "nope")


def test_select_examples_draws_a_reproducible_subset_in_order(tree):
    examples, _ = extract_functions(tree)
    chosen = select_examples(examples, 3, random_seed=5)
    assert len(chosen) == 3
    assert chosen == select_examples(examples, 3, random_seed=5)
    assert chosen == sorted(chosen, key=examples.index)
    assert select_examples(examples, None) == examples
    assert select_examples(examples, 100) == examples
    with pytest.raises(ValueError, match="limit"):
        select_examples(examples, 0)
