import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from genevec._validation import check_counts, check_random_state, effective_n_jobs
from genevec.exceptions import CountsError


def test_dataframe_gives_names_and_float64():
    df = pd.DataFrame([[1, 2], [3, 4]], index=["s1", "s2"], columns=["G1", "G2"])
    c = check_counts(df)
    assert c.X.dtype == np.float64 and c.X.flags.c_contiguous
    assert list(c.genes) == ["G1", "G2"] and list(c.samples) == ["s1", "s2"]


def test_sparse_stays_sparse_and_canonical():
    X = sp.coo_matrix(([1, 2, 3], ([0, 0, 1], [1, 1, 0])), shape=(2, 2))
    c = check_counts(X, gene_names=["a", "b"])
    assert sp.issparse(c.X) and c.X.format == "csr" and c.X[0, 1] == 3


@pytest.mark.parametrize(
    "value, match",
    [(-1, r"negative value.*sample s2, gene G2.*before log"), (np.nan, r"NaN or infinite.*sample s2, gene G2"),
     (1.5, r"non-integer.*sample s2, gene G2.*allow_non_integer=True")],
)
def test_bad_values_are_located(value, match):
    df = pd.DataFrame([[1.0, 2.0], [3.0, value]], index=["s1", "s2"], columns=["G1", "G2"])
    with pytest.raises(CountsError, match=match):
        check_counts(df)


def test_non_integer_allowed_when_asked():
    c = check_counts(np.array([[0.5, 1.25]]), allow_non_integer=True)
    assert c.X[0, 1] == 1.25


def test_string_column_is_named():
    df = pd.DataFrame({"G1": [1, 2], "desc": ["a", "b"]})
    with pytest.raises(CountsError, match=r"not numeric \('desc'\)"):
        check_counts(df)


def test_duplicate_genes_and_wrong_count_of_names():
    with pytest.raises(CountsError, match=r"occur more than once \('A'\)"):
        check_counts(np.ones((2, 2)), gene_names=["A", "A"])
    with pytest.raises(CountsError, match=r"3 gene names for 2 gene columns"):
        check_counts(np.ones((2, 2)), gene_names=["A", "B", "C"])


def test_empty_and_1d():
    with pytest.raises(CountsError, match="empty"):
        check_counts(np.zeros((0, 3)))
    with pytest.raises(CountsError, match=r"reshape\(1, -1\)"):
        check_counts(np.ones(3))


def test_n_jobs_rules():
    assert effective_n_jobs(3) == 3
    assert effective_n_jobs(None) >= 1
    assert effective_n_jobs(-1) == effective_n_jobs(None)
    with pytest.raises(ValueError, match="n_jobs=0 is not a number of threads"):
        effective_n_jobs(0)
    with pytest.raises(ValueError, match="n_jobs must be None or an int"):
        effective_n_jobs(1.5)


@pytest.mark.parametrize("rs", [0, np.random.RandomState(0), np.random.default_rng(0)])
def test_random_state_types_are_reproducible(rs):
    import copy

    a = check_random_state(copy.deepcopy(rs)).integers(1 << 30, size=3)
    b = check_random_state(copy.deepcopy(rs)).integers(1 << 30, size=3)
    assert np.array_equal(a, b)


def test_random_state_rejects_junk():
    with pytest.raises(ValueError, match="random_state must be None, an int"):
        check_random_state("seed")


def test_counts_beyond_float64_exactness_are_refused():
    X = np.array([[1, 2**53 + 2]], dtype=np.int64)
    with pytest.raises(CountsError, match=r"2\*\*53 or more.*sample row 0, gene 1"):
        check_counts(X)


def test_duplicated_sample_ids_are_refused():
    df = pd.DataFrame([[1, 2], [3, 4]], index=["s1", "s1"], columns=["A", "B"])
    with pytest.raises(CountsError, match=r"1 sample ID\(s\) occur more than once \('s1'\).*index.duplicated"):
        check_counts(df)
