"""How stable are a gene's neighbours? Refit on resampled data and count how often each neighbour returns.

The exp2vec study named the stability of gene embeddings an open problem: a gene's nearest genes
can change when the samples or the seed change, and a single fit cannot tell a robust neighbour
from a lucky one. :func:`stability` refits an estimator on bootstrap resamples of the samples (on
disjoint random halves of them, or with other seeds only) and reports, per gene:

- the **mean Jaccard index** of its top-``k`` neighbour sets between every two fits (1: the same
  neighbours every time; about ``k / n_genes``: unrelated);
- the **support** of each neighbour: the fraction of fits in which it is among the gene's top
  ``k``. ``GeneVectors.with_support`` attaches it to vectors, so that ``neighbor_table``,
  ``most_similar(..., with_support=True)``, the command line and the app show it;
- **consensus vectors**: gene vectors whose cosine is the mean cosine over the fits (each fit's
  unit vectors side by side, compressed to ``dim`` dimensions by an SVD), a bagged embedding.

Examples
--------
>>> from genevec import GeneGloVe, datasets, stability
>>> counts = datasets.load_demo(n_genes=300)
>>> stab = stability(counts, GeneGloVe(dim=10), n_resamples=3, k=5)
>>> stab.n_fits, len(stab.genes), 0.0 <= float(stab.jaccard.mean()) <= 1.0
(3, 300, True)
>>> list(stab.consensus("EGFR", topn=2).columns)
['gene', 'support', 'cosine']
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # imported where used: `import genevec` stays light (the package imports this module)
    import pandas as pd
    import scipy.sparse as sp

    from .similarity import GeneVectors

log = logging.getLogger(__name__)

__all__ = ["stability", "Stability", "NeighbourSupport"]

_MODES = ("bootstrap", "halves", "seed")


@dataclass(frozen=True, eq=False)
class NeighbourSupport:
    """How often each neighbour of each gene was among its top ``k`` across ``n_fits`` refits.

    Attributes
    ----------
    genes : list of str
        Row and column order of ``matrix``.
    matrix : scipy.sparse.csr_matrix of float64, shape (n_genes, n_genes)
        ``matrix[i, j]``: the fraction of fits (among those that kept both genes) in which gene
        ``j`` was among gene ``i``'s top ``k``; absent entries are 0.
    k : int
    n_fits : int
    mode : {"bootstrap", "halves", "seed"}
    """

    genes: list
    matrix: sp.csr_matrix
    k: int
    n_fits: int
    mode: str

    def __post_init__(self):
        object.__setattr__(self, "_index", {g: i for i, g in enumerate(self.genes)})

    def of(self, gene: str, neighbours: Sequence[str]) -> np.ndarray:
        """Support of each of ``neighbours`` for ``gene``: NaN where either gene was not resampled."""
        out = np.full(len(neighbours), np.nan)
        i = self._index.get(gene)
        if i is None:
            return out
        row = self.matrix.getrow(i)
        values = dict(zip(row.indices.tolist(), row.data.tolist()))
        for t, h in enumerate(neighbours):
            j = self._index.get(h)
            if j is not None:
                out[t] = values.get(j, 0.0)
        return out

    def to_json(self) -> dict:
        """A JSON-ready dict (the vectors' sidecar stores it): each gene's supported neighbours, best first."""
        rows = {}
        M = self.matrix
        for i, g in enumerate(self.genes):
            lo, hi = M.indptr[i], M.indptr[i + 1]
            order = np.lexsort((M.indices[lo:hi], -M.data[lo:hi]))
            rows[g] = [[self.genes[M.indices[lo + t]], round(float(M.data[lo + t]), 6)] for t in order]
        return {"k": self.k, "n_fits": self.n_fits, "mode": self.mode, "neighbours": rows}

    @classmethod
    def from_json(cls, data: Mapping) -> NeighbourSupport:
        """The inverse of :meth:`to_json`."""
        import scipy.sparse as sp

        genes = list(data["neighbours"])
        index = {g: i for i, g in enumerate(genes)}
        rows, cols, vals = [], [], []
        for g, pairs in data["neighbours"].items():
            for h, s in pairs:
                if h in index:
                    rows.append(index[g])
                    cols.append(index[h])
                    vals.append(float(s))
        M = sp.csr_matrix((vals, (rows, cols)), shape=(len(genes), len(genes)))
        return cls(genes, M, int(data["k"]), int(data["n_fits"]), str(data.get("mode", "bootstrap")))


@dataclass(frozen=True, eq=False)
class Stability:
    """What :func:`stability` returns.

    Attributes
    ----------
    genes : list of str
        Genes kept by at least one fit.
    jaccard : pandas.Series
        Per gene, the mean Jaccard index of its top-``k`` neighbour sets over every two fits that
        both kept it (``mode="halves"``: over the two fits of each split), NaN for a gene kept by
        fewer than two fits.
    support : NeighbourSupport
    consensus_vectors : GeneVectors
        Vectors whose cosine is the mean cosine over the fits (a bagged embedding).
    k, n_fits : int
    mode : {"bootstrap", "halves", "seed"}
    seconds : float
        Wall time of all fits.
    """

    genes: list
    jaccard: pd.Series
    support: NeighbourSupport
    consensus_vectors: GeneVectors
    k: int
    n_fits: int
    mode: str
    seconds: float

    def consensus(self, gene: str, topn: int | None = None) -> pd.DataFrame:
        """The genes that were among ``gene``'s top ``k`` in any fit, by support, then mean cosine.

        Returns
        -------
        DataFrame with columns ``gene``, ``support`` (fraction of fits) and ``cosine`` (mean over
        the fits, from the consensus vectors).
        """
        import pandas as pd

        cv = self.consensus_vectors
        i = self.support._index.get(gene) if isinstance(gene, str) else None
        if i is None:
            cv._index(gene)  # raises GeneNotFoundError with close matches
        row = self.support.matrix.getrow(i)
        names = [self.genes[j] for j in row.indices]
        cos = np.array([cv.similarity(gene, h) for h in names])
        order = np.lexsort((row.indices, -cos, -row.data))
        table = pd.DataFrame({"gene": [names[t] for t in order], "support": row.data[order], "cosine": cos[order]})
        return table if topn is None else table.head(int(topn))

    def table(self) -> pd.DataFrame:
        """One row per gene: its Jaccard and its ``k`` best-supported neighbours with their support."""
        import pandas as pd

        M = self.support.matrix
        names = np.asarray(self.genes, dtype=object)
        cols: dict[str, list] = {"jaccard": list(self.jaccard.to_numpy())}
        best_genes = np.full((len(self.genes), self.k), "", dtype=object)
        best_support = np.full((len(self.genes), self.k), np.nan)
        for i in range(len(self.genes)):
            lo, hi = M.indptr[i], M.indptr[i + 1]
            order = np.lexsort((M.indices[lo:hi], -M.data[lo:hi]))[: self.k]
            best_genes[i, : len(order)] = names[M.indices[lo:hi][order]]
            best_support[i, : len(order)] = M.data[lo:hi][order]
        for t in range(self.k):
            cols[f"n{t + 1}"] = list(best_genes[:, t])
            cols[f"support{t + 1}"] = list(best_support[:, t])
        return pd.DataFrame(cols, index=pd.Index(self.genes, name="gene"))

    def summary(self) -> str:
        """One plain-language paragraph on how stable the neighbours are."""
        j = self.jaccard.dropna()
        what = {"bootstrap": "bootstrap resamples of the samples", "halves": "disjoint random halves of the samples",
                "seed": "seeds on the same data"}[self.mode]
        return (
            f"{self.n_fits} fits on {what}, {len(self.genes):,} genes: a gene's top-{self.k} neighbours agree "
            f"between two fits with a mean Jaccard index of {j.mean():.2f} (median {j.median():.2f}; "
            f"1 = always the same genes). {float((j >= 0.5).mean()):.0%} of genes have 0.5 or more. "
            f"{self.seconds:.1f} s."
        )

    def __repr__(self) -> str:
        return f"Stability({self.n_fits} {self.mode} fits, {len(self.genes):,} genes, k={self.k})\n{self.summary()}"


def _pairwise_jaccard(neighbours: list, present: np.ndarray, k: int, halves: bool = False) -> np.ndarray:
    """Mean Jaccard of each gene's neighbour sets over every two fits that both kept it (or fits 2i and 2i + 1)."""
    n_fits, n = present.shape
    total = np.zeros(n)
    pairs = np.zeros(n)
    which = ([(a, a + 1) for a in range(0, n_fits - 1, 2)] if halves
             else [(a, b) for a in range(n_fits) for b in range(a + 1, n_fits)])
    for a, b in which:
        both = present[a] & present[b]
        A, B = neighbours[a][both], neighbours[b][both]
        inter = ((A[:, :, None] == B[:, None, :]) & (A[:, :, None] >= 0)).any(axis=2).sum(axis=1)
        size = (A >= 0).sum(axis=1) + (B >= 0).sum(axis=1) - inter
        total[both] += inter / np.maximum(size, 1)
        pairs[both] += 1
    with np.errstate(invalid="ignore"):
        return np.where(pairs > 0, total / np.maximum(pairs, 1), np.nan)


def stability(X: Any, estimator: Any = None, *, n_resamples: int = 20, k: int = 10, mode: str = "bootstrap",
              random_state: Any = 0, n_jobs: int | None = None, verbose: int = 0) -> Stability:
    """Refit on resamples and measure how often each gene's neighbours come back.

    Parameters
    ----------
    X : DataFrame or AnnData, shape (n_samples, n_genes)
        Read counts with gene names, as for :meth:`GeneGloVe.fit`.
    estimator : GeneGloVe, optional
        The model to refit (cloned for each fit; its ``random_state`` is replaced by one drawn from
        ``random_state``). Default: ``GeneGloVe()``.
    n_resamples : int, default=20
        Number of fits (at least 2; even for ``mode="halves"``).
    k : int, default=10
        Neighbours per gene.
    mode : {"bootstrap", "halves", "seed"}, default="bootstrap"
        ``"bootstrap"``: each fit sees ``n_samples`` samples drawn with replacement, and its own
        seed. ``"halves"``: fits ``2i`` and ``2i + 1`` see the two halves of a random split of the
        samples, and the Jaccard compares each such pair only, so it measures how much a gene's
        neighbours agree between independent sets of ``n_samples / 2`` samples (two bootstrap
        resamples share about 40% of their samples, so their agreement is higher than that of
        independent samples). ``"seed"``: every fit sees all samples; only the seed changes.
    random_state : int, Generator or None, default=0
        Draws the resamples and the fits' seeds.
    n_jobs : int, optional
        Threads of each fit and of the neighbour searches (the result is the same for every value;
        None: every core, as ``GeneGloVe``).
    verbose : int, default=0
        1: a line per fit on stderr.

    Returns
    -------
    Stability

    Notes
    -----
    Cost: ``n_resamples`` fits plus, per fit, one top-``k`` search over all genes
    (``n_genes² · dim`` flops). With the default closed-form estimator: about 20 s for 20
    resamples of 5,000 genes on 2 cores; see ``benchmarks/RESULTS.md`` for 25,321 genes. Memory:
    the consensus block, ``n_genes x (n_resamples · dim)`` float32 (40 MB for 5,000 genes).

    Examples
    --------
    >>> from genevec import GeneGloVe, datasets, stability
    >>> counts = datasets.load_demo(n_genes=200)
    >>> stab = stability(counts, GeneGloVe(), n_resamples=2, k=3, mode="seed")
    >>> stab.mode, bool(stab.jaccard.mean() > 0.95)   # the closed form hardly depends on the seed
    ('seed', True)
    """
    import warnings

    import pandas as pd
    import scipy.sparse as sp
    from sklearn.base import clone
    from ._progress import Progress
    from ._threads import one_blas_thread
    from ._validation import check_int_at_least, check_random_state, effective_n_jobs
    from .evaluate import neighbour_indices
    from .similarity import GeneVectors

    n_resamples = check_int_at_least(n_resamples, "n_resamples", 2, "stability")
    k = check_int_at_least(k, "k", 1, "stability")
    if mode not in _MODES:
        raise ValueError(f"stability: mode must be 'bootstrap' (resample the samples), 'halves' (disjoint random "
                         f"halves) or 'seed' (only the seed changes), got {mode!r}.")
    if mode == "halves" and n_resamples % 2:
        raise ValueError(f"stability: mode='halves' fits the two halves of each split, so n_resamples must be even, "
                         f"got {n_resamples}.")
    rng = check_random_state(random_state, caller="stability")
    n_threads = effective_n_jobs(n_jobs, caller="stability")
    from .estimator import GeneGloVe, fit_whole

    if estimator is None:
        estimator = GeneGloVe()
    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise TypeError(f"stability: estimator must be a GeneGloVe (or a scikit-learn estimator like it), got "
                        f"{type(estimator).__name__}.")
    if not (hasattr(X, "columns") or type(X).__name__ == "AnnData"):
        raise TypeError(
            f"stability: X must be a samples x genes DataFrame (or AnnData) with gene names, got "
            f"{type(X).__name__}. Read counts with genevec.read_counts(path)."
        )
    genes = [str(g) for g in (X.columns if hasattr(X, "columns") else X.var_names)]
    if len(genes) <= k:
        raise ValueError(f"stability: k={k} neighbours need more than {k} genes; X has {len(genes)}.")
    n_samples = X.shape[0]
    index = {g: i for i, g in enumerate(genes)}
    n = len(genes)

    t_start = time.perf_counter()
    neighbours, present, blocks = [], [], []
    dim = None
    if mode == "halves" and n_samples < 4:
        raise ValueError(f"stability: mode='halves' needs at least 4 samples (2 per half), X has {n_samples}.")
    for fit in range(n_resamples):
        t0 = time.perf_counter()
        if mode == "bootstrap":
            rows = rng.integers(0, n_samples, size=n_samples)
        elif mode == "halves":
            if fit % 2 == 0:
                perm = rng.permutation(n_samples)
            rows = np.sort(perm[: n_samples // 2] if fit % 2 == 0 else perm[n_samples // 2:])
        else:
            rows = np.arange(n_samples)
        seed = int(rng.integers(2**31))
        model = clone(estimator).set_params(random_state=seed)
        if n_jobs is not None and "n_jobs" in model.get_params():
            model.set_params(n_jobs=n_jobs)
        if hasattr(X, "iloc"):
            sample = X.iloc[rows].set_axis([f"resample{t}" for t in range(len(rows))], axis=0)
        else:  # AnnData: a copy whose repeated samples get their own names
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Observation names are not unique")
                sample = X[rows].copy()
                sample.obs_names = [f"resample{t}" for t in range(len(rows))]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*co-occur with no gene at all.*")  # reported below
            fit_whole(model, sample)
        vectors = model.vectors_
        rows_of = np.array([index[g] for g in vectors.genes], dtype=np.int64)
        unit = np.asarray(vectors.get_normed_vectors(), dtype=np.float32)
        dim = unit.shape[1]
        local = neighbour_indices(unit, k, n_threads=n_threads)
        nb = np.full((n, k), -1, dtype=np.int64)
        nb[rows_of, : local.shape[1]] = rows_of[local]
        mask = np.zeros(n, dtype=bool)
        mask[rows_of] = True
        block = np.zeros((n, dim), dtype=np.float32)
        block[rows_of] = unit
        neighbours.append(nb)
        present.append(mask)
        blocks.append(block)
        Progress(verbose, "[stability] ").say(1, f"fit {fit + 1}/{n_resamples}: {len(rows_of):,} genes, "
                                                 f"{time.perf_counter() - t0:.1f} s")

    present_arr = np.vstack(present)
    kept = present_arr.any(axis=0)
    if not kept.all():
        log.info("stability: %d genes were dropped by every fit", int((~kept).sum()))
    jaccard = _pairwise_jaccard(neighbours, present_arr, k, halves=mode == "halves")

    # support: how often j was in i's top k, over the fits that kept i (duplicates add up in the CSR)
    r = np.tile(np.repeat(np.arange(n), k), n_resamples)
    c = np.concatenate([nb.ravel() for nb in neighbours])
    ok = c >= 0
    counts = sp.csr_matrix((np.ones(int(ok.sum())), (r[ok], c[ok])), shape=(n, n))
    n_present = present_arr.sum(axis=0).astype(np.float64)
    support = sp.diags(1.0 / np.maximum(n_present, 1)) @ counts

    # consensus: the fits' unit vectors side by side; their rows' dot products average the cosines
    with one_blas_thread():
        stacked = np.hstack(blocks).astype(np.float64)
        stacked /= np.sqrt(np.maximum(n_present, 1))[:, None]
        gram = stacked.T @ stacked
        lam, V = np.linalg.eigh(gram)
        top = np.argsort(-lam, kind="stable")[:dim]
        consensus = (stacked @ V[:, top]).astype(np.float32)

    keep = np.flatnonzero(kept)
    kept_genes = [genes[i] for i in keep]
    sub = support.tocsr()[keep][:, keep].tocsr()
    sub.eliminate_zeros()
    sub.sort_indices()
    result = Stability(
        genes=kept_genes,
        jaccard=pd.Series(jaccard[keep], index=pd.Index(kept_genes, name="gene"), name="jaccard"),
        support=NeighbourSupport(kept_genes, sub, k, n_resamples, mode),
        consensus_vectors=GeneVectors(consensus[keep], kept_genes,
                                      metadata={"consensus_of": n_resamples, "mode": mode, "k": k}),
        k=k, n_fits=n_resamples, mode=mode, seconds=time.perf_counter() - t_start,
    )
    log.info("stability: %s", result.summary())
    return result
