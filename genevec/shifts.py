"""Comparing one gene across tissues: alignment, neighbour overlap, and a shift score calibrated on resampling noise.

Each tissue's model is fitted on its own samples, so its vectors sit in a space of their own: the
coordinates of two fits mean nothing to each other (any rotation of a model is the same model).
Two tools make tissues comparable:

- :func:`procrustes` finds the rotation that best lays one tissue's unit vectors on another's, over
  the genes they share (orthogonal Procrustes, Schönemann 1966). A rotation keeps every cosine, so a
  tissue's own neighbour lists do not change.
- :func:`shift_table` asks, per gene, whether its company changed: the Jaccard index of its top-``k``
  neighbours in the two tissues, against what sampling noise alone would give. Each tissue's
  split-half stability (:func:`genevec.stability` with ``mode="halves"``) measures that noise: a
  gene whose neighbours come back with a mean Jaccard ``J`` between fits of two disjoint halves of
  the tissue's samples keeps each true neighbour with probability ``q = sqrt(2 J / (1 + J))`` (two
  fits share ``q²`` of them, and ``J = q² / (2 - q²)``).
  Had nothing changed, the two tissues would share each of its neighbours with probability
  ``x = q_a q_b``, so the overlap of the two lists would be Binomial(``k``, ``x``); the score is
  ``-log10`` of the chance of an overlap as small as the one seen, and Benjamini-Hochberg q values
  over the genes say which shifts are beyond noise.

Why halves and not bootstrap resamples: two bootstrap resamples share about 40% of their samples,
so they agree more than two independent sample sets would, and a null built on them calls noise
a shift. Fits of half the samples agree less than fits of all of them, so the split-half null is
conservative: on GTEx whole blood split at random into two pseudo-tissues, the observed mean
Jaccard (0.32) lay above the split-half expectation (0.27) and below the bootstrap one (0.41); see
``benchmarks/RESULTS.md``.

Examples
--------
>>> import numpy as np
>>> from genevec.shifts import procrustes
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(50, 3))
>>> Q = np.linalg.qr(rng.normal(size=(3, 3)))[0]                 # a random rotation
>>> bool(np.allclose(procrustes(X, X @ Q), Q))
True
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ._threads import one_blas_thread
from .postprocess import unit_rows

if TYPE_CHECKING:
    import pandas as pd

    from .similarity import GeneVectors

log = logging.getLogger(__name__)

__all__ = ["procrustes", "align", "keep_probability", "expected_jaccard", "benjamini_hochberg", "shift_table"]


def procrustes(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The orthogonal matrix ``R`` that minimises ``||X R - Y||_F`` (orthogonal Procrustes).

    With ``Xᵀ Y = U S Vᵀ``, ``R = U Vᵀ``. Computed in float64 with one BLAS thread, so the same
    input gives the same bits whatever the thread settings.

    Parameters
    ----------
    X, Y : ndarray of shape (n, dim)
        Matched rows (the same genes in the same order).

    Returns
    -------
    ndarray of float64, shape (dim, dim)

    Examples
    --------
    >>> import numpy as np
    >>> from genevec.shifts import procrustes
    >>> R = procrustes(np.eye(2), np.array([[0.0, 1.0], [-1.0, 0.0]]))   # a quarter turn
    >>> R.round(6).tolist()
    [[0.0, 1.0], [-1.0, 0.0]]
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if X.shape != Y.shape or X.ndim != 2:
        raise ValueError(f"procrustes: X and Y must be matched (n, dim) arrays, got shapes {X.shape} and {Y.shape}.")
    with one_blas_thread():
        U, _, Vt = np.linalg.svd(X.T @ Y)
        return U @ Vt


def align(vectors: "GeneVectors", reference: "GeneVectors") -> tuple[np.ndarray, dict]:
    """Rotate ``vectors`` onto ``reference`` by Procrustes on the unit vectors of the genes they share.

    Parameters
    ----------
    vectors, reference : GeneVectors
        Of the same dimension.

    Returns
    -------
    aligned : ndarray of float64, shape (len(vectors), dim)
        Every gene of ``vectors`` rotated (its length kept). float64, so that every cosine between
        two genes of the tissue is kept to about 1e-15 and its neighbour lists stay the same.
    info : dict
        ``shared_genes`` (the genes the rotation was fitted on) and ``mean_cosine`` (between each
        shared gene's rotated unit vector and the reference's, after alignment).

    Raises
    ------
    ValueError
        Different dimensions, or fewer than 2 shared genes. (With fewer shared genes than
        dimensions the best rotation is not unique; the one returned is still deterministic.)
    """
    if vectors.dim != reference.dim:
        raise ValueError(f"align: the vectors have {vectors.dim} dimensions and the reference {reference.dim}; "
                         "tissues are aligned when they are fitted with the same dim.")
    shared = [g for g in vectors.genes if g in reference]
    if len(shared) < 2:
        raise ValueError(
            f"align: {len(shared)} gene(s) are shared with the reference, too few to fit a rotation on. Use "
            "genes='shared', or another reference tissue."
        )
    X = unit_rows(vectors[shared])
    Y = unit_rows(reference[shared])
    R = procrustes(X, Y)
    aligned = np.asarray(vectors.vectors, dtype=np.float64) @ R
    mean_cos = float(np.mean(np.einsum("ij,ij->i", X @ R, Y)))
    return aligned, {"shared_genes": len(shared), "mean_cosine": round(mean_cos, 6)}


def keep_probability(jaccard: np.ndarray, k: int | None = None) -> np.ndarray:
    """``q²``, the share of neighbours two fits have in common, from their mean Jaccard ``J``.

    Without ``k``: ``2 J / (1 + J)``, which inverts ``J = E[o] / (2k - E[o])`` for an overlap ``o``.
    With ``k``: the exact inverse of :func:`expected_jaccard` (``J = E[o / (2k - o)]`` with ``o``
    Binomial(``k``, ``q²``)), by bisection; the closed form reads up to 0.02 high at ``k = 10``.

    Examples
    --------
    >>> from genevec.shifts import expected_jaccard, keep_probability
    >>> J = expected_jaccard([0.25, 0.64], 10)
    >>> keep_probability(J, k=10).round(9).tolist()
    [0.25, 0.64]
    """
    J = np.clip(np.asarray(jaccard, dtype=np.float64), 0.0, 1.0)
    if k is None:
        return 2.0 * J / (1.0 + J)
    lo, hi = np.zeros_like(J), np.ones_like(J)
    ok = ~np.isnan(J)
    for _ in range(48):                       # expected_jaccard increases with q²: halve the bracket
        mid = (lo + hi) / 2
        below = np.zeros(J.shape, dtype=bool)
        below[ok] = expected_jaccard(mid[ok], k) < J[ok]
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    out = (lo + hi) / 2
    out[J == 0] = 0.0
    out[J == 1] = 1.0
    return np.where(ok, out, np.nan)


def expected_jaccard(x: np.ndarray, k: int) -> np.ndarray:
    """Mean Jaccard index of two top-``k`` lists whose overlap is Binomial(``k``, ``x``).

    Examples
    --------
    >>> from genevec.shifts import expected_jaccard
    >>> expected_jaccard([0.0, 1.0], 10).tolist()
    [0.0, 1.0]
    """
    from scipy.stats import binom

    x = np.asarray(x, dtype=np.float64)
    o = np.arange(k + 1)
    pmf = binom.pmf(o[None, :], k, x.reshape(-1, 1))
    return (pmf @ (o / (2 * k - o))).reshape(x.shape)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q values of ``p`` (NaN stays NaN and is not counted).

    Examples
    --------
    >>> from genevec.shifts import benjamini_hochberg
    >>> benjamini_hochberg([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size:
        order = ok[np.argsort(p[ok], kind="stable")]
        ranked = p[order] * ok.size / np.arange(1, ok.size + 1)
        q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q


def _overlap(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Per row, how many indices the two rows share (rows hold distinct indices)."""
    return (A[:, :, None] == B[:, None, :]).any(axis=2).sum(axis=1)


def shift_table(a: "GeneVectors", b: "GeneVectors", stability_a: "pd.Series", stability_b: "pd.Series", *,
                k: int, n_pairs: int, n_threads: int = 1, alpha: float = 0.05,
                names: Sequence[str] = ("a", "b")) -> "pd.DataFrame":
    """Per gene shared by two tissues: how much its neighbours changed, against resampling noise.

    Parameters
    ----------
    a, b : GeneVectors
        The two tissues' vectors (aligned to one space, for the ``cosine`` column).
    stability_a, stability_b : pandas.Series
        Each tissue's per-gene mean Jaccard of its top-``k`` neighbours between fits of two halves
        of its samples (``genevec.stability(..., mode="halves").jaccard``).
    k : int
        Neighbours per gene; the ``k`` of the stability runs.
    n_pairs : int
        Pairs of fits behind each stability value; the null's keep rate is capped at
        ``1 - 1 / (2 k n_pairs)``, the smallest loss so many comparisons can see.
    n_threads : int, default=1
        Threads of the neighbour searches (the result is the same for any value).
    alpha : float, default=0.05
        ``shifted`` is ``q_value < alpha``.
    names : (str, str)
        The tissues' names, for the neighbour columns.

    Returns
    -------
    DataFrame
        One row per shared gene, most shifted first: ``gene``, ``score`` (-log10 ``p_value``),
        ``p_value`` (chance of an overlap this small from resampling noise alone), ``q_value``
        (Benjamini-Hochberg over the shared genes), ``shifted``, ``jaccard`` (of the two top-``k``
        lists, among the shared genes), ``expected_jaccard`` (under noise alone), ``cosine`` (of the
        aligned vectors), ``stability_<a>``, ``stability_<b>``, ``neighbours_<a>``, ``neighbours_<b>``
        (comma-separated, nearest first). Ties: lower Jaccard, then lower cosine, then name.

    Raises
    ------
    ValueError
        The tissues share ``k`` genes or fewer.
    """
    import pandas as pd
    from scipy.stats import binom

    from .evaluate import neighbour_indices

    common = [g for g in a.genes if g in b]
    if len(common) <= k:
        raise ValueError(
            f"tissues {names[0]!r} and {names[1]!r} share {len(common)} expressed gene(s), too few to compare "
            f"neighbour lists of k={k}. Fit them with genes='shared', or relax the expression filter "
            "(min_reads, min_fraction)."
        )
    Ua, Ub = unit_rows(a[common]), unit_rows(b[common])
    Na = neighbour_indices(Ua, k, n_threads=n_threads)
    Nb = neighbour_indices(Ub, k, n_threads=n_threads)
    overlap = _overlap(Na, Nb)
    kk = Na.shape[1]
    jaccard = overlap / (2 * kk - overlap)
    cosine = np.einsum("ij,ij->i", Ua, Ub)
    ja = stability_a.reindex(common).to_numpy(dtype=np.float64)
    jb = stability_b.reindex(common).to_numpy(dtype=np.float64)
    x = np.minimum(np.sqrt(keep_probability(ja, kk) * keep_probability(jb, kk)),
                   1.0 - 1.0 / (2 * kk * max(1, n_pairs)))
    p = binom.cdf(overlap, kk, x)
    p[np.isnan(x)] = np.nan
    q = benjamini_hochberg(p)
    genes = np.asarray(common, dtype=object)
    na, nb = (f"neighbours_{n}" for n in names)
    table = pd.DataFrame({
        "gene": genes, "score": -np.log10(p), "p_value": p, "q_value": q, "shifted": q < alpha,
        "jaccard": jaccard, "expected_jaccard": expected_jaccard(x, kk), "cosine": cosine,
        f"stability_{names[0]}": ja, f"stability_{names[1]}": jb,
        na: [", ".join(genes[row]) for row in Na], nb: [", ".join(genes[row]) for row in Nb],
    })
    order = np.lexsort((genes.astype(str), cosine, jaccard, np.nan_to_num(p, nan=2.0)))
    return table.iloc[order].reset_index(drop=True)
