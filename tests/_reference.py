"""Slow, obvious NumPy references the kernels are compared against."""

import numpy as np
import pandas as pd


def tcm_ref(A):
    """A.T @ A in exact integer (object) arithmetic when A is integral, with quanteda's diagonal rule."""
    A = np.asarray(A)
    if np.all(np.floor(A) == A):
        Ai = A.astype(np.int64).astype(object)
        T = Ai.T.dot(Ai)
        colsum = Ai.sum(axis=0)
        for i in range(T.shape[0]):
            T[i, i] = (T[i, i] - colsum[i]) // 2
        return T
    A = A.astype(np.float64)
    T = A.T @ A
    T[np.diag_indices_from(T)] = (np.diag(T) - A.sum(axis=0)) / 2
    return T


def planted_modules(n_samples=60, genes_per_module=12, seed=0):
    """Two modules of co-expressed genes: within a module counts rise and fall together across samples."""
    rng = np.random.default_rng(seed)
    activity = rng.gamma(2.0, 1.0, size=(n_samples, 2))
    # Alternate the modules' dominance so their profiles are anti-correlated.
    activity[::2, 0] *= 6.0
    activity[1::2, 1] *= 6.0
    cols, data = [], []
    for m in range(2):
        base = rng.uniform(5, 50, size=genes_per_module)
        lam = activity[:, [m]] * base[None, :]
        data.append(rng.poisson(lam))
        cols += [f"M{m + 1}_{k}" for k in range(genes_per_module)]
    X = np.hstack(data)
    return pd.DataFrame(X, index=[f"S{i}" for i in range(n_samples)], columns=cols)
