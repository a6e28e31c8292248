"""Shared fixtures: tiny count matrices and the paths of the real datasets in ../shared/data."""

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
# benchmarks/_app_load.py is the app's load harness, shared by tests/test_app_load.py, test_app_browser.py,
# test_cli.py and the app benchmarks: importable as `_app_load` (appended, so it shadows nothing).
if str(REPO / "benchmarks") not in sys.path:
    sys.path.append(str(REPO / "benchmarks"))

# The tests exercise the *installed* genevec (its compiled kernels live there). Subprocesses started
# with `python -m genevec` or `python -c` would otherwise put their working directory, often this
# source tree without compiled kernels, first on sys.path (Python >= 3.11 honours this variable).
os.environ["PYTHONSAFEPATH"] = "1"
# The real datasets sit in ../shared/data beside the clone (as in CI); GENEVEC_SHARED_DATA points elsewhere.
SHARED_DATA = Path(os.environ.get("GENEVEC_SHARED_DATA") or REPO.parent / "shared" / "data")


def shared_file(*parts):
    """Path of a file in the shared data folder; fails (not skips) when missing, since CI lays it out."""
    path = SHARED_DATA.joinpath(*parts)
    assert path.exists(), (f"{path} is missing: the shared datasets must sit in ../shared/data beside the "
                           "repository, or set GENEVEC_SHARED_DATA to the folder that holds them")
    return path


@pytest.fixture
def tiny_counts():
    """6 samples x 5 genes of small integer counts, as a DataFrame with gene columns."""
    rng = np.random.default_rng(0)
    X = rng.poisson(4.0, size=(6, 5))
    return pd.DataFrame(X, index=[f"S{i}" for i in range(6)], columns=list("ABCDE"))


@pytest.fixture
def module_counts():
    """Counts with two planted co-expressed gene modules (M1_*, M2_*), samples x genes."""
    from _reference import planted_modules

    return planted_modules(n_samples=60, genes_per_module=12, seed=0)


@pytest.fixture
def ctrl_c_in_epoch(monkeypatch):
    """``ctrl_c_in_epoch(n)``: a Ctrl-C (KeyboardInterrupt) during the n-th SGD epoch run from then on.

    Returns a function that takes the Ctrl-C away again (epochs run as normal).
    """
    from genevec import glove

    real = glove.run_epoch

    def arm(n):
        calls = []

        def epoch(*args, **kwargs):
            calls.append(1)
            if len(calls) == n:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        monkeypatch.setattr(glove, "run_epoch", epoch)
        return lambda: monkeypatch.setattr(glove, "run_epoch", real)

    return arm
