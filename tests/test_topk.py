"""The grouped-bound top-k of genevec.evaluate must give exactly a stable argsort's first k columns."""

import numpy as np
import pytest

from genevec.evaluate import _top_k, _top_k_partition, neighbour_indices


@pytest.mark.parametrize("n, k", [(n, k) for n in (3, 41, 257, 2000) for k in (1, 10, 30) if k < n])
@pytest.mark.parametrize("kind", ["normal", "ties", "few_values", "minus_inf", "constant", "nan"])
def test_top_k_equals_stable_argsort(n, k, kind):
    rng = np.random.default_rng(n * 100 + k)
    S = rng.normal(size=(23, n)).astype(np.float32)
    if kind == "ties":
        S = np.round(S, 1)
    elif kind == "few_values":
        S = rng.integers(0, 3, size=S.shape).astype(np.float64)
    elif kind == "minus_inf":
        S[np.arange(23), np.arange(23) % n] = -np.inf
    elif kind == "constant":
        S[:] = 0.25
    elif kind == "nan":
        S[0, 1] = np.nan
        assert np.array_equal(_top_k(S, k), _top_k_partition(S, k))
        return
    ref = np.argsort(-S, axis=1, kind="stable")[:, :k]
    assert np.array_equal(_top_k(S, k), ref)
    assert np.array_equal(_top_k_partition(S, k), ref)


def test_neighbour_indices_of_many_genes_match_brute_force():
    rng = np.random.default_rng(3)
    U = rng.normal(size=(2500, 8))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    sims = U @ U.T
    np.fill_diagonal(sims, -np.inf)
    assert np.array_equal(neighbour_indices(U, 10, n_threads=2), np.argsort(-sims, axis=1, kind="stable")[:, :10])
