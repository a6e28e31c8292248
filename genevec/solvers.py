"""The solvers behind ``GeneGloVe(solver=...)``: one signature, one table, and their starting points.

Every solver, its options bound with :func:`functools.partial`, is

    solve(tiles, start, rng, n_threads, callback) -> (params, curve)

``tiles`` the training layout (:class:`genevec._layout.TrainingTiles`), ``start`` a :class:`Start`,
``rng`` a ``numpy.random.Generator``, ``n_threads`` a resolved thread count, and
``callback(iteration, loss, params)`` called after every iteration (``params`` is None while the
solver's own representation is not a :class:`~genevec.objective.GloVeParams`); it returns True to stop.
The result is a :class:`~genevec.objective.GloVeParams` and the loss curve. Ctrl-C ends an SGD solve
with :class:`~genevec.exceptions.TrainingInterrupted`, which holds the partial parameters.

The data path runs downward: ``estimator`` -> ``solvers`` -> ``glove`` / ``lowrank`` -> ``objective``
-> the kernels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import glove, lowrank
from ._layout import TrainingTiles
from ._progress import Progress
from .objective import GloVeParams

__all__ = ["Options", "Start", "Solver", "SOLVERS", "solve_sgd", "solve_svd", "initial_params"]


@dataclass(frozen=True)
class Options:
    """The estimator's parameters a solver reads (validated)."""

    dim: int
    x_max: float
    alpha: float
    learning_rate: float
    max_iter: int
    tol: float
    dtype: np.dtype
    verbose: int = 0


@dataclass
class Start:
    """Where a solve starts: parameters (None: the solver builds its own) and the epochs already run."""

    params: GloVeParams | None = None
    epoch: int = 0
    curve: list[float] = field(default_factory=list)


def solve_sgd(tiles: TrainingTiles, start: Start, rng: np.random.Generator, n_threads: int,
              callback: Callable | None, *, options: Options) -> tuple[GloVeParams, list[float]]:
    """AdaGrad SGD (text2vec's GloVe) from ``start.params``, epochs ``start.epoch + 1 .. max_iter``.

    ``start.params`` is updated in place and returned; the curve continues ``start.curve``.
    """
    curve = list(start.curve)
    glove.fit_glove(tiles, start.params, x_max=options.x_max, alpha=options.alpha,
                    learning_rate=options.learning_rate, max_iter=options.max_iter, tol=options.tol, rng=rng,
                    n_threads=n_threads, verbose=int(options.verbose >= 2), callback=callback,
                    first_epoch=start.epoch + 1, curve=curve)
    return start.params, curve


def solve_svd(tiles: TrainingTiles, start: Start, rng: np.random.Generator, n_threads: int,
              callback: Callable | None, *, options: Options) -> tuple[GloVeParams, list[float]]:
    """The closed form, then weighted ALS sweeps where some weight is below 1 (:func:`lowrank.fit_lowrank`).

    It builds its own start, so ``start`` is not read; the curve is the exact loss after the closed
    form and after each sweep.
    """
    each = None if callback is None else (lambda sweep, loss: callback(sweep, loss, None))
    return lowrank.fit_lowrank(tiles, options.dim, x_max=options.x_max, alpha=options.alpha,
                               max_iter=options.max_iter, rng=rng, n_threads=n_threads, dtype=options.dtype,
                               verbose=options.verbose, callback=each)


@dataclass(frozen=True)
class Solver:
    """A row of :data:`SOLVERS`.

    Attributes
    ----------
    solve : callable
        ``solve(tiles, start, rng, n_threads, callback, *, options) -> (params, curve)``.
    default_max_iter : int
        Iterations for ``max_iter=None``.
    builds_start : bool
        The solver computes its own start (``start`` is not read).
    exact_curve : bool
        The curve holds the exact loss of the start and after each iteration (so ``n_iter`` is one
        less than its length, and its last value is the final exact loss); otherwise one running loss
        per epoch.
    """

    solve: Callable
    default_max_iter: int
    builds_start: bool
    exact_curve: bool

    def n_iter(self, curve: list[float]) -> int:
        return max(0, len(curve) - 1) if self.exact_curve else len(curve)


SOLVERS = {
    "svd": Solver(solve_svd, default_max_iter=0, builds_start=True, exact_curve=True),
    "sgd": Solver(solve_sgd, default_max_iter=50, builds_start=False, exact_curve=False),
}


def initial_params(init: str, tiles: TrainingTiles, options: Options, rng: np.random.Generator, n_threads: int,
                   progress: Progress | None = None) -> GloVeParams:
    """SGD's starting parameters for ``GeneGloVe(init=...)`` (see its docstring).

    ``"random"``: text2vec's start; ``"centred"``: vectors scaled by ``1 / dim`` and both biases at the
    centred row means of log T; ``"svd"``: the closed-form solution.
    """
    n, dim, dtype = tiles.n_genes, int(options.dim), options.dtype
    if init == "svd":
        t0 = time.perf_counter()
        W, C, bw, bc = lowrank.svd_fit(tiles, dim, rng=rng, n_threads=n_threads, x_max=options.x_max,
                                       alpha=options.alpha)
        if progress is not None:
            progress.say(1, f"closed-form low-rank start in {time.perf_counter() - t0:.1f} s")
        return GloVeParams.from_vectors(W, C, bw, bc, dtype)
    if init == "random":  # text2vec's start
        return glove.init_params(n, dim, dtype, rng)
    params = glove.init_params(n, dim, dtype, rng, scale=1.0 / dim)
    params.bw[...] = params.bc[...] = lowrank.centred_biases(tiles, n_threads)
    return params
