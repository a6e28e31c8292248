"""How long and how much memory a training run will take, before it starts.

Both grow with the square of the number of genes: the co-occurrence matrix holds every pair. The
estimate is a model of genevec's own kernels, with constants measured on the 2-core VM where
genevec's benchmarks run (``benchmarks/RESULTS.md``; a loaded or faster machine differs, so it is
said as "about"):

* building the co-occurrence tiles: ``1.1e-8 s x genes^2`` on 2 threads (12,000 genes: 1.3-1.7 s;
  25,321 genes x 328 samples: 7.7 s);
* the closed form (``solver="svd"``) with its exact loss: ``3.3e-8 s x genes^2 x dim / 100`` (12,000
  genes: 4.8 s; it was 7.1 s at 25,321 genes, so this errs long), plus an ALS sweep of as much per
  ``max_iter``;
* one SGD epoch: ``genes^2`` updates at 14 million a second on 2 threads (12,000 genes: 10.2 s a
  epoch; the study's 50 epochs at 25,321 genes: 21.1 min);
* time scales as ``2 / threads``; memory is :func:`genevec.tcm.estimate_training_bytes` (the tiles)
  plus the vectors and optimiser state, the counts as float64, and the solver's work arrays.

``genevec train`` prints the estimate before the first epoch and, for a long run, the
``--top-genes N`` that would fit in :data:`LONG_RUN_SECONDS`.

Examples
--------
>>> from genevec import GeneGloVe
>>> from genevec.cost import training_cost
>>> cost = training_cost(GeneGloVe(), n_samples=328, n_genes=25321, n_threads=2)
>>> print(cost)
25,321 genes x 328 samples (solver svd, dim 100): about 28 s and 1.7 GB
>>> training_cost(GeneGloVe.exp2vec(), n_samples=328, n_genes=25321, n_threads=2).seconds > 1800
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._progress import format_duration

log = logging.getLogger(__name__)

__all__ = ["TrainingCost", "training_cost", "affordable_genes", "format_duration", "LONG_RUN_SECONDS"]

#: A run estimated longer than this (10 minutes) is "long": ``genevec train`` suggests ``--top-genes``.
LONG_RUN_SECONDS = 600.0

TILES_S_PER_PAIR = 1.1e-8          # seconds per gene pair, 2 threads
SVD_S_PER_PAIR_DIM100 = 3.3e-8     # closed form + its exact loss, per gene pair at dim 100, 2 threads
SGD_UPDATES_PER_S = 14e6           # one epoch: genes^2 updates, 2 threads
REFERENCE_THREADS = 2


@dataclass(frozen=True)
class TrainingCost:
    """An estimate of one training run: ``seconds`` and peak ``bytes``, for ``n_genes`` x ``n_samples``."""

    n_genes: int
    n_samples: int
    solver: str
    dim: int
    seconds: float
    bytes: int

    def __str__(self) -> str:
        from ._validation import format_bytes

        return (f"{self.n_genes:,} genes x {self.n_samples:,} samples (solver {self.solver}, dim {self.dim}): "
                f"about {format_duration(self.seconds)} and {format_bytes(self.bytes)}")


def _threads(n_threads: int | None, n_jobs: Any) -> int:
    if n_threads is not None:
        return max(1, int(n_threads))
    from ._validation import effective_n_jobs

    return effective_n_jobs(n_jobs, caller="training_cost")


def training_cost(model: Any, n_samples: int, n_genes: int, *, n_threads: int | None = None) -> TrainingCost:
    """Estimate the time and peak memory of ``model.fit`` on ``n_samples`` x ``n_genes`` counts.

    Parameters
    ----------
    model : GeneGloVe
        Its ``solver``, ``dim``, ``max_iter``, ``dtype`` and ``n_jobs`` are read; it is not fitted.
    n_samples, n_genes : int
    n_threads : int, optional
        Threads to assume (default: what the model's ``n_jobs`` gives here).

    Returns
    -------
    TrainingCost
    """
    n = int(n_genes)
    s = int(n_samples)
    if n < 1 or s < 1:
        raise ValueError(f"training_cost: n_samples and n_genes must be >= 1, got {n_samples!r} and {n_genes!r}.")
    from .tcm import estimate_training_bytes

    threads = _threads(n_threads, getattr(model, "n_jobs", None))
    speed = REFERENCE_THREADS / min(threads, 64)
    dim = int(model.dim)
    dtype = np.dtype(getattr(model, "dtype", "float32"))
    pairs = float(n) * n
    seconds = TILES_S_PER_PAIR * pairs
    if model.solver == "svd":
        sweeps = int(model.max_iter) if model.max_iter is not None else 0
        seconds += SVD_S_PER_PAIR_DIM100 * pairs * (dim / 100.0) * (1 + sweeps)
        work = 8 * n * (dim + 10) * 6                                  # randomized eigensolver blocks, float64
        epochs = sweeps
    else:
        epochs = int(model.max_iter) if model.max_iter is not None else 50
        seconds += epochs * pairs / SGD_UPDATES_PER_S
        work = 0
    memory = (estimate_training_bytes(n, dtype) + 8 * n * dim * dtype.itemsize + 8 * s * n + work)
    return TrainingCost(n, s, str(model.solver), dim, seconds * speed, int(memory))


def affordable_genes(model: Any, n_samples: int, *, seconds: float | None = None, max_bytes: float | None = None,
                     n_threads: int | None = None) -> int:
    """The largest number of genes whose estimate fits in ``seconds`` (default :data:`LONG_RUN_SECONDS`) and
    ``max_bytes``, rounded down to two significant digits (at least 100).

    Examples
    --------
    >>> from genevec import GeneGloVe
    >>> from genevec.cost import affordable_genes
    >>> affordable_genes(GeneGloVe.exp2vec(), 328, n_threads=2)
    12000
    """
    seconds = LONG_RUN_SECONDS if seconds is None else seconds
    lo, hi = 100, 10_000_000
    if not _fits(model, n_samples, lo, seconds, max_bytes, n_threads):
        return lo
    while hi - lo > 1:                                   # the largest n that fits
        mid = (lo + hi) // 2
        if _fits(model, n_samples, mid, seconds, max_bytes, n_threads):
            lo = mid
        else:
            hi = mid
    step = 10 ** max(0, len(str(lo)) - 2)
    return max(100, lo // step * step)


def _fits(model, n_samples, n, seconds, max_bytes, n_threads) -> bool:
    cost = training_cost(model, n_samples, n, n_threads=n_threads)
    return cost.seconds <= seconds and (max_bytes is None or cost.bytes <= max_bytes)
