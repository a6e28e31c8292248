"""Eigenvalue weighting: the post-processing that turns trained GloVe parameters into the gene vectors.

GloVe's gene vectors ``E = W + C`` (or ``W``) weight each latent direction by the square root of its
eigenvalue: for the closed form, ``E = 2 U Λ^½`` where ``U Λ Uᵀ`` is the low-rank fit of the centred
``log T``. The few largest directions (on GTEx-like data the tissue, the batch, the library size)
then dominate every cosine. :func:`eigen_weighting` re-weights them: with the thin SVD
``E = U S Vᵀ`` it returns ``U S^(2p) Vᵀ``, so the gene-gene Gram matrix has eigenvalues ``S^(4p)``,
i.e. the eigenvalues of ``E Eᵀ`` raised to the power ``p`` (Levy, Goldberg and Dagan's ``eig``
weighting of SVD embeddings, in the basis of ``E``). ``p = 0.5`` gives back ``E`` (up to
rounding); ``p = 0`` whitens (every direction counts the same); ``0.25`` is between.

Directions whose singular value is below ``max(n, d) · eps · S_max`` (the rank tolerance of
``numpy.linalg.matrix_rank``) are set to zero rather than amplified: they are rounding noise.

The SVD runs with BLAS held to one thread, so the result does not depend on the machine's thread
count.

References
----------
Levy, Goldberg and Dagan (2015), Improving distributional similarity with lessons learned from word
embeddings. TACL 3, 211-225 (section 3.3, eigenvalue weighting).
"""

from __future__ import annotations

import numpy as np

from ._threads import one_blas_thread
from ._validation import check_eigen_power

__all__ = ["eigen_weighting", "check_eigen_power", "unit_rows"]


def eigen_weighting(vectors, power: float) -> np.ndarray:
    """Re-weight the latent directions of gene vectors: ``U S^(2 power) Vᵀ`` for ``vectors = U S Vᵀ``.

    Parameters
    ----------
    vectors : array-like of shape (n_genes, dim)
        float32 or float64 (other numbers become float64).
    power : float in [0, 1]
        Power of the eigenvalues of the Gram matrix ``vectors @ vectors.T``: 0.5 returns the vectors
        (up to rounding), 0 whitens, 0.25 halves the log-spread of the directions' weights. The
        singular values become ``S_max (S / S_max)^(2 power)``, so the largest keeps its size.

    Returns
    -------
    ndarray of shape (n_genes, dim), same dtype as ``vectors``

    Examples
    --------
    >>> import numpy as np
    >>> E = np.array([[3.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    >>> S = np.linalg.svd(E, compute_uv=False)
    >>> np.round(np.linalg.svd(eigen_weighting(E, 0.0), compute_uv=False) / S[0], 6).tolist()  # whitened
    [1.0, 1.0]
    >>> np.round(np.linalg.svd(eigen_weighting(E, 0.25), compute_uv=False) ** 2 / (S[0] * S), 6).tolist()
    [1.0, 1.0]
    >>> bool(np.allclose(eigen_weighting(E, 0.5), E))
    True
    """
    power = check_eigen_power(power)
    if power is None:
        raise ValueError("eigen_weighting: power must be a float in [0, 1]; None means: do not call it.")
    E = np.asarray(vectors)
    dtype = E.dtype if E.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    if E.ndim != 2 or min(E.shape) < 1:
        raise ValueError(f"eigen_weighting: vectors must be a non-empty 2-d array, got shape {E.shape}.")
    with one_blas_thread():
        U, S, Vt = np.linalg.svd(E.astype(np.float64), full_matrices=False)
        if S.size == 0 or S[0] == 0:
            return np.zeros_like(E, dtype=dtype)
        keep = S > S[0] * max(E.shape) * np.finfo(dtype).eps
        weights = np.zeros_like(S)
        weights[keep] = (S[keep] / S[0]) ** (2.0 * power) * S[0]  # scaled by S_max: sizes stay comparable
        out = (U * weights) @ Vt
    return np.ascontiguousarray(out, dtype=dtype)


def unit_rows(V) -> np.ndarray:
    """The rows of ``V`` scaled to unit length, in float64; an all-zero row stays zero (no NaN).

    Cosines of the rows are then their dot products: what the quality report, the tissue alignment and
    the map (``metric="cosine"``) compare.

    Examples
    --------
    >>> from genevec.postprocess import unit_rows
    >>> unit_rows([[3.0, 4.0], [0.0, 0.0]]).tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """
    V = np.asarray(V, dtype=np.float64)
    norms = np.linalg.norm(V, axis=1)
    return V / np.where(norms > 0, norms, 1.0)[:, None]
