"""GeneGloVe: GloVe gene embeddings from a samples x genes count matrix, as a scikit-learn estimator.

``fit`` reads as validate -> co-occurrence -> start -> solve -> finish: the counts are checked once
here (:mod:`genevec._validation`), the co-occurrence tiles come from :mod:`genevec.tcm`, the starting
point and the solver from the table in :mod:`genevec.solvers` (SGD in :mod:`genevec.glove`, the closed
form in :mod:`genevec.lowrank`), checkpoints from :mod:`genevec.checkpoints`; every query is delegated
to :class:`genevec.GeneVectors`.

Over 500 lines because of its documentation: the class docstring (every parameter and attribute, with
the measurements that chose the defaults) and the numpydoc of each public method are two thirds of it.
"""

from __future__ import annotations

import numbers
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._set_output import _get_output_config

from . import _layout
from ._progress import Progress
from ._validation import (
    check_checkpoint_options,
    check_counts,
    check_eigen_power,
    check_fitted,
    check_params,
    check_random_state,
    check_training_memory,
    effective_n_jobs,
    format_bytes,
    is_int,
    is_real,
)
from .exceptions import (
    CountsError,
    GeneNotFoundError,
    GeneVecWarning,
    TrainingDivergedError,
    TrainingInterrupted,
    TrainingInterruptedWarning,
)
from .postprocess import eigen_weighting
from .solvers import SOLVERS, Options, Start, initial_params

__all__ = ["GeneGloVe", "fit_whole"]


def fit_whole(model, X, **fit_params):
    """``model.fit(X)`` as one step of a larger computation (a tissue of many, a resample): all or nothing.

    ``GeneGloVe.fit`` keeps what a Ctrl-C'd training had learned and returns (``interrupted_``); one
    step of a larger run must not pass such a model for a finished one, so the interruption is raised
    again, as a ``KeyboardInterrupt`` naming the epoch, and the caller stops where it stands.

    Examples
    --------
    >>> from genevec import GeneGloVe, datasets
    >>> from genevec.estimator import fit_whole
    >>> X = datasets.load_demo(n_genes=50)
    >>> fit_whole(GeneGloVe(dim=4), X).interrupted_
    False
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingInterruptedWarning)      # raised instead, below
        model.fit(X, **fit_params)
    if getattr(model, "interrupted_", False):
        raise KeyboardInterrupt(f"training interrupted after epoch {model.n_iter_}; this step was not finished")
    return model


class GeneGloVe(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """GloVe gene embeddings learned from a samples x genes read-count matrix.

    Each sample is a document and each gene a term: the counts ``A`` (samples x genes) give the gene
    co-occurrence matrix ``T = AᵀA`` with quanteda's diagonal rule ``T[i, i] = Σ a (a − 1) / 2``, and
    GloVe minimises ``Σ f(T_ij) (w_i·c_j + b_i + b̃_j − log T_ij)²`` over the nonzero entries with
    ``f(x) = min(1, (x / x_max)^alpha)``.

    The defaults were chosen by measuring the vectors against known pathways with
    :func:`genevec.evaluate` on three real cohorts (docs page "How good are the vectors?"): the
    closed-form solver, with the eigenvalue weighting ``eigen_power=0.25``, gives neighbours that
    share a GO process more often than those of a Pearson correlation of log-CPM and do not change
    with the seed. The exp2vec study's configuration (text2vec's GloVe: SGD from a random start,
    dim 100, x_max 100, learning rate 0.05, 50 epochs, the vectors as trained) is
    :meth:`GeneGloVe.exp2vec`; its vectors are near chance on the same measure.

    Parameters
    ----------
    dim : int, default=100
        Length of the gene vectors.
    x_max : float, default=100.0
        Co-occurrences at or above ``x_max`` get weight 1.
    alpha : float, default=0.75
        Exponent of the weighting function, in (0, 1].
    learning_rate : float, default=0.05
        AdaGrad's initial step (``solver="sgd"``).
    max_iter : int or None, default=None
        Epochs of SGD, or sweeps of weighted ALS after the closed form for ``solver="svd"``.
        ``None``: 50 epochs for ``"sgd"`` (the study's), no sweep for ``"svd"``. ALS sweeps run only
        where some weights are below 1 or pairs are missing (on raw counts nearly every
        co-occurrence exceeds ``x_max``, so the closed form is usually the optimum already), and each
        costs about ten closed-form fits (~35 s at 25,321 genes on 2 cores, ~2 s at 5,000). On the
        one shared cohort where sweeps ran (low-depth LCL genes), 3 sweeps moved precision@10 by
        0.0002; see the docs pages "Choosing a solver" and "How good are the vectors?".
    tol : float, default=0.0
        Stop after an epoch whose relative improvement ``loss_prev / loss - 1`` is below ``tol``
        (text2vec's ``convergence_tol``); 0 runs every epoch.
    vectors : {"sum", "word"}, default="sum"
        The gene vectors: ``W + C`` (as the study and Stanford GloVe's default) or ``W``, before the
        eigenvalue weighting.
    eigen_power : float in [0, 1] or None, default=0.25
        Re-weights the directions of the vectors (:func:`genevec.postprocess.eigen_weighting`): with
        ``vectors = U S Vᵀ``, ``embedding_`` is ``U S^(2 p) Vᵀ``, so that the gene-gene Gram matrix
        has its eigenvalues raised to ``p``. 0.5 keeps the trained weighting, 0 whitens, ``None``
        skips the step (the vectors exactly as trained). The few largest directions (tissue, batch)
        otherwise dominate every cosine; see "How good are the vectors?" for the measurements.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the parameters and of the stored log co-occurrences.
    solver : {"svd", "sgd"}, default="svd"
        ``"svd"``: the closed-form low-rank fit of log T (exact when every weight is 1), refined by
        weighted ALS sweeps where weights < 1; deterministic up to rounding, seconds for 25,000 genes.
        ``"sgd"``: AdaGrad SGD as text2vec (with ``init="random"`` it reproduces the study); for
        weighted or sparse co-occurrences, where the closed form is only a start.
    init : {"centred", "random", "svd"}, default="centred"
        Starting point of SGD. ``"centred"``: vectors uniform on ``[-0.5, 0.5) / dim`` (Stanford
        GloVe) and biases at the centred row means of log T, so SGD fits the co-expression rather
        than the 20-35 units by which log T of raw counts sits above zero. ``"random"``: text2vec's
        start, vectors and biases uniform on ``[-0.5, 0.5)`` (the study; its neighbours are near
        chance and change with the seed). ``"svd"``: the closed-form solution.
    allow_non_integer : bool, default=False
        Accept counts that are not whole numbers (normalised data); refused otherwise.
    warm_start : bool, default=False
        Continue from the fitted vectors on the next ``fit`` (the genes must be the same).
    n_jobs : int, default=None
        Threads. ``None`` or ``-1`` use every core this process may use (``OMP_NUM_THREADS`` and
        cgroup limits respected); ``-k`` all but ``k − 1``; ``0`` raises. This departs from
        joblib's ``None = 1`` on purpose and safely: the result is bit-identical for every value.
    random_state : int, RandomState, Generator or None, default=None
        Seeds the initial vectors and every epoch's visiting order.
    verbose : int, default=0
        0 silent; 1 a line per phase; 2 also a line per epoch (``epoch 10/50  loss 0.0123  3.2 s``),
        all on stderr.

    Attributes
    ----------
    genes_ : ndarray of str, shape (n_genes,)
        The genes with vectors (genes without any co-occurrence are dropped, with a warning).
    embedding_ : ndarray of shape (n_genes, dim)
        The gene vectors: ``W + C`` or ``W`` (see ``vectors``) after the eigenvalue weighting (see
        ``eigen_power``). Queries, ``transform`` and saved files all use these.
    word_vectors_, context_vectors_ : ndarray of shape (n_genes, dim)
        ``W`` and ``C``.
    word_bias_, context_bias_ : ndarray of shape (n_genes,)
    loss_curve_ : list of float
        One value per epoch: the mean of ``f · (residual)²`` over the epoch's updates, as text2vec
        reports it (for ``solver="svd"``: the exact loss after the closed form and each sweep).
    loss_ : float
        The exact weighted loss of the final vectors over all nonzero co-occurrences.
    n_iter_ : int
        Epochs (or sweeps) run.
    interrupted_ : bool
        True when the last ``fit`` was interrupted (Ctrl-C) and kept what was learned up to then; it
        also warns (:class:`~genevec.exceptions.TrainingInterruptedWarning`).
    n_features_in_ : int
        Genes in the input, before dropping genes without co-occurrence.
    feature_names_in_ : ndarray of str
        The input's gene names (when it had names).
    dropped_genes_ : ndarray of str
        Genes dropped for having no co-occurrence.
    n_samples_fit_ : int
        Samples the TCM was built from (``score`` rescales by it).
    vectors_ : GeneVectors
        The query object behind ``most_similar``, ``analogy``, ``neighbors`` and ``save``.

    See Also
    --------
    genevec.dtm_to_tcm : The co-occurrence matrix on its own.
    genevec.GeneVectors : Queries on vectors loaded from a file.

    Notes
    -----
    ``transform`` departs from scikit-learn's rows-in = rows-out: it returns **one row per gene**
    (the genes of ``X`` that the model knows, all genes for ``X=None``), because genes are what the
    study clusters and maps. ``Pipeline([("glove", GeneGloVe()), ("kmeans", KMeans(15))])
    .fit_predict(X)`` therefore clusters genes, and a ``TSNE`` step maps them.

    Memory: the training data is the upper triangle of log T in ``dtype``: about
    ``2 · n_genes²`` bytes in float32 (1.3 GB for 25,321 genes), never the dense float64 TCM
    (5.1 GB). Time: one epoch is one update per nonzero ordered pair (n_genes² for a dense TCM).

    Determinism: genes are split into blocks from the data alone; each epoch visits strata of
    blocks that share no row, in an order drawn from ``random_state``; so ``embedding_`` is
    bit-identical whatever ``n_jobs`` (on one build and machine).

    References
    ----------
    Pennington, Socher and Manning (2014), GloVe: Global Vectors for Word Representation. EMNLP.
    Gemulla et al. (2011), Large-scale matrix factorization with distributed stochastic gradient
    descent. KDD.

    Examples
    --------
    >>> from genevec import GeneGloVe, datasets
    >>> counts = datasets.load_demo(n_genes=200)
    >>> model = GeneGloVe(dim=16, max_iter=5, random_state=0).fit(counts)
    >>> model.embedding_.shape[1], len(model.most_similar("TP53", topn=3))
    (16, 3)
    >>> model.transform().shape == (len(model.genes_), 16)
    True
    """

    def __init__(
        self,
        dim=100,
        *,
        solver="svd",
        eigen_power=0.25,
        x_max=100.0,
        alpha=0.75,
        learning_rate=0.05,
        max_iter=None,
        tol=0.0,
        vectors="sum",
        dtype="float32",
        init="centred",
        allow_non_integer=False,
        warm_start=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.dim = dim
        self.solver = solver
        self.eigen_power = eigen_power
        self.x_max = x_max
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.vectors = vectors
        self.dtype = dtype
        self.init = init
        self.allow_non_integer = allow_non_integer
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def exp2vec(cls, **params):
        """The exp2vec study's configuration: text2vec's GloVe, as the published R pipeline ran it.

        ``solver="sgd"`` from text2vec's random start (``init="random"``), dim 100, x_max 100,
        alpha 0.75, learning rate 0.05, 50 epochs, the vectors ``W + C`` exactly as trained
        (``eigen_power=None``). It fits the same bits as ``GeneGloVe()`` did before version 0.2,
        when these were the defaults.

        On the shared cohorts its neighbours are near chance (GO precision@10 0.159 against a
        random 0.148 and Pearson's 0.222 on the GTEx demo cohort) and change with the seed (a gene's
        top-10 neighbours from two seeds have a Jaccard index of 0.24); see the docs page "How good
        are the vectors?". Use it to reproduce the study, not for new analyses.

        Parameters
        ----------
        **params
            Any other parameter of GeneGloVe (``random_state``, ``n_jobs``, ``verbose``...), or an
            override of the study's.

        Returns
        -------
        GeneGloVe

        Examples
        --------
        >>> from genevec import GeneGloVe
        >>> model = GeneGloVe.exp2vec(random_state=0)
        >>> model.solver, model.init, model.max_iter, model.eigen_power
        ('sgd', 'random', 50, None)
        """
        study = dict(dim=100, solver="sgd", init="random", eigen_power=None, x_max=100.0, alpha=0.75,
                     learning_rate=0.05, max_iter=50, vectors="sum")
        return cls(**(study | params))

    # ------------------------------------------------------------------ validation
    #: The parameter rules, checked in this order: ``(allowed, rule)`` completes "The 'dim' parameter of
    #: GeneGloVe must be <rule>. Got 0 instead."; a function checks the value and words its own message.
    _parameter_rules = {
        "dim": (lambda v: is_int(v) and v >= 1, "an int in the range [1, inf)"),
        "x_max": (lambda v: is_real(v) and v > 0, "a float in the range (0, inf)"),
        "alpha": (lambda v: is_real(v) and 0 < v <= 1, "a float in the range (0, 1]"),
        "learning_rate": (lambda v: is_real(v) and v > 0, "a float in the range (0, inf)"),
        "max_iter": (lambda v: v is None or (is_int(v) and v >= 0),
                     "None (the solver's default) or an int in the range [0, inf)"),
        "tol": (lambda v: is_real(v) and v >= 0, "a float in the range [0, inf)"),
        "vectors": (lambda v: v in ("sum", "word"), "'sum' (W + C) or 'word' (W)"),
        "dtype": (lambda v: str(v) in ("float32", "float64") or v in (np.float32, np.float64), "'float32' or 'float64'"),
        "solver": (lambda v: v in ("sgd", "svd"), "'svd' (closed form + ALS) or 'sgd' (AdaGrad, as text2vec)"),
        "init": (lambda v: v in ("centred", "random", "svd"), "'centred', 'random' or 'svd'"),
        "eigen_power": lambda v, caller: check_eigen_power(v, caller=caller),
        "verbose": (lambda v: isinstance(v, numbers.Integral) and v >= 0, "an int >= 0"),   # True counts as 1
    }

    def _check_params(self):
        """Check every parameter; return ``(dtype, n_threads, rng)``.

        The table :attr:`_parameter_rules` first, then ``n_jobs`` and ``random_state``, which are
        resolved once (a ``RandomState`` given as ``random_state`` advances when a seed is drawn from it).
        """
        name = type(self).__name__
        check_params(self, self._parameter_rules, name=name)
        n_threads = effective_n_jobs(self.n_jobs, caller=name)
        rng = check_random_state(self.random_state, caller=name)
        return np.dtype(str(np.dtype(self.dtype))), n_threads, rng

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, *, layer=None, gene_names=None, callback=None, checkpoint=None, checkpoint_every=1,
            resume=False):
        """Build the co-occurrence matrix of ``X`` and train the gene vectors.

        Parameters
        ----------
        X : DataFrame, ndarray, scipy.sparse matrix, AnnData, ``.h5ad`` path or iterable of row blocks
            Read counts, samples in rows, genes in columns (a DataFrame's columns name the genes). A
            path, an AnnData opened with ``backed="r"`` or a list of CSR blocks is read a chunk of
            cells at a time, twice (a checking pass, then the co-occurrence), in bounded memory; see
            :mod:`genevec.stream`.
        y : None
            Ignored.
        layer : str, optional
            For AnnData and ``.h5ad`` input: the layer holding the counts (``None``: ``X``).
        gene_names : sequence of str, optional
            Names of the columns of an ndarray or sparse ``X``.
        callback : callable, optional
            ``callback(epoch, loss, model)`` after each epoch; returning True stops training, keeping
            what was learned. With ``solver="sgd"`` the model then holds that epoch's vectors; with
            ``"svd"`` the call comes after each ALS sweep (``loss`` its exact loss) and the model is
            fitted only when ``fit`` returns.
        checkpoint : str or Path, optional
            A folder where the full training state (vectors, AdaGrad sums, epoch, random state) is
            written atomically every ``checkpoint_every`` epochs (``solver="sgd"``).
        checkpoint_every : int, default=1
        resume : bool, default=False
            Continue from the checkpoint in ``checkpoint`` if there is one. Training is deterministic,
            so the result is bit-identical to an uninterrupted run.

        Returns
        -------
        self : GeneGloVe
        """
        t_start = time.perf_counter()
        dtype, n_threads, rng = self._check_params()
        check_checkpoint_options(checkpoint, checkpoint_every, resume, self.solver)
        progress = Progress(self.verbose, "[GeneGloVe] ")
        counts, Xk, genes = self._validate_counts(X, layer, gene_names)
        previous = self._warm_start_params(genes)
        tiles = self._cooccurrence(Xk, genes, dtype, n_threads, progress)
        ckpt = None if checkpoint is None else self._checkpoint(checkpoint, checkpoint_every, counts, Xk, genes)
        options = self._solver_options(dtype)
        start = self._start(tiles, previous, options, rng, n_threads, ckpt if resume else None, progress)
        solver = SOLVERS[self.solver]
        hook = self._after_iteration(callback, ckpt, options.max_iter, rng, start, genes, Xk.shape[0])
        interrupted = False
        try:
            params, curve = solver.solve(tiles, start, rng, n_threads, hook, options=options)
        except TrainingInterrupted as stop:  # Ctrl-C: consistent parameters, the last epoch partial
            params, curve, interrupted = stop.params, stop.curve, True
        except TrainingDivergedError as err:  # keep the last finite model, then say so
            self._set_fitted(genes, err.params, err.curve, len(err.curve), Xk.shape[0])
            raise
        self._finish(genes, tiles, params, curve, solver, Xk.shape[0], n_threads, interrupted)
        note = " (epoch lines show each epoch's running loss)" if self.solver == "sgd" else ""
        progress.say(1, f"done: {self.n_iter_} epoch(s), exact loss of the final vectors {self.loss_:.6g}{note}, "
                        f"{time.perf_counter() - t_start:.1f} s")
        if interrupted:
            warnings.warn(
                f"GeneGloVe: training interrupted during epoch {self.n_iter_ + 1}; the model keeps what was "
                f"learned (n_iter_={self.n_iter_}). Call fit again with warm_start=True to continue.",
                TrainingInterruptedWarning, stacklevel=2)
        return self

    def _validate_counts(self, X, layer, gene_names):
        """Check the counts once (streamed or in memory); drop the genes without co-occurrence."""
        from . import stream

        if stream.is_streamed(X, layer):
            counts = stream.check_streamed_counts(X, layer=layer, gene_names=gene_names, min_genes=2,
                                                  allow_non_integer=self.allow_non_integer, caller="GeneGloVe")
        else:
            X = stream.in_memory_anndata(X, layer, "GeneGloVe") if type(X).__name__ == "AnnData" else X
            counts = check_counts(X, gene_names=gene_names, allow_non_integer=self.allow_non_integer,
                                  min_genes=2, caller="GeneGloVe")
        self.n_features_in_ = counts.X.shape[1]
        if gene_names is not None or self._has_names(X) or getattr(counts.X, "named", False):
            self.feature_names_in_ = np.asarray(counts.genes, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        Xk, genes = self._drop_isolated(counts)
        return counts, Xk, genes

    def _cooccurrence(self, Xk, genes, dtype, n_threads, progress):
        """The training tiles of log T, after checking that they fit in memory."""
        from .tcm import build_tiles, estimate_training_bytes

        # tiles + the TCM's work buffer, then W, C, their AdaGrad sums and the per-epoch safety copy
        n = len(genes)
        check_training_memory(estimate_training_bytes(n, dtype) + 8 * n * int(self.dim) * dtype.itemsize, n, dtype)
        progress.say(1, f"co-occurrence of {n:,} genes over {Xk.shape[0]:,} samples, {n_threads} thread(s)")
        t0 = time.perf_counter()
        tiles = build_tiles(Xk, _layout.gene_groups(n), dtype, n_threads)
        progress.say(1, f"co-occurrence tiles: {format_bytes(tiles.nbytes)}, {tiles.n_entries:,} entries, "
                        f"{time.perf_counter() - t0:.1f} s")
        return tiles

    def _checkpoint(self, folder, every, counts, Xk, genes):
        """The checkpoint of this fit; a streamed input was fingerprinted by its checking pass."""
        from .checkpoints import Checkpoint, hash_counts

        data_hash = counts.scan.fingerprint if hasattr(counts, "scan") else hash_counts(Xk, genes)
        meta = {k: str(v) for k, v in self.get_params().items() if k not in ("n_jobs", "verbose", "random_state")}
        return Checkpoint(folder, every, meta | {"data": data_hash})

    def _warm_start_params(self, genes):
        """The fitted parameters to continue from (``warm_start=True`` and fitted), or None."""
        if not (self.warm_start and hasattr(self, "_params")):
            return None
        if len(self.genes_) != len(genes) or not np.array_equal(self.genes_, genes):
            raise ValueError(
                "warm_start=True continues from the fitted vectors, but X has other genes "
                f"({len(genes):,} vs {len(self.genes_):,} fitted). Fit the same genes, or set warm_start=False."
            )
        return self._params

    def _start(self, tiles, previous, options, rng, n_threads, resume_from, progress):
        """Where the solver starts: a checkpoint to resume, the fitted vectors (warm start), or ``init``."""
        if resume_from is not None and resume_from.exists():
            params, epoch, curve = resume_from.load(rng, options.dtype)
            progress.say(1, f"resumed from {resume_from.path} at epoch {epoch}")
            return Start(params, epoch, curve)
        if previous is not None:
            return Start(previous)
        if SOLVERS[self.solver].builds_start:
            return Start()
        return Start(initial_params(self.init, tiles, options, rng, n_threads, progress))

    def _solver_options(self, dtype):
        max_iter = SOLVERS[self.solver].default_max_iter if self.max_iter is None else int(self.max_iter)
        return Options(dim=int(self.dim), x_max=float(self.x_max), alpha=float(self.alpha),
                       learning_rate=float(self.learning_rate), max_iter=max_iter, tol=float(self.tol), dtype=dtype,
                       verbose=int(self.verbose))

    def _after_iteration(self, callback, ckpt, last, rng, start, genes, n_samples):
        """The solvers' ``callback(iteration, loss, params)``: write the checkpoint, then call the user's."""
        curve = list(start.curve)

        def hook(iteration, loss, params):
            curve.append(loss)
            if ckpt is not None and ckpt.due(iteration, last):
                ckpt.save(params, iteration, curve, rng)
            if callback is None:
                return False
            if params is not None:  # the model the user's callback sees holds the current vectors
                self._set_fitted(genes, params, curve, iteration, n_samples)
            return bool(callback(iteration, loss, self))

        return hook

    def _finish(self, genes, tiles, params, curve, solver, n_samples, n_threads, interrupted):
        """The fitted state, and ``loss_``: the exact loss of the final vectors."""
        from .objective import glove_loss

        self._set_fitted(genes, params, curve, solver.n_iter(curve), n_samples)
        self.interrupted_ = interrupted
        if solver.exact_curve and curve:
            self.loss_ = float(curve[-1])  # the curve is already the exact loss
        else:
            self.loss_ = float(glove_loss(tiles, params, x_max=float(self.x_max), alpha=float(self.alpha),
                                          n_threads=n_threads))
        self.vectors_.metadata["loss"] = self.loss_  # exact; an epoch's running loss is averaged as vectors move

    @staticmethod
    def _has_names(X):
        return hasattr(X, "columns") or type(X).__name__ == "AnnData"

    def _drop_isolated(self, counts):
        from .tcm import isolated_genes

        isolated = counts.scan.isolated if hasattr(counts, "scan") else isolated_genes(counts.X)
        genes = counts.genes
        self.dropped_genes_ = np.asarray(genes[isolated], dtype=object)
        if isolated.any():
            shown = ", ".join(map(str, self.dropped_genes_[:5])) + (", ..." if isolated.sum() > 5 else "")
            warnings.warn(
                f"GeneGloVe: {int(isolated.sum()):,} of {len(genes):,} genes co-occur with no gene at all "
                f"({shown}) and were dropped: they would keep their random start. "
                "Remove them first with genevec.filter_genes(X, min_samples=1) to silence this.",
                GeneVecWarning, stacklevel=4)
        keep = ~isolated
        if keep.sum() < 2:
            raise CountsError(
                f"GeneGloVe: only {int(keep.sum())} gene(s) co-occur with any gene; at least 2 are needed. "
                "Check that X is samples x genes with raw counts and that the gene filter is not too strict."
            )
        X = counts.X[:, keep] if isolated.any() else counts.X
        return X, np.asarray(genes[keep], dtype=object)

    # ------------------------------------------------------------------ fitted state
    def _set_fitted(self, genes, params, curve, n_iter, n_samples):
        from .similarity import GeneVectors

        self._params = params
        self.genes_ = np.asarray(genes, dtype=object)
        self.word_vectors_ = params.W
        self.context_vectors_ = params.C
        self.word_bias_ = params.bw
        self.context_bias_ = params.bc
        raw = params.W + params.C if self.vectors == "sum" else params.W.copy()
        self.embedding_ = raw if self.eigen_power is None else eigen_weighting(raw, float(self.eigen_power))
        self.loss_curve_ = list(curve)
        self.n_iter_ = int(n_iter)
        self.n_samples_fit_ = int(n_samples)
        self._gene_index = {g: i for i, g in enumerate(self.genes_)}
        meta = {k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v))
                for k, v in self.get_params().items() if k != "random_state" or isinstance(v, (int, type(None)))}
        meta.update(n_genes=len(self.genes_), n_samples=int(n_samples), n_iter=int(n_iter),
                    final_epoch_loss=(curve[-1] if curve else None))
        self.vectors_ = GeneVectors(self.embedding_, list(self.genes_), metadata=meta)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "embedding_")

    # ------------------------------------------------------------------ transform / score
    def _genes_of(self, X, what):
        """Indices (into genes_) of X's genes that the model knows, in X's order."""
        if X is None:
            return np.arange(len(self.genes_))
        if self._has_names(X):
            names = list(X.var_names if type(X).__name__ == "AnnData" else X.columns)
            names = [str(g) for g in names]
        else:
            shape = getattr(X, "shape", None)
            if shape is None:
                X = np.asarray(X)
                shape = X.shape
            if len(shape) != 2:
                raise ValueError(
                    f"GeneGloVe.{what}: expected a 2-d samples x genes array, got shape {tuple(shape)}. "
                    "Reshape your data, e.g. X.reshape(1, -1) for one sample."
                )
            if shape[1] != self.n_features_in_:
                raise ValueError(
                    f"GeneGloVe.{what}: X has {shape[1]} features, but GeneGloVe is expecting "
                    f"{self.n_features_in_} features as input (gene columns). Pass a DataFrame with gene columns, "
                    "or the same columns as in fit."
                )
            names = list(getattr(self, "feature_names_in_", np.arange(self.n_features_in_).astype(str)))
        idx = [self._gene_index[g] for g in names if g in self._gene_index]
        dropped = set(self.dropped_genes_)
        missing = [g for g in names if g not in self._gene_index and g not in dropped]
        if missing:
            raise GeneNotFoundError(
                f"GeneGloVe.{what}: {len(missing):,} gene(s) of X are not in the model ({', '.join(map(repr, missing[:5]))}"
                f"{', ...' if len(missing) > 5 else ''}). Pass the genes the model was fitted on (see .genes_)."
            )
        return np.asarray(idx, dtype=np.intp)

    def transform(self, X=None):
        """Return gene vectors: one row per gene of ``X`` that the model knows (all genes for None).

        This departs from scikit-learn's rows-in = rows-out on purpose: the rows are genes, so that a
        ``KMeans`` or ``TSNE`` step after ``GeneGloVe`` in a Pipeline clusters or maps genes, as the
        exp2vec study did. Genes dropped at fit (no co-occurrence) have no row.

        Parameters
        ----------
        X : DataFrame, ndarray, sparse matrix or None
            Only its genes (columns) matter; the samples are not used.

        Returns
        -------
        ndarray of shape (n_genes, dim), or a DataFrame indexed by gene after ``set_output(transform="pandas")``.
        """
        check_fitted(self, "transform")
        idx = self._genes_of(X, "transform")
        out = self.embedding_[idx]
        if _get_output_config("transform", self)["dense"] == "pandas":
            import pandas as pd

            return pd.DataFrame(out, index=pd.Index(self.genes_[idx], name="gene"),
                                columns=self.get_feature_names_out())
        return out

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then return the vectors of every gene of the model (see :meth:`transform`)."""
        return self.fit(X, y, **fit_params).transform(X)

    def set_output(self, *, transform=None):
        """Choose the container of ``transform``: ``"pandas"`` gives a DataFrame indexed by gene.

        Parameters
        ----------
        transform : {"default", "pandas"} or None

        Returns
        -------
        self : GeneGloVe
        """
        if transform is None:
            return self
        if transform not in ("default", "pandas"):
            raise ValueError(f"GeneGloVe.set_output: transform must be 'default' or 'pandas', got {transform!r}.")
        self._sklearn_output_config = {"transform": transform}
        return self

    def get_feature_names_out(self, input_features=None):
        """Names of the vector dimensions: ``genеglove0``, ``geneglove1``, ...

        Returns
        -------
        ndarray of str, shape (dim,)
        """
        check_fitted(self, "get_feature_names_out")
        return np.asarray([f"geneglove{k}" for k in range(self.embedding_.shape[1])], dtype=object)

    def score(self, X, y=None):
        """Negative mean weighted GloVe loss of the fitted vectors on the co-occurrences of samples ``X``.

        ``log T`` of ``X`` is shifted by ``log(n_samples_fit_ / n_samples(X))`` (and ``f`` evaluated on
        the rescaled counts) so that held-out samples are comparable with the training ones: a TCM is
        a sum over samples. Higher is better, so ``GridSearchCV(GeneGloVe(), {"dim": [50, 100]}, cv=3)``
        picks the dimension that generalises to unseen samples.

        Parameters
        ----------
        X : DataFrame, ndarray or sparse matrix of shape (n_samples, n_genes)
            Counts over the genes of the fit (by name for a DataFrame, by position otherwise).

        Returns
        -------
        float
        """
        from .objective import glove_loss
        from .tcm import build_tiles

        check_fitted(self, "score")
        idx = self._genes_of(X, "score")
        if len(idx) != len(self.genes_):
            raise ValueError(
                f"GeneGloVe.score: X holds {len(idx):,} of the model's {len(self.genes_):,} genes; it needs all of "
                "them (see .genes_), as the loss is summed over every pair of the model's genes."
            )
        dtype = self._params.dtype                      # the fit's, whatever set_params has changed since
        n_threads = effective_n_jobs(self.n_jobs, caller="GeneGloVe.score")   # random_state is not read
        gene_names = None if self._has_names(X) else getattr(self, "feature_names_in_", None)
        counts = check_counts(X, gene_names=gene_names, allow_non_integer=self.allow_non_integer,
                              caller="GeneGloVe.score")
        column = {g: k for k, g in enumerate(counts.genes)}
        Xs = counts.X[:, np.asarray([column[g] for g in self.genes_], dtype=np.intp)]
        tiles = build_tiles(Xs, _layout.gene_groups(len(self.genes_)), dtype, n_threads)
        shift = float(np.log(self.n_samples_fit_ / Xs.shape[0]))
        loss = glove_loss(tiles, self._params, x_max=float(self.x_max), alpha=float(self.alpha),
                          log_shift=shift, n_threads=n_threads)
        return -float(loss)

    # ------------------------------------------------------------------ queries
    def most_similar(self, positive=None, negative=None, topn=10):
        """Genes closest by cosine to the mean of ``positive`` minus ``negative`` (gensim's semantics).

        See :meth:`genevec.GeneVectors.most_similar`.
        """
        check_fitted(self, "most_similar")
        return self.vectors_.most_similar(positive, negative, topn=topn)

    def similarity(self, a, b):
        """Cosine similarity of two genes; see :meth:`genevec.GeneVectors.similarity`."""
        check_fitted(self, "similarity")
        return self.vectors_.similarity(a, b)

    def analogy(self, a, b, c, topn=5, *, mode="gensim"):
        """``a − b + c``: "a is to b as ? is to c"; see :meth:`genevec.GeneVectors.analogy`."""
        check_fitted(self, "analogy")
        return self.vectors_.analogy(a, b, c, topn=topn, mode=mode)

    def neighbors(self, genes, topn=5):
        """The study's table: one row per query gene, its ``topn`` nearest genes as columns n1..n{topn}."""
        check_fitted(self, "neighbors")
        return self.vectors_.neighbors(genes, topn=topn)

    def save(self, path):
        """Write the gene vectors in word2vec text format (+ a JSON of the parameters); see GeneVectors.save."""
        check_fitted(self, "save")
        return self.vectors_.save(path)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_gene_index", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "genes_" in state:
            self._gene_index = {g: i for i, g in enumerate(self.genes_)}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        tags.input_tags.positive_only = True
        tags.target_tags.required = False
        tags.non_deterministic = False
        return tags

