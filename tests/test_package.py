"""The package as a newcomer meets it: public names, the console script, the build flags, CI wiring."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import genevec

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", [n for n in genevec.__all__ if n != "__version__"])
def test_every_public_name_resolves(name):
    obj = getattr(genevec, name)
    assert obj is not None
    assert name in dir(genevec)


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        genevec.nope  # noqa: B018


def test_console_script_version_and_help():
    out = subprocess.run([sys.executable, "-m", "genevec", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"genevec {genevec.__version__}"
    helped = subprocess.run([sys.executable, "-m", "genevec", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "usage: genevec" in helped.stdout


def test_kernels_are_compiled_with_openmp():
    from genevec._openmp import openmp_enabled

    assert openmp_enabled(), "this build has no OpenMP: install gcc with libgomp and reinstall"


def test_default_build_has_no_native_or_fast_math_flags():
    setup = (REPO / "setup.py").read_text()
    flags = re.search(r"COMPILE_ARGS = \[(.*?)\]", setup).group(1)
    assert "march=native" not in flags and "fast-math" not in flags and "Ofast" not in flags


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    assert len(blocks) >= 2 and "genevec demo" in blocks[0] and "pytest" in blocks[1]
    ci = (REPO / ".ci" / "run").read_text()
    assert "README.md" in ci and "pytest" in ci  # it extracts the second block and runs it
    extracted = subprocess.run(
        ["awk", '/^```bash$/{n++; getline; if (n==2) {print; exit}}', str(REPO / "README.md")],
        capture_output=True, text=True).stdout.strip()
    assert extracted == blocks[1].strip()


def test_installed_package_size(tmp_path):
    """What a wheel installs (code, kernels, data, gene sets) stays under 5 MB, and with the bytecode
    pip compiles at install (measured: Python 3.11 writes about 1.6 bytes per byte of source) under
    6 MB. The kernels' sources (.pyx, src/) and Cython's generated C are not installed."""
    import py_compile

    import genevec

    root = Path(genevec.__file__).parent
    shipped = [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
               and p.suffix not in (".pyx", ".pxd", ".c", ".html", ".h") and "src" not in p.relative_to(root).parts]
    files = sum(p.stat().st_size for p in shipped)
    bytecode = 0
    for k, p in enumerate(p for p in shipped if p.suffix == ".py"):
        bytecode += Path(py_compile.compile(str(p), cfile=str(tmp_path / f"{k}.pyc"), doraise=True)).stat().st_size
    biggest = sorted(((p.stat().st_size, str(p.relative_to(root))) for p in shipped), reverse=True)[:8]
    assert files < 5_000_000, (files, biggest)
    assert files + bytecode < 6_000_000, (files, bytecode, biggest)


def _genevec_imports(path):
    """Every ``from genevec[.x] import a, b`` in a file (at any depth: benchmarks import inside functions)."""
    import ast

    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "genevec":
            yield node.lineno, node.module, [a.name for a in node.names]


@pytest.mark.parametrize("path", sorted(p.relative_to(REPO).as_posix() for folder in ("benchmarks", "tools")
                                        for p in (REPO / folder).glob("*.py")))
def test_benchmarks_and_tools_import_names_that_exist(path):
    """Benchmarks do not run in CI; a name they import from genevec must not vanish unnoticed."""
    import importlib.util

    found = list(_genevec_imports(REPO / path))
    for line, module, names in found:
        mod = importlib.import_module(module)
        for name in names:
            submodule = hasattr(mod, "__path__") and importlib.util.find_spec(f"{module}.{name}") is not None
            assert hasattr(mod, name) or submodule, \
                f"{path}:{line}: 'from {module} import {name}': no such name"
