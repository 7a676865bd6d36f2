"""Griffe extension: charlstm's docstring conventions, read as griffe reads its own.

- A config field declared with `option(default, help=...)` (`charlstm/config.py`)
  is shown as `name: type = default`, with the help text (what the command
  line's `--help` shows) as its docstring.
- charlstm's docstrings end with `Example:` and `>>>` lines at the heading's
  indentation, as keras-hub's do; griffe's Google style reads an indented
  `Examples:` section as code, and any other heading as an admonition of
  Markdown (where `x[:3]` is a broken link). So `Example:` is read as
  `Examples:`, its lines indented.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re

import griffe

EXAMPLE = re.compile(r"Examples?:\s*")
SECTION = re.compile(r"[A-Z][\w ]*:\s*")  # "Args:", "Returns:", ...


def examples_section(text: str) -> str:
    """`text` (a cleaned docstring) with its `Example:` section as griffe's
    `Examples:`."""
    lines = text.split("\n")
    out, inside = [], False
    for i, line in enumerate(lines):
        if EXAMPLE.fullmatch(line):
            following = next((n for n in lines[i + 1 :] if n.strip()), "")
            inside = not following.startswith((" ", "\t"))
            out.append("Examples:")
        elif inside and SECTION.fullmatch(line):
            inside = False
            out.append(line)
        else:
            out.append("    " + line if inside and line else line)
    return "\n".join(out)


def _runtime_help(attr) -> str:
    """The help text of a field, read from the dataclass (config modules import
    no TensorFlow)."""
    cls = getattr(importlib.import_module(attr.module.path), attr.parent.name)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    return fields[attr.name].metadata["help"]


class CharlstmDocstrings(griffe.Extension):
    def on_instance(self, *, node, obj, agent, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = examples_section(obj.docstring.value)

    def on_attribute_instance(self, *, node, attr, agent, **kwargs):
        call = getattr(node, "value", None)
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
            return
        if call.func.id != "option":
            return
        keywords = {k.arg: k.value for k in call.keywords}
        if call.args:  # shown as `units: int = 224`, not the call
            attr.value = ast.unparse(call.args[0])
        elif "default" in keywords:
            attr.value = ast.unparse(keywords["default"])
        elif "default_factory" in keywords:
            attr.value = ast.unparse(keywords["default_factory"]) + "()"
        if attr.docstring is None and "help" in keywords:
            try:
                text = ast.literal_eval(keywords["help"])
            except ValueError:  # an f-string: the text it makes
                text = _runtime_help(attr)
            attr.docstring = griffe.Docstring(
                text, lineno=keywords["help"].lineno, parent=attr
            )
