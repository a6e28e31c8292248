"""Build genevec's compiled kernels; all metadata lives in pyproject.toml.

OpenMP is probed by compiling *and running* a tiny program. Without it the
kernels still build, single-threaded, and a warning says so. Set
``GENEVEC_NO_OPENMP=1`` to skip the probe and build sequentially.

No ``-march=native`` and no ``-ffast-math``: the SIMD speed of the GloVe
kernel comes from an AVX2+FMA path chosen at run time when the CPU has it
(``glove_isa`` in ``genevec/src/glove_block.c``), so a wheel built here runs
everywhere.

Developers can rebuild a single kernel in place with
``GENEVEC_BUILD_ONLY=_tcm python setup.py build_ext --inplace``.
"""

import glob
import os
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import warnings

import numpy as np
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OPENMP_TEST = textwrap.dedent(
    """
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d\\n", n > 0);
        return 0;
    }
    """
)


def _compiler_command():
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return cc.split()


def check_openmp_support():
    """Compile and run a tiny OpenMP program; return (supported, compile_flags, link_flags)."""
    if os.environ.get("GENEVEC_NO_OPENMP", "").lower() in {"1", "true", "yes"}:
        return False, [], []
    if os.environ.get("PYTHON_CROSSENV"):
        # Cross-compiling: we cannot run the probe, trust the toolchain.
        return True, ["-fopenmp"], ["-fopenmp"]
    flags = ["-fopenmp"]
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        exe = os.path.join(tmp, "probe")
        with open(src, "w") as fh:
            fh.write(OPENMP_TEST)
        try:
            subprocess.run(
                [*_compiler_command(), *flags, src, "-o", exe],
                check=True, capture_output=True, timeout=120,
            )
            out = subprocess.run([exe], check=True, capture_output=True, timeout=60).stdout
        except (OSError, subprocess.SubprocessError):
            return False, [], []
    return out.strip() == b"1", flags, flags


class BuildExt(build_ext):
    """Add OpenMP flags found by the probe, or build sequentially with a warning."""

    def build_extensions(self):
        supported, cflags, lflags = check_openmp_support()
        if not supported:
            warnings.warn(
                "genevec: OpenMP was not found (the test program failed to compile or run). "
                "The kernels are built single-threaded: results are the same, only slower. "
                "To build with threads install an OpenMP runtime (e.g. 'apt-get install libgomp1' "
                "or 'brew install libomp') and reinstall; to silence this set GENEVEC_NO_OPENMP=1.",
                stacklevel=1,
            )
        for ext in self.extensions:
            ext.extra_compile_args = [*ext.extra_compile_args, *cflags]
            ext.extra_link_args = [*ext.extra_link_args, *lflags]
        super().build_extensions()


# -g0: no debug information (Python's own CFLAGS add -g), a large part of the installed kernels' size;
# GCC generates the same code with or without -g, so results are unchanged. Set GENEVEC_DEBUG_BUILD=1 to keep it.
COMPILE_ARGS = ["-O3", "-fno-strict-aliasing", *([] if os.environ.get("GENEVEC_DEBUG_BUILD") else ["-g0"])]
# -s: no symbol table in the installed kernels; the code is the same.
LINK_ARGS = [] if os.environ.get("GENEVEC_DEBUG_BUILD") else ["-s"]
MACROS = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]

#: Every kernel's C headers: a change to any of them rebuilds the kernels.
HEADERS = sorted(glob.glob("genevec/src/*.h"))

# name -> (extra sources, extra compile flags); every kernel is genevec/<name>.pyx.
# _glove: no implicit FMA contraction, so that the scalar steps round the same with every compiler;
# its FMAs are written out (intrinsics, fmaf).
EXTENSIONS = {
    "_openmp": ([], []),
    "_tcm": ([], []),
    "_glove": (["genevec/src/glove_block.c"], ["-ffp-contract=off"]),
    "_lowrank": ([], []),
}


def extensions():
    from Cython.Build import cythonize

    only = {name for name in os.environ.get("GENEVEC_BUILD_ONLY", "").split(",") if name}
    exts = []
    for name, (extra, flags) in EXTENSIONS.items():
        if only and name not in only:
            continue
        exts.append(
            Extension(
                f"genevec.{name}",
                [f"genevec/{name}.pyx", *extra],
                include_dirs=[np.get_include(), "genevec/src"],
                depends=HEADERS,               # the dtype templates too, which Cython does not see
                define_macros=MACROS,
                extra_compile_args=[*COMPILE_ARGS, *flags],
                extra_link_args=LINK_ARGS,
            )
        )
    return cythonize(
        exts,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True,
                             "initializedcheck": False},
        annotate=os.environ.get("GENEVEC_ANNOTATE") == "1",
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
