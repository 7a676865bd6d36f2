"""MkDocs hook: the Python API reference, generated from `charlstm._EXPORTS`.

At every build, one page per part of the library (`reference/api/<part>.md`)
lists the public names of `charlstm/__init__.py` that part defines, in the
order they are exported, each as a mkdocstrings `:::` block, and after them the
types those names return or take (`EXTRAS`). A public name whose module belongs
to no part, or without a docstring, is a warning, which `mkdocs build --strict`
makes an error; so are griffe's warnings while it parses the docstrings (an
`Args:` entry naming no parameter, a malformed section).
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.api_reference")

# (page, title, module prefixes, introduction), in the order of the site's nav.
PARTS = (
    (
        "configuration",
        "Configuration",
        ("charlstm.config", "charlstm.presets", "charlstm.backends"),
        "A run's settings: one dataclass per component, saved as `config.json` "
        "next to the weights. Every field is also a `charlstm train` flag "
        "([command line](../cli.md)).",
    ),
    (
        "data",
        "Data",
        ("charlstm.data",),
        "Reading and cleaning text, vocabularies, and the interleaved stateful "
        "batch layout ([data layout](../../data_layout.md)).",
    ),
    ("model", "Model", ("charlstm.model",), "Building and exporting Keras models."),
    (
        "training",
        "Training",
        ("charlstm.training",),
        "Training a run, and the Keras callbacks that report on it.",
    ),
    (
        "inference",
        "Generation and completion",
        ("charlstm.infer",),
        "Loading a run and sampling from it: `load` returns a `TextGenerator`, "
        "whose settings are a `Sampling`.",
    ),
    (
        "evaluation",
        "Evaluation",
        ("charlstm.eval",),
        "Held-out bits per character, the code-generation task of Perez et al. "
        "([evaluation](../../evaluation.md)) and sweeps.",
    ),
    (
        "interpretation",
        "Neurons and plots",
        ("charlstm.interpret",),
        "What a model's units follow ([visualization](../../visualization.md)), "
        "and training curves.",
    ),
)

# Not exported, but what exported names return or take.
EXTRAS = (
    "charlstm.backends.gpt2.config.GPT2Config",
    "charlstm.data.corpus.Corpus",
    "charlstm.data.corpus.TextStats",
    "charlstm.infer.completion.Completer",
    "charlstm.infer.completion.Completion",
    "charlstm.interpret.activations.Activations",
    "charlstm.interpret.features.TextFeatures",
    "charlstm.interpret.neurons.Neuron",
    "charlstm.interpret.neurons.NeuronScore",
)


def exports(root: Path) -> dict[str, str]:
    """`_EXPORTS` of `charlstm/__init__.py` under `root`, read without importing."""
    tree = ast.parse((root / "charlstm" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "_EXPORTS":
            return ast.literal_eval(node.value)
    raise LookupError("charlstm/__init__.py has no _EXPORTS")


def documented(root: Path) -> dict[str, list[tuple[str, str]]]:
    """Page -> [(heading, object path)]: every export, then the extras."""
    pages = {page: [] for page, *_ in PARTS}
    public = [
        (f"charlstm.{name}", f"{module}.{name}")
        for name, module in exports(root).items()
    ]
    extras = [(path, path) for path in EXTRAS]
    for heading, path in public + extras:
        page = _page_of(path)
        if page is None:
            log.warning(
                f"{heading} ({path}) belongs to no part of the API reference: "
                "add its module to PARTS in docs/hooks/api_reference.py"
            )
        else:
            pages[page].append((heading, path))
    return pages


def _page_of(path: str) -> str | None:
    for page, _, prefixes, _ in PARTS:
        if any(path == p or path.startswith(p + ".") for p in prefixes):
            return page
    return None


def check_docstrings(paths, root: Path) -> None:
    """Warns about each documented object without a docstring (mkdocstrings
    would show it with nothing but its signature)."""
    import griffe

    package = griffe.load("charlstm", search_paths=[str(root)])
    for path in paths:
        try:
            obj = package[path.removeprefix("charlstm.")]
        except KeyError:
            continue  # mkdocstrings reports what it cannot find
        if not (obj.docstring and obj.docstring.value.strip()):
            log.warning(f"{path} is in the API reference but has no docstring")


def page_markdown(page: str, title: str, introduction: str, entries) -> str:
    lines = [f"# {title}", "", introduction, ""]
    for heading, path in entries:
        lines += [
            f"::: {path}",
            "    options:",
            f'      heading: "{heading}"',
            f'      toc_label: "{heading}"',
            "",
        ]
    return "\n".join(lines)


def on_files(files, config):
    root = Path(config.config_file_path).parent
    pages = documented(root)
    check_docstrings([path for entries in pages.values() for _, path in entries], root)
    for page, title, _, introduction in PARTS:
        content = page_markdown(page, title, introduction, pages[page])
        files.append(
            File.generated(config, f"reference/api/{page}.md", content=content)
        )
    return files
