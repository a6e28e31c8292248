"""filter_genes against a brute-force reference, keep=, and its error messages."""

import logging

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import genevec
from genevec.exceptions import GeneNotFoundError
from genevec.io import filter_genes


def reference(X, min_counts=None, min_samples=None, max_counts=None, max_samples=None, keep=()):
    kept = []
    for g in X.columns:
        col = X[g].tolist()
        total, nz = sum(col), sum(1 for v in col if v != 0)
        ok = ((min_counts is None or total >= min_counts) and (max_counts is None or total <= max_counts)
              and (min_samples is None or nz >= min_samples) and (max_samples is None or nz <= max_samples))
        if ok or g in keep:
            kept.append(g)
    return kept


limit = st.one_of(st.none(), st.integers(0, 60))


@settings(max_examples=60, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(1, 8), st.integers(1, 6)), elements=st.integers(0, 20)),
       limit, st.one_of(st.none(), st.integers(0, 8)), limit, st.one_of(st.none(), st.integers(0, 8)),
       st.sets(st.integers(0, 5)))
def test_matches_reference(values, min_counts, min_samples, max_counts, max_samples, keep_idx):
    X = pd.DataFrame(values, columns=[f"G{j}" for j in range(values.shape[1])])
    keep = [f"G{j}" for j in keep_idx if j < values.shape[1]]
    kw = dict(min_counts=min_counts, min_samples=min_samples, max_counts=max_counts, max_samples=max_samples)
    try:
        out = filter_genes(X, keep=keep, **kw)
    except ValueError:
        expect = reference(X, keep=keep, **kw)
        impossible = ((min_counts is not None and max_counts is not None and min_counts > max_counts)
                      or (min_samples is not None and max_samples is not None and min_samples > max_samples)
                      or (min_samples is not None and min_samples > X.shape[0]))
        assert impossible or not expect
        return
    assert out.columns.tolist() == reference(X, keep=keep, **kw)
    pd.testing.assert_frame_equal(out, X[out.columns])


def test_keep_forces_genes_and_logs(caplog):
    X = pd.DataFrame({"A": [0, 0, 3], "B": [5, 2, 1], "TP53": [0, 0, 0]}, index=["S1", "S2", "S3"])
    with caplog.at_level(logging.INFO, logger="genevec.io.filters"):
        out = filter_genes(X, min_samples=2, keep=["TP53"])
    assert out.columns.tolist() == ["B", "TP53"]
    assert "removed 1 of 3 genes, kept 2 (1 only because of keep=)" in caplog.text
    assert filter_genes(X, min_counts=3, keep="TP53").columns.tolist() == ["A", "B", "TP53"]
    assert genevec.filter_genes is filter_genes


def test_errors():
    X = pd.DataFrame({"TP53": [0, 1], "EGFR": [2, 3]})
    with pytest.raises(GeneNotFoundError, match=r"keep names 1 gene\(s\) that are not columns of X: 'TP35'\. "
                                                r"Did you mean 'TP53'\?"):
        filter_genes(X, keep=["TP35"])
    with pytest.raises(ValueError, match=r"min_counts must be None or a non-negative number, got -1"):
        filter_genes(X, min_counts=-1)
    with pytest.raises(ValueError, match=r"min_samples must be None or a non-negative int, got 1\.5"):
        filter_genes(X, min_samples=1.5)
    with pytest.raises(ValueError, match=r"min_counts=10 is larger than max_counts=5"):
        filter_genes(X, min_counts=10, max_counts=5)
    with pytest.raises(ValueError, match=r"min_samples=3 is more than the 2 samples of X.*min_samples=2"):
        filter_genes(X, min_samples=3)
    with pytest.raises(ValueError, match=r"no gene of the 2 passes min_counts=100.*Relax the limits"):
        filter_genes(X, min_counts=100)
    with pytest.raises(TypeError, match=r"filter_genes expects a samples x genes DataFrame, got ndarray"):
        filter_genes(X.to_numpy(), min_counts=1)


def test_no_limits_keeps_everything():
    X = pd.DataFrame({"A": [0, 0], "B": [1, 2]})
    pd.testing.assert_frame_equal(filter_genes(X), X)
