"""Sphinx configuration for genevec's documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` (no network access needed).
Two small directives live here: ``genevec-help`` prints a subcommand's ``--help`` (so the CLI page
cannot drift from the parser) and ``genevec-raise-sites`` lists every ``raise`` of a genevec error
found in the source (so the errors page lists what the code really raises).
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import genevec  # noqa: E402

project = "genevec"
author = "genevec developers"
copyright = "2026, genevec developers"
version = release = genevec.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
]
intersphinx_mapping: dict = {}  # no network access at build time
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autodoc_typehints = "none"  # numpydoc's Parameters section already gives the types
autodoc_member_order = "bysource"
templates_path: list[str] = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = ["_static"]
html_theme_options = {"description": "Gene embeddings from expression data", "page_width": "1100px"}
html_title = f"genevec {release}"
pygments_style = "sphinx"


class HelpDirective(Directive):
    """``.. genevec-help:: [subcommand]``: the ``--help`` text of ``genevec [subcommand]``."""

    optional_arguments = 1

    def run(self):
        from genevec.cli import build_parser

        old = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "96"
        try:
            argv = ([self.arguments[0]] if self.arguments else []) + ["--help"]
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):
                build_parser().parse_args(argv)
        finally:
            if old is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = old
        text = buf.getvalue().rstrip()
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def _message_text(node: ast.AST) -> str:
    """The message of ``raise X(<node>)`` as source-like text (f-string fields shown as ``{...}``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            else:
                parts.append("{" + ast.unparse(value.value) + "}")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _message_text(node.left) + _message_text(node.right)
    return "<" + ast.unparse(node) + ">"


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _is_text(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return True
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and (_is_text(node.left) or _is_text(node.right))


def raise_sites(package: Path, names: set[str]):
    """Yield ``(class, module, line, message)`` for each ``raise Name(...)`` of a class in ``names``.

    ``raise helper(...)`` counts too when ``helper`` is a function of the same module that returns
    one of those classes (``return FileFormatError(...)``); its message is then the helper's first
    text argument at the raise site.
    """
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        helpers = {}
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
                        cls = _call_name(node.value)
                        if cls in names:
                            helpers[fn.name] = cls
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            name = _call_name(node.exc)
            if name in names:
                cls = name
            elif name in helpers:
                cls = helpers[name]
            else:
                continue
            texts = [a for a in node.exc.args if _is_text(a)]
            if texts:
                message = _message_text(texts[0])
            elif node.exc.args and cls == name:
                message = _message_text(node.exc.args[0])  # built elsewhere: shown as <expression>
            else:
                message = ""
            yield cls, module, node.lineno, " ".join(message.split())


class RaiseSitesDirective(Directive):
    """``.. genevec-raise-sites::``: a table of every genevec error raised in the package source."""

    def run(self):
        from genevec import exceptions

        names = {n for n in exceptions.__all__ if not n.endswith("Warning")} | {
            "ValueError", "TypeError", "KeyError", "FileNotFoundError", "MemoryError", "IsADirectoryError",
            "FileExistsError", "RuntimeError", "ImportError", "_CliError"}
        rows = sorted(raise_sites(ROOT / "genevec", names), key=lambda r: (r[0], r[1], r[2]))
        table = nodes.table(classes=["longtable"])
        group = nodes.tgroup(cols=3)
        table += group
        for width in (18, 22, 60):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        body = nodes.tbody()
        group += body

        def row(cells, literal=(False, False, False)):
            r = nodes.row()
            for text, lit in zip(cells, literal):
                entry = nodes.entry()
                entry += nodes.paragraph("", "", nodes.literal(text, text) if lit else nodes.Text(text))
                r += entry
            return r

        head += row(("Exception", "Where", "Message (fields in braces)"))
        for name, module, line, message in rows:
            body += row((name, f"{module}:{line}", message), literal=(True, True, False))
        return [table]


def setup(app):
    app.add_directive("genevec-help", HelpDirective)
    app.add_directive("genevec-raise-sites", RaiseSitesDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
