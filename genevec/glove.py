"""GloVe by AdaGrad SGD over DSGD strata: parameters, epochs, loss, stopping.

The model and its defaults follow text2vec's ``GlobalVectors`` (rsparse ``GloveFit::partial_fit``), the
implementation used by the exp2vec study: minimise
``sum over T_ij > 0 of f(T_ij) * (w_i . c_j + b_i + bc_j - log T_ij)^2`` with
``f(x) = min(1, (x / x_max)^alpha)``, separate word (``W``, ``bw``) and context (``C``, ``bc``)
parameters, and AdaGrad whose squared-gradient sums start at 1. As in text2vec, for each entry:

1. ``diff = w.c + bw + bc - log T``, clipped to ``[-clip, clip]`` (the *unweighted* residual, text2vec's
   ``max_cost``/rsparse's ``CLIP_VALUE = 100``; Stanford's ``glove.c`` instead clips the weighted
   gradient), then ``fd = f * diff``;
2. ``w -= lr * fd * c / sqrt(gW)`` and ``c -= lr * fd * w / sqrt(gC)``, both from the old ``w`` and ``c``;
   then ``gW += (fd * c)^2``, ``gC += (fd * w)^2`` (the step uses the sums *before* this entry);
3. ``bw -= lr * fd / sqrt(gbw)``, ``bc -= lr * fd / sqrt(gbc)``, then ``gbw += fd^2``, ``gbc += fd^2``.

Initialisation as text2vec/rsparse (:func:`init_params`): ``W``, ``C``, ``bw``, ``bc`` uniform on
``[-0.5, 0.5)`` (not scaled by ``dim``), AdaGrad sums 1; ``GeneGloVe(init="random")`` and the study's
preset use it. ``GeneGloVe``'s default start, ``init="centred"``, scales the vectors by ``1 / dim`` (as
Stanford's ``glove.c``) and sets both biases to the centred row means of ``log T``
(:func:`genevec.lowrank.centred_biases`): on raw counts ``log T`` sits 20-35 units above zero, and
from text2vec's start the first epochs spend AdaGrad's step sizes on that offset while every gene
vector is pushed along one common direction (see ``docs/quality.rst``). The reported epoch loss is
rsparse's: ``0.5 * sum f * diff^2 / n`` over the entries of the epoch, each computed just before its
update, with the clipped residual.

Departures from text2vec, and why
---------------------------------
- **Order and threads.** text2vec runs Hogwild (threads race on shared rows) over the TCM in storage
  order. genevec visits entries in DSGD strata (see :mod:`genevec._layout`): in each epoch the strata in
  a random order, in each block a keyed random permutation. No two threads ever touch the same row, so
  the result is bit-identical for any number of threads (and the shuffle, off by default in text2vec,
  is always on).
- **Both directions, diagonal once.** text2vec is given quanteda's upper-triangular fcm and makes a
  second pass on its transpose, so it visits each off-diagonal pair once per direction (as genevec does)
  but the diagonal twice. genevec visits ``(i, i)`` once. text2vec divides the loss by the upper
  triangle's nnz, about half of genevec's ``n`` (the ordered pairs), so its numbers are about twice ours.
- **Stopping.** ``tol`` uses text2vec's test ``loss_prev / loss - 1 < tol``. text2vec's "cost is too big"
  stop (loss > 1) is not copied: a large loss is legitimate on raw expression counts. A non-finite loss
  raises :class:`~genevec.exceptions.TrainingDivergedError` (text2vec: ``stop("Cost becomes NaN")``).
- **float32 AdaGrad step.** On AVX2 the float32 kernel computes ``lr / sqrt(g)`` with the hardware
  estimate ``rsqrt`` plus one Newton step (relative error about 2e-7, 1-2 float32 ulp) instead of
  ``sqrt`` then a division, for speed (measured in ``benchmarks/RESULTS.md``). After an epoch on small data the vectors
  stay within 1e-5 (relative) of the exact NumPy reference, as the exact paths do. ``rsqrt`` is
  vendor-specific, so float32 results may differ in the last bits between AMD and Intel CPUs (never
  between thread counts). float64 and the generic C path (CPUs without AVX2+FMA) are exact.
- **Weight from log T.** The tiles hold ``log T``; ``f = 1`` if ``log T >= log x_max`` else
  ``exp(alpha * (log T - log x_max))``, equal to text2vec's ``(x / x_max)^alpha`` up to rounding.

Speed: ``benchmarks/RESULTS.md`` has the entries per second on 1 and 2 threads, the ratios against the
plain C loop in ``benchmarks/baseline`` and against two independent processes; ``src/glove_block.c``
says how. Threads:
a block of stratum ``k + 1`` starts as soon as the two blocks of stratum ``k`` that wrote its word and
context rows are done, without a barrier after each stratum; a waiting thread spins briefly, then
yields its core. Gene groups start on cache-line boundaries (:func:`genevec._layout.gene_groups`,
:func:`aligned_copy`), so the two threads running neighbouring blocks never write to one line.

Keeping params consistent: each kernel call runs whole strata (:func:`strata_per_call`, about a second
of work) and is atomic from Python's point of view, so a ``KeyboardInterrupt`` (raised between calls)
leaves every parameter finished for its visited entries.
:func:`fit_glove` keeps a copy of the parameters from the start of each epoch (8 arrays, the size of
the parameters themselves; small next to the tiles) to restore them when the loss turns non-finite.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

import numpy as np

from ._layout import TrainingTiles
from ._progress import Progress
from ._validation import check_dtype, check_int_at_least, check_n_threads, check_positive, check_tiles_and_params
from .exceptions import TrainingDivergedError, TrainingInterrupted
from .objective import ALIGNMENT, GloVeParams, aligned_copy, glove_loss  # noqa: F401  (public here since 0.1)

__all__ = ["GloVeParams", "init_params", "aligned_copy", "run_epoch", "glove_loss", "fit_glove"]

log = logging.getLogger(__name__)

def init_params(n_genes: int, dim: int, dtype, rng: np.random.Generator, *, scale: float = 1.0) -> GloVeParams:
    """Random start as text2vec: vectors and biases uniform on ``[-0.5, 0.5)``, AdaGrad sums 1.

    Draws, in this order, ``W``, ``bw``, ``C``, ``bc`` (rsparse's ``w_i, b_i, w_j, b_j``) in float64
    and casts them to ``dtype``. ``scale`` multiplies the vectors (not the biases) before the cast:
    Stanford GloVe's start is ``scale = 1 / dim``.

    Parameters
    ----------
    n_genes : int
        Number of genes (rows).
    dim : int
        Vector size.
    dtype : {numpy.float32, numpy.float64}
        Training dtype.
    rng : numpy.random.Generator
        Source of the random start.
    scale : float, default=1.0
        Factor on the vectors' uniform draws.

    Returns
    -------
    GloVeParams

    Examples
    --------
    >>> import numpy as np
    >>> p = init_params(4, 3, np.float64, np.random.default_rng(0))
    >>> bool((abs(p.W) <= 0.5).all()), p.bc.shape, float(p.gbc.sum())
    (True, (4,), 4.0)
    """
    dtype = check_dtype(dtype, "init_params", " Pass dtype=np.float32.")
    if int(n_genes) < 1 or int(dim) < 1:
        raise ValueError(f"init_params: n_genes and dim must be >= 1, got n_genes={n_genes}, dim={dim}.")
    n, d = int(n_genes), int(dim)
    W = rng.uniform(-0.5, 0.5, size=(n, d))
    W = aligned_copy(W if scale == 1.0 else W * scale, dtype)
    bw = aligned_copy(rng.uniform(-0.5, 0.5, size=n), dtype)
    C = rng.uniform(-0.5, 0.5, size=(n, d))
    C = aligned_copy(C if scale == 1.0 else C * scale, dtype)
    bc = aligned_copy(rng.uniform(-0.5, 0.5, size=n), dtype)
    ones = [aligned_copy(np.ones(shape, dtype)) for shape in ((n, d), (n, d), n, n)]
    return GloVeParams(W, C, bw, bc, *ones)


def draw_epoch_plan(rng: np.random.Generator, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """The random choices of one epoch: the stratum order and every block's visiting-order keys.

    Returns ``(strata, keys)``: ``strata = rng.permutation(B)`` then
    ``keys = rng.integers(0, 2**32, size=(B, B, 4), dtype=uint32)``; ``keys[k, g]`` orders block
    ``(g, (g + strata[k]) % B)`` of the ``k``-th stratum visited.

    Examples
    --------
    >>> import numpy as np
    >>> strata, keys = draw_epoch_plan(np.random.default_rng(0), 3)
    >>> sorted(strata.tolist()), keys.shape
    ([0, 1, 2], (3, 3, 4))
    """
    strata = rng.permutation(n_groups)
    keys = rng.integers(0, 2**32, size=(n_groups, n_groups, 4), dtype=np.uint32)
    return strata, keys


def run_epoch(tiles: TrainingTiles, params: GloVeParams, *, x_max: float = 100.0, alpha: float = 0.75,
              learning_rate: float = 0.05, clip: float = 100.0, rng: np.random.Generator,
              n_threads: int = 1) -> float:
    """One SGD epoch over every stored entry; update ``params`` in place and return the epoch loss.

    Parameters
    ----------
    tiles : TrainingTiles
        log co-occurrences in the DSGD layout, same dtype as ``params``.
    params : GloVeParams
        Updated in place.
    x_max, alpha : float, default=100.0, 0.75
        Weighting function ``f(x) = min(1, (x / x_max)^alpha)``.
    learning_rate : float, default=0.05
        AdaGrad's initial step.
    clip : float, default=100.0
        The residual ``w.c + b + bc - log T`` is clipped to ``[-clip, clip]`` (text2vec).
    rng : numpy.random.Generator
        Draws the stratum order and the block keys (:func:`draw_epoch_plan`).
    n_threads : int, default=1
        OpenMP threads; the result does not depend on it.

    Returns
    -------
    float
        ``0.5 * sum f * diff^2 / n_entries``, each term taken just before its update (NaN or inf when
        training diverged).

    Notes
    -----
    Raises nothing on divergence: the caller checks the loss (see :func:`fit_glove`). A
    ``KeyboardInterrupt`` arrives between kernel calls (whole strata, about a second of work each, see
    :func:`strata_per_call`) and leaves ``params`` consistent.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import _layout
    >>> T = np.full((6, 6), 50.0)
    >>> tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(6, 2), dtype=np.float64)
    >>> rng = np.random.default_rng(0)
    >>> p = init_params(6, 4, np.float64, rng)
    >>> first = run_epoch(tiles, p, rng=rng)
    >>> later = [run_epoch(tiles, p, rng=rng) for _ in range(20)][-1]
    >>> bool(later < first)
    True
    """
    from . import _glove

    check_tiles_and_params(tiles, params, "run_epoch")
    for name, value in (("x_max", x_max), ("learning_rate", learning_rate), ("clip", clip)):
        check_positive(value, name, "run_epoch", say_finite=True)
    n_threads = check_n_threads(n_threads, "run_epoch")
    B = tiles.n_groups
    strata, keys = draw_epoch_plan(rng, B)
    strata = strata.astype(np.int64)
    per_call = strata_per_call(tiles)
    block_loss = np.zeros((per_call, B))
    block_count = np.zeros((per_call, B), dtype=np.int64)
    total, count = 0.0, 0
    log_xmax = float(np.log(x_max))
    p = params
    for k0 in range(0, B, per_call):
        k1 = min(B, k0 + per_call)
        _glove.sgd_strata(tiles.values, tiles.tile_ptr, tiles.group_bounds, strata[k0:k1], keys[k0:k1],
                          p.W, p.C, p.bw, p.bc, p.gW, p.gC, p.gbw, p.gbc,
                          log_xmax, float(alpha), float(learning_rate), float(clip),
                          block_loss[: k1 - k0], block_count[: k1 - k0], int(n_threads))
        for row in block_loss[: k1 - k0]:  # fixed order: never the order in which threads finished
            for value in row:
                total += value
        count += int(block_count[: k1 - k0].sum())
    return 0.5 * total / max(count, 1)


#: Entries per kernel call of :func:`run_epoch` (~1 s on one core): Ctrl-C is seen between calls.
ENTRIES_PER_CALL = 1 << 24


def strata_per_call(tiles: TrainingTiles) -> int:
    """How many strata :func:`run_epoch` hands to one kernel call: ~``ENTRIES_PER_CALL`` entries, at least one.

    Within a call blocks of consecutive strata overlap (no barrier); between calls Python regains
    control, so a ``KeyboardInterrupt`` stops the epoch within about a second, at a stratum boundary.
    The value depends on the data only, and the result does not depend on it at all.
    """
    B = tiles.n_groups
    per_stratum = max(1, tiles.n_entries // max(B, 1))
    return int(min(B, max(1, -(-ENTRIES_PER_CALL // per_stratum))))


def fit_glove(tiles: TrainingTiles, params: GloVeParams, *, x_max: float = 100.0, alpha: float = 0.75,
              learning_rate: float = 0.05, max_iter: int = 50, tol: float = 0.0, clip: float = 100.0,
              rng: np.random.Generator, n_threads: int = 1, verbose: int = 0,
              callback: Callable[[int, float, GloVeParams], bool | None] | None = None,
              first_epoch: int = 1, curve: list[float] | None = None) -> list[float]:
    """Run epochs ``first_epoch .. max_iter`` of :func:`run_epoch`; return the loss of each epoch.

    Parameters
    ----------
    tiles : TrainingTiles
    params : GloVeParams
        Updated in place.
    x_max, alpha, learning_rate, clip : float
        See :func:`run_epoch`; defaults are the study's (text2vec) values.
    max_iter : int, default=50
        Number of epochs.
    tol : float, default=0.0
        If > 0, stop after an epoch where ``loss_prev / loss - 1 < tol`` (text2vec's
        ``convergence_tol``). 0 runs all epochs.
    rng : numpy.random.Generator
    n_threads : int, default=1
    verbose : int, default=0
        >= 1 prints ``epoch 10/50  loss 0.0123  3.2 s  (about 2 min left)`` to stderr after each epoch
        (the running loss of the epoch; the time left is the mean epoch time so far times the epochs left).
    callback : callable, optional
        ``callback(epoch, loss, params)`` after each epoch (``epoch`` counts from 1); returning True stops.
    first_epoch : int, default=1
        Number of the first epoch to run, to continue a run that stopped after ``first_epoch - 1``
        epochs (with the ``rng`` state it had then).
    curve : list of float, optional
        Losses of earlier epochs; new ones are appended to it in place, so they survive an exception
        (``KeyboardInterrupt`` between kernel calls, divergence).

    Returns
    -------
    list of float
        The loss of each completed epoch.

    Raises
    ------
    TrainingDivergedError
        If an epoch's loss is NaN or infinite; ``params`` are first restored to their values at the
        start of that epoch (a copy is kept each epoch), so the returned model is the last finite one.
    TrainingInterrupted
        On Ctrl-C (a ``KeyboardInterrupt``, seen between kernel calls); it holds ``params`` as they are
        (consistent, the last epoch partial) and the curve of the completed epochs.

    Examples
    --------
    The loss falls epoch after epoch; a callback that returns True stops the run after that epoch:

    >>> import numpy as np
    >>> from genevec import _layout
    >>> tiles = _layout.tiles_from_dense_tcm(np.full((6, 6), 50.0), _layout.gene_groups(6, 2), dtype=np.float64)
    >>> rng = np.random.default_rng(0)
    >>> curve = fit_glove(tiles, init_params(6, 4, np.float64, rng), max_iter=5, rng=rng)
    >>> len(curve), bool(curve[-1] < curve[0])
    (5, True)
    >>> def stop_at_3(epoch, loss, params):
    ...     return epoch == 3
    >>> len(fit_glove(tiles, init_params(6, 4, np.float64, rng), max_iter=5, rng=rng, callback=stop_at_3))
    3
    """
    n_epochs = check_int_at_least(max_iter, "max_iter", 0, "fit_glove")   # 2.5 or True is a mistake, not 2 or 1
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"fit_glove: tol must be >= 0 (0 runs every epoch), got {tol!r}.")
    check_tiles_and_params(tiles, params, "fit_glove")
    curve = [] if curve is None else curve
    progress = Progress(verbose).loop(1, "epoch", n_epochs, first=int(first_epoch))
    try:
        for epoch in range(int(first_epoch), n_epochs + 1):
            t0 = time.perf_counter()
            safe = params.copy()
            loss = run_epoch(tiles, params, x_max=x_max, alpha=alpha, learning_rate=learning_rate, clip=clip,
                             rng=rng, n_threads=n_threads)
            elapsed = time.perf_counter() - t0
            if not np.isfinite(loss):
                params.restore(safe)
                raise TrainingDivergedError(
                    f"GloVe training diverged: the loss became {loss} in epoch {epoch} "
                    f"(learning_rate={learning_rate:g}). The parameters from the end of epoch {epoch - 1} were "
                    f"restored. Try a smaller learning rate, e.g. learning_rate={learning_rate / 10:g}.",
                    params=params, curve=curve)
            curve.append(float(loss))
            log.debug("epoch %d/%d loss %.6g %.2f s", epoch, n_epochs, loss, elapsed)
            progress.step(epoch, loss, elapsed)
            if callback is not None and callback(epoch, float(loss), params):
                log.info("callback stopped training after epoch %d", epoch)
                break
            if tol > 0 and len(curve) > 1 and curve[-2] / curve[-1] - 1 < tol:
                log.info("converged after epoch %d: relative improvement below tol=%g", epoch, tol)
                break
    except TrainingInterrupted:
        raise
    except KeyboardInterrupt:
        # each kernel call finishes its strata: the parameters are consistent, the last epoch partial
        raise TrainingInterrupted(params, curve) from None
    return curve
