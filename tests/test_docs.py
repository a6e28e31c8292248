"""The docs build without warnings, their Python examples run, and every docstring example passes."""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import genevec

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"

# `genevec.__main__` runs the command line when imported as a script; it holds no examples.
NOT_IMPORTED = {"genevec.__main__"}


def _public_modules() -> list[str]:
    """Every module of the installed package, found on disk (so new modules are picked up)."""
    names = ["genevec"]
    for info in pkgutil.walk_packages(genevec.__path__, prefix="genevec."):
        if info.name not in NOT_IMPORTED:
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("module_name", _public_modules())
def test_docstring_examples_pass(module_name, tmp_path, monkeypatch):
    # An import error is a failure, not a skip: a module that is on disk must import.
    module = importlib.import_module(module_name)
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, module_name) if t.examples]
    for test in tests:
        runner.run(test, out=sys.stdout.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {module_name} failed (output above)"


def test_doctest_runner_catches_a_wrong_example():
    # The harness above must be able to fail: a docstring whose printed value is wrong is reported.
    def bad():
        """
        >>> 1 + 1
        3
        """

    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(bad, "bad"):
        runner.run(test, out=lambda s: None)
    assert runner.summarize(verbose=False).failed == 1


def test_walk_finds_the_modules_on_disk():
    names = _public_modules()
    assert {"genevec", "genevec.cli", "genevec.estimator", "genevec._validation"} <= set(names)
    assert "genevec.__main__" not in names


@pytest.mark.docs
def test_sphinx_builds_without_warnings(tmp_path):
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out),
         "-d", str(tmp_path / "doctrees")],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert proc.returncode == 0, f"sphinx -W failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    for page in ("index", "quickstart", "tutorial", "algorithm", "determinism", "memory_speed",
                 "model_selection", "errors", "cli", "app", "api", "single_cell"):
        assert (out / f"{page}.html").exists(), f"{page}.html was not built"
    api = (out / "api.html").read_text(encoding="utf-8")
    for name in ("GeneGloVe", "GeneVectors", "load_vectors", "read_counts", "dtm_to_tcm", "gene_map"):
        assert f'id="genevec.{name}"' in api, f"genevec.{name} is not documented in api.html"
    cli = (out / "cli.html").read_text(encoding="utf-8")
    assert "--checkpoint-every" in cli and "usage: genevec demo" in cli  # generated from the real parser


def test_api_page_lists_every_public_name():
    text = (DOCS / "api.rst").read_text(encoding="utf-8")
    documented = set(re.findall(r"\.\. auto(?:class|function):: genevec\.(\w+)", text))
    missing = [n for n in genevec.__all__ if n not in documented and n not in ("__version__", "datasets", "exceptions")]
    assert not missing, f"public names missing from docs/api.rst: {missing}"
    assert "genevec.datasets.load_demo" in text


def test_errors_page_covers_every_exception_class():
    from genevec import exceptions

    text = (DOCS / "errors.rst").read_text(encoding="utf-8")
    missing = [n for n in exceptions.__all__ if f"``{n}``" not in text]
    assert not missing, f"exception classes not explained in docs/errors.rst: {missing}"


def _load_conf():
    """docs/conf.py as a module; the source tree it puts first on sys.path (for Sphinx) is taken off again,
    or every later subprocess that copies sys.path (Dask's workers) would import the uncompiled sources."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("genevec_docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    try:
        spec.loader.exec_module(conf)
    finally:
        sys.path[:] = saved
    return conf


def test_raise_sites_are_collected_from_the_source():
    conf = _load_conf()
    rows = list(conf.raise_sites(REPO / "genevec", {"CountsError", "ValueError"}))
    assert any(name == "CountsError" and module == "genevec._validation" for name, module, _, _ in rows)
    negative = [m for name, _, _, m in rows if name == "CountsError" and "negative value(s)" in m]
    assert negative and "{int(bad.sum())}" in negative[0], "f-string fields should be shown in braces"
    assert any("n_jobs=0 is not a number of threads" in m for _, _, _, m in rows)
    assert all(line > 0 for _, _, line, _ in rows)


_BLOCK = re.compile(r"^\.\. code-block:: python\n((?:[ \t]+:[\w-]+:.*\n)*)\n((?:(?:[ \t]+.*)?\n)+)", re.M)


def python_blocks(page: Path) -> list[str]:
    """The runnable ``.. code-block:: python`` blocks of an rst page (``:class: no-run`` ones skipped)."""
    blocks = []
    for options, body in _BLOCK.findall(page.read_text(encoding="utf-8")):
        if "no-run" in options:
            continue
        lines = body.rstrip("\n").split("\n")
        indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
        blocks.append("\n".join(line[indent:] for line in lines))
    return blocks


RUNNABLE_PAGES = ["quickstart.rst", "tutorial.rst", "determinism.rst", "model_selection.rst", "errors.rst",
                  "single_cell.rst", "tissues.rst"]


def test_python_blocks_are_extracted():
    blocks = python_blocks(DOCS / "tutorial.rst")
    assert len(blocks) >= 7 and blocks[0].startswith("import genevec")
    assert not any("run_app" in b for b in blocks), "the app block is marked no-run"


@pytest.mark.docs
@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_page_examples_run(page, tmp_path):
    """Each page's Python blocks run in order, in one fresh process, in an empty folder."""
    blocks = python_blocks(DOCS / page)
    assert blocks, f"{page} has no runnable Python block"
    script = tmp_path / "page.py"
    script.write_text("\n\n".join(f"# --- block {k + 1}\n{b}" for k, b in enumerate(blocks)) + "\n",
                      encoding="utf-8")
    # One thread each: the examples are tiny, and other tests may be running beside them.
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=600)
    assert proc.returncode == 0, f"{page}: an example failed\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert "False" not in proc.stdout.split(), f"{page}: an example printed False:\n{proc.stdout}"
    if page == "determinism.rst":
        assert proc.stdout.strip().endswith("True")
    if page == "tutorial.rst":
        assert (tmp_path / "skin_map.png").exists() and (tmp_path / "skin_vectors.txt").exists()
    if page == "tissues.rst":
        assert (tmp_path / "skin_vs_bladder.png").exists() and (tmp_path / "tissues" / "manifest.json").exists()


@pytest.mark.parametrize("name", ["tutorial_map.png", "tissues_shifts.png"])
def test_figures_are_small_and_present(name):
    png = DOCS / "_static" / name
    assert png.exists(), "run: python docs/make_figures.py"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size < 200 * 1024, f"{png} is {png.stat().st_size / 1024:.0f} KB; keep it < 200 KB"
