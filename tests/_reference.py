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


def evaluate_ref(genes, V, sets, k, min_size=5, max_size=500):
    """Brute-force pathway metrics: every cosine, every pair, every set intersection in plain Python.

    Returns (precision@k, random expectation, AUROC over every annotated pair).
    """
    index = {g: i for i, g in enumerate(genes)}
    kept = []
    for members in sets.values():
        hit = {index[g] for g in members if g in index}
        if min_size <= len(hit) <= max_size:
            kept.append(hit)
    annotated = sorted(set().union(*kept)) if kept else []
    sets_of = {a: {s for s, hit in enumerate(kept) if a in hit} for a in annotated}
    V = np.asarray(V, dtype=np.float64)
    U = V / np.linalg.norm(V, axis=1, keepdims=True)
    precision, expected = [], []
    for a in annotated:
        others = [b for b in annotated if b != a]
        # nearest first; equal cosines by gene order
        ranked = sorted(others, key=lambda b: (-float(U[a] @ U[b]), annotated.index(b)))
        top = ranked[: min(k, len(others))]
        precision.append(sum(bool(sets_of[a] & sets_of[b]) for b in top) / len(top))
        expected.append(sum(bool(sets_of[a] & sets_of[b]) for b in others) / len(others))
    pos, neg = [], []
    for x in range(len(annotated)):
        for y in range(x + 1, len(annotated)):
            a, b = annotated[x], annotated[y]
            (pos if sets_of[a] & sets_of[b] else neg).append(float(U[a] @ U[b]))
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return float(np.mean(precision)), float(np.mean(expected)), wins / (len(pos) * len(neg))
