"""The GloVe objective: the parameters both solvers return, and the one exact loss they are scored by.

``J = sum over T_ij > 0 of f(T_ij) (w_i . c_j + b_i + bc_j - log T_ij)^2`` with
``f(x) = min(1, (x / x_max)^alpha)``; reported as ``0.5 * J / n_entries`` (text2vec's convention).
:class:`GloVeParams` holds ``W, C, bw, bc`` and their AdaGrad sums; :func:`glove_loss` (and
:func:`exact_loss` on bare arrays) is the one exact loss: the SGD and low-rank solvers, ``GeneGloVe.score``
and the loss curves all call the same kernel (``genevec._glove.loss_tiles``).

This module sits below the solvers (:mod:`genevec.glove`, :mod:`genevec.lowrank`) and imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ._layout import TrainingTiles
from ._threads import one_blas_thread
from ._validation import check_n_threads, check_positive, check_tiles_and_params

__all__ = ["GloVeParams", "aligned_copy", "glove_loss", "exact_loss", "ALIGNMENT"]

#: Parameter arrays start on a cache-line boundary: with group bounds at multiples of 16 genes
#: (:func:`genevec._layout.gene_groups`), two threads then never write to the same line.
ALIGNMENT = 64


def aligned_copy(a, dtype=None) -> np.ndarray:
    """A C-contiguous copy of ``a`` (cast to ``dtype``) whose data starts at a 64-byte boundary.

    NumPy's large arrays start 16 or 32 bytes past a boundary. Alignment only changes speed (no cache
    line is shared by two gene groups, so threads do not contend for it), never a result.

    Examples
    --------
    >>> import numpy as np
    >>> b = aligned_copy(np.arange(5.0))
    >>> b.ctypes.data % 64, b.tolist()
    (0, [0.0, 1.0, 2.0, 3.0, 4.0])
    """
    a = np.asarray(a)
    dt = np.dtype(a.dtype if dtype is None else dtype)
    buf = np.empty(a.size * dt.itemsize + ALIGNMENT, dtype=np.uint8)
    start = -buf.ctypes.data % ALIGNMENT
    out = buf[start:start + a.size * dt.itemsize].view(dt).reshape(a.shape)
    out[...] = a
    return out


@dataclass
class GloVeParams:
    """GloVe parameters and their AdaGrad sums; every array C-contiguous, float32 or float64.

    Attributes
    ----------
    W : ndarray of shape (n_genes, dim)
        Word vectors.
    C : ndarray of shape (n_genes, dim)
        Context vectors.
    bw : ndarray of shape (n_genes,)
        Word biases.
    bc : ndarray of shape (n_genes,)
        Context biases.
    gW, gC, gbw, gbc : ndarray
        AdaGrad sums of squared gradients, same shapes as ``W, C, bw, bc``; they start at 1.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec.glove import init_params
    >>> p = init_params(3, 2, np.float32, np.random.default_rng(0))
    >>> p.W.shape, p.gW.min(), p.dtype
    ((3, 2), np.float32(1.0), dtype('float32'))
    """

    W: np.ndarray
    C: np.ndarray
    bw: np.ndarray
    bc: np.ndarray
    gW: np.ndarray
    gC: np.ndarray
    gbw: np.ndarray
    gbc: np.ndarray

    @classmethod
    def from_vectors(cls, W, C, bw, bc, dtype=None) -> "GloVeParams":
        """Parameters from given vectors and biases (cast to ``dtype``), with fresh AdaGrad sums (all ones).

        Examples
        --------
        >>> import numpy as np
        >>> p = GloVeParams.from_vectors(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(2), np.zeros(2), np.float32)
        >>> p.dtype, float(p.gC.sum())
        (dtype('float32'), 6.0)
        """
        arr = [aligned_copy(a, dtype) for a in (W, C, bw, bc)]
        return cls(*arr, *(aligned_copy(np.ones_like(a)) for a in arr))

    @property
    def dtype(self) -> np.dtype:
        return self.W.dtype

    @property
    def n_genes(self) -> int:
        return int(self.W.shape[0])

    @property
    def dim(self) -> int:
        return int(self.W.shape[1])

    def copy(self) -> "GloVeParams":
        """A deep copy of every array (64-byte aligned, see :func:`aligned_copy`)."""
        return GloVeParams(**{f.name: aligned_copy(getattr(self, f.name)) for f in fields(self)})

    def restore(self, other: "GloVeParams") -> None:
        """Copy ``other``'s values into these arrays, in place."""
        for f in fields(self):
            np.copyto(getattr(self, f.name), getattr(other, f.name))


@one_blas_thread()  # one gemm per block, inside genevec's threads
def exact_loss(tiles: TrainingTiles, W, C, bw, bc, *, x_max: float, alpha: float, log_shift: float = 0.0,
               n_threads: int = 1) -> float:
    """``0.5 * sum f * diff^2 / n`` over every stored entry, for validated arrays (see :func:`glove_loss`).

    ``W, C, bw, bc`` are C-contiguous, all float32 or all float64 (the tiles may be either): the dot
    products of a block come from one gemm in the parameters' precision, the weighted squares are
    summed in float64 in the stored tile's memory order, one slot per block, and the slots are added
    in block order, so the result is the same bits for any ``n_threads``.
    """
    from . import _glove

    B = tiles.n_groups
    block_loss = np.zeros(B * B)
    block_count = np.zeros(B * B, dtype=np.int64)
    _glove.loss_tiles(tiles.values, tiles.tile_ptr, tiles.group_bounds, W, C, bw, bc, float(np.log(x_max)),
                      float(alpha), float(log_shift), block_loss, block_count, int(n_threads))
    total = 0.0
    for v in block_loss:  # block order
        total += v
    return 0.5 * total / max(int(block_count.sum()), 1)


def glove_loss(tiles: TrainingTiles, params: GloVeParams, *, x_max: float = 100.0, alpha: float = 0.75,
               log_shift: float = 0.0, n_threads: int = 1) -> float:
    """Exact GloVe loss of fixed parameters: ``0.5 * sum f * diff^2 / n`` over every stored entry.

    Unlike the epoch loss of :func:`genevec.glove.run_epoch`, the residual is not clipped and all terms
    use the same parameters. ``log_shift`` is added to every ``log T`` (weights and targets), i.e. the
    loss on ``T * exp(log_shift)``; ``GeneGloVe.score`` uses it to rescale a TCM of another sample size.

    Parameters
    ----------
    tiles : TrainingTiles
    params : GloVeParams
    x_max, alpha : float, default=100.0, 0.75
    log_shift : float, default=0.0
    n_threads : int, default=1

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import _layout
    >>> from genevec.glove import init_params
    >>> T = np.array([[0.0, 200.0], [200.0, 0.0]])
    >>> tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(2, 1), dtype=np.float64)
    >>> p = init_params(2, 1, np.float64, np.random.default_rng(0))
    >>> for a in (p.W, p.C, p.bw, p.bc):
    ...     a[:] = 0
    >>> bool(round(glove_loss(tiles, p), 6) == round(0.5 * np.log(200.0) ** 2, 6))
    True
    """
    check_tiles_and_params(tiles, params, "glove_loss")
    check_positive(x_max, "x_max", "glove_loss", say_finite=True)
    n_threads = check_n_threads(n_threads, "glove_loss")
    p = params
    return exact_loss(tiles, p.W, p.C, p.bw, p.bc, x_max=x_max, alpha=alpha, log_shift=log_shift,
                      n_threads=n_threads)
