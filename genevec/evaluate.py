"""How much biology do gene vectors carry? Pathway recovery against known gene sets.

:func:`evaluate` scores gene vectors against gene-set collections (GO biological processes and
Reactome ship with genevec, any GMT file or dict works too) with two numbers per collection:

- **neighbour precision@k**: for every annotated gene, the fraction of its ``k`` nearest annotated
  genes (by cosine) that share at least one set with it, averaged over the genes; beside it the
  exact expectation for random neighbours (each gene's share of partners among the other annotated
  genes, averaged);
- **pathway-pair AUROC**: how well the cosine separates pairs of annotated genes that share a set
  from pairs that share none (0.5 is chance, 1 perfect), over every pair or a fixed-seed sample.

Given the counts the vectors came from, the same numbers are computed for the simplest
alternative, the Pearson correlation of log1p(CPM) over the same genes, so every report says
whether the embedding beats it.

Examples
--------
>>> import numpy as np
>>> from genevec.evaluate import evaluate
>>> genes = ["A1", "A2", "A3", "B1", "B2", "B3"]
>>> planted = np.repeat(np.eye(2), 3, axis=0)          # A genes on one axis, B genes on the other
>>> report = evaluate((genes, planted), gene_sets={"A": genes[:3], "B": genes[3:]}, k=2, min_set_size=2)
>>> float(report.table.loc[("custom", "vectors"), "auroc"])
1.0
>>> float(report.table.loc[("custom", "vectors"), "precision"])
1.0
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .genesets import GeneSets, collection_title, load_gene_sets, membership
from .postprocess import unit_rows

if TYPE_CHECKING:  # imported where used: `import genevec` stays light (the package imports this module)
    import pandas as pd
    import scipy.sparse as sp

log = logging.getLogger(__name__)

__all__ = ["evaluate", "QualityReport", "pearson_vectors", "neighbour_indices"]

#: Rows of the query block in the chunked cosine products (memory: ROWS x n_genes floats).
ROWS = 1024


# ---------------------------------------------------------------------------------------- inputs
def _as_vectors(vectors: Any, caller: str) -> tuple[list[str], np.ndarray]:
    """(genes, matrix) from a GeneVectors, a fitted GeneGloVe, a DataFrame indexed by gene, or a pair."""
    import pandas as pd

    from .similarity import GeneVectors

    if isinstance(vectors, GeneVectors):
        return list(vectors.genes), vectors.get_normed_vectors()
    if hasattr(vectors, "vectors_") and isinstance(getattr(vectors, "vectors_"), GeneVectors):
        return _as_vectors(vectors.vectors_, caller)
    if type(vectors).__name__ == "GeneGloVe":
        raise ValueError(f"{caller}: the GeneGloVe is not fitted yet; call fit(X) first.")
    if isinstance(vectors, pd.DataFrame):
        return [str(g) for g in vectors.index], vectors.to_numpy(dtype=np.float64)
    if isinstance(vectors, tuple) and len(vectors) == 2:
        genes, matrix = vectors
        gv = GeneVectors(np.asarray(matrix), list(genes))
        return list(gv.genes), gv.get_normed_vectors()
    raise TypeError(
        f"{caller}: vectors must be a GeneVectors, a fitted GeneGloVe, a DataFrame indexed by gene, or a "
        f"(genes, matrix) pair; got {type(vectors).__name__}. Load a file with genevec.load_vectors(path)."
    )


def pearson_vectors(counts: Any, genes: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Vectors whose cosine is the Pearson correlation of log1p(CPM): the baseline of :func:`evaluate`.

    CPM uses each sample's total over all genes of ``counts``; each gene's log1p(CPM) profile is
    centred and scaled to unit length, so the dot product of two rows is their Pearson r. A gene
    constant across samples gets a zero vector (cosine 0 with everything).

    Parameters
    ----------
    counts : DataFrame or AnnData, shape (n_samples, n_genes)
        Read counts with gene names.
    genes : sequence of str, optional
        Keep these genes (those of ``counts`` among them, in this order). Default: every gene.

    Returns
    -------
    genes : list of str
    vectors : ndarray of shape (n_genes, n_samples)

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"A": [10, 50, 90], "B": [20, 100, 180], "C": [90, 50, 10]})
    >>> genes, V = pearson_vectors(X)
    >>> V.shape, round(float(V[0] @ V[1]), 3)     # A and B have the same CPM in every sample
    ((3, 3), 1.0)
    """
    import scipy.sparse as sp

    from ._validation import check_counts

    c = check_counts(counts, allow_non_integer=True, caller="pearson_vectors")
    X = c.X.toarray() if sp.issparse(c.X) else np.asarray(c.X, dtype=np.float64)
    names = [str(g) for g in c.genes]
    lib = X.sum(axis=1, keepdims=True)
    cpm = X / np.where(lib > 0, lib, 1.0) * 1e6
    if genes is not None:
        where = {g: j for j, g in enumerate(names)}
        cols = [where[g] for g in genes if g in where]
        names = [names[j] for j in cols]
        cpm = cpm[:, cols]
    L = np.log1p(cpm).T
    L -= L.mean(axis=1, keepdims=True)
    return names, unit_rows(L)


def _collections(gene_sets: Any) -> list[GeneSets]:
    if isinstance(gene_sets, (list, tuple)):
        if not gene_sets:
            raise ValueError("evaluate: gene_sets is an empty list; pass at least one collection, e.g. 'go_bp'.")
        out = [load_gene_sets(s) for s in gene_sets]
    else:
        out = [load_gene_sets(gene_sets)]
    names = [g.name for g in out]
    for i, g in enumerate(out):  # make labels unique: custom, custom_2, ...
        if names.count(g.name) > 1 and names.index(g.name) != i:
            out[i] = GeneSets(f"{g.name}_{i + 1}", g.sets, g.descriptions)
    return out


# ---------------------------------------------------------------------------------------- metrics
def _top_k(sims: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest entries of each row, largest first, ties by column index.

    Exact, and cheaper than a partition of every row: the ``k``-th largest of the row's maxima over
    groups of columns is a lower bound of its ``k``-th largest value (those maxima are ``k`` distinct
    entries), so only the entries at or above it (a few dozen of thousands) are sorted. If any row is
    left with fewer than ``k`` candidates (NaN), the block takes the full partition instead.
    """
    rows, n = sims.shape
    if k >= n:
        return np.argsort(-sims, axis=1, kind="stable")
    width = max(16, n // (4 * k))                     # about 4 k groups of columns per row
    groups = -(-n // width)
    if groups <= k or rows == 0:
        return _top_k_partition(sims, k)
    full = (n // width) * width
    best = sims[:, :full].reshape(rows, n // width, width).max(axis=2)
    if full < n:
        best = np.concatenate([best, sims[:, full:].max(axis=1, keepdims=True)], axis=1)
    bound = np.partition(best, groups - k, axis=1)[:, groups - k]
    r, c = np.nonzero(sims >= bound[:, None])         # row-major: by row, then column
    per_row = np.bincount(r, minlength=rows)
    if np.isnan(bound).any() or per_row.min() < k:
        return _top_k_partition(sims, k)
    order = np.lexsort((c, -sims[r, c], r))           # by row, then value (largest first), then column
    start = np.concatenate(([0], np.cumsum(per_row)[:-1]))
    return c[order][start[:, None] + np.arange(k)]


def _top_k_partition(sims: np.ndarray, k: int) -> np.ndarray:
    """:func:`_top_k` by a partition of every row (the reference the grouped bound must match)."""
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    cand = np.take_along_axis(sims, part, axis=1)
    out = np.take_along_axis(part, np.lexsort((part, -cand), axis=1), axis=1)
    # where the k-th value ties with a value left out, the partition chose among the tied arbitrarily
    kth = np.take_along_axis(sims, out[:, -1:], axis=1)
    tied = np.flatnonzero((sims >= kth).sum(axis=1) > k)
    if tied.size:
        out[tied] = np.argsort(-sims[tied], axis=1, kind="stable")[:, :k]
    return out


def neighbour_indices(U: np.ndarray, k: int, *, n_threads: int = 1) -> np.ndarray:
    """The ``k`` nearest rows of every row of ``U`` by dot product (cosine for unit rows), self excluded.

    Row blocks of ``ROWS`` are independent; with ``n_threads > 1`` they run in a thread pool, each
    product on one BLAS thread, so the result is the same for any ``n_threads``.

    Returns
    -------
    ndarray of int64, shape (n, min(k, n - 1)), nearest first.

    Examples
    --------
    >>> import numpy as np
    >>> neighbour_indices(np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]), 1).ravel().tolist()
    [1, 0, 1]
    """
    from concurrent.futures import ThreadPoolExecutor

    from ._threads import one_blas_thread

    n = U.shape[0]
    k = min(int(k), n - 1)
    out = np.empty((n, k), dtype=np.int64)

    def block(start: int) -> None:
        stop = min(n, start + ROWS)
        sims = U[start:stop] @ U.T
        sims[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        out[start:stop] = _top_k(sims, k)

    with one_blas_thread():
        if n_threads > 1 and n > ROWS:
            with ThreadPoolExecutor(max_workers=int(n_threads)) as pool:
                list(pool.map(block, range(0, n, ROWS)))
        else:
            for start in range(0, n, ROWS):
                block(start)
    return out


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties); NaN without both classes."""
    from scipy.stats import rankdata

    labels = np.asarray(labels, dtype=bool)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _pairs(n: int, max_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """Every pair i < j of n items, or ``max_pairs`` drawn uniformly (with replacement) if there are more.

    The pairs come sorted by ``i``, then ``j``.
    """
    total = n * (n - 1) // 2
    if total <= max_pairs:
        I, J = np.triu_indices(n, 1)
        return I.astype(np.int64), J.astype(np.int64), False
    I = rng.integers(0, n, size=max_pairs)
    J = rng.integers(0, n - 1, size=max_pairs)
    J = J + (J >= I)  # uniform over j != i
    lo, hi = np.minimum(I, J), np.maximum(I, J)
    order = np.lexsort((hi, lo))
    return lo[order], hi[order], True


def _scores(U: np.ndarray, M: "sp.csr_matrix", k: int, I: np.ndarray, J: np.ndarray) -> dict:
    """precision@k, its random expectation and the pair AUROC of unit vectors ``U`` (one row per gene of ``M``).

    One pass over row blocks of the cosines ``U Uᵀ`` and of the "shares a set" matrix ``M Mᵀ > 0``,
    neither ever held whole: each block gives its genes' neighbours and their hits, its genes'
    partner counts, and the cosines and labels of the pairs whose first gene it holds (``I`` sorted).
    """
    n = U.shape[0]
    k = min(k, n - 1)
    hits = np.empty((n, k), dtype=bool)
    partners = np.empty(n, dtype=np.int64)
    share = np.empty(len(I), dtype=bool)
    cos = np.empty(len(I))
    MT = M.T.tocsr()
    for start in range(0, n, ROWS):
        stop = min(n, start + ROWS)
        diag = (np.arange(stop - start), np.arange(start, stop))
        sims = U[start:stop] @ U.T
        S = (M[start:stop] @ MT).toarray() > 0
        S[diag] = False
        lo, hi = np.searchsorted(I, [start, stop])
        cos[lo:hi] = sims[I[lo:hi] - start, J[lo:hi]]
        share[lo:hi] = S[I[lo:hi] - start, J[lo:hi]]
        sims[diag] = -np.inf
        hits[start:stop] = np.take_along_axis(S, _top_k(sims, k), axis=1)
        partners[start:stop] = S.sum(axis=1)
    return {
        "precision": float(hits.mean()),
        "random_precision": float((partners / (n - 1)).mean()),
        "auroc": auroc(cos, share),
    }


@dataclass(eq=False)
class QualityReport:
    """What :func:`evaluate` returns: one row per gene-set collection and method.

    Attributes
    ----------
    table : DataFrame
        Indexed by ``(collection, method)``, ``method`` being ``"vectors"`` or ``"pearson"``; columns
        ``precision`` (neighbour precision@k), ``random_precision`` (its exact expectation for
        random neighbours), ``auroc`` (pathway pairs), ``n_genes`` (genes embedded), ``n_annotated``
        (of those, genes in a kept set), ``n_sets`` (sets kept), ``n_pairs`` (pairs scored) and
        ``sampled`` (True when the pairs are a fixed-seed sample).
    k : int
    """

    table: pd.DataFrame
    k: int
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The report as plain Python (JSON-ready): ``{"k": k, "collections": {name: {method: {...}}}}``."""
        out: dict = {"k": self.k, "settings": dict(self.settings), "collections": {}}
        for (coll, method), row in self.table.iterrows():
            values = {c: (v.item() if hasattr(v, "item") else v) for c, v in row.items()}
            values = {c: (None if isinstance(v, float) and math.isnan(v) else v) for c, v in values.items()}
            out["collections"].setdefault(coll, {})[method] = values
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> "QualityReport":
        """Rebuild a report saved with :meth:`to_dict` (e.g. from a vectors file's metadata)."""
        import pandas as pd

        rows = {(coll, method): values for coll, methods in data["collections"].items()
                for method, values in methods.items()}
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.index = pd.MultiIndex.from_tuples(table.index, names=["collection", "method"])
        return cls(table, int(data["k"]), dict(data.get("settings", {})))

    def verdicts(self) -> list[str]:
        """One plain-language sentence per collection.

        For example: "GO biological processes: a gene's 10 nearest genes share one with it 28% of the
        time (random 17%, Pearson correlation 26%): better than Pearson by 2.0 points, 1.60x random."

        Returns
        -------
        list of str
        """
        lines = []
        for coll in self.table.index.get_level_values(0).unique():
            rows = self.table.loc[coll]
            v = rows.loc["vectors"]
            title, one = collection_title(coll), collection_title(coll, member=True)
            line = (f"{title}: a gene's {self.k} nearest genes share {one} with it {v['precision']:.0%} of the "
                    f"time (random {v['random_precision']:.0%}")
            if "pearson" in rows.index:
                p = rows.loc["pearson"]
                points = 100 * (v["precision"] - p["precision"])
                line += f", Pearson correlation {p['precision']:.0%}): "
                line += ("as good as Pearson" if abs(points) < 0.5 else
                         f"{'better' if points > 0 else 'worse'} than Pearson by {abs(points):.1f} points")
            else:
                line += "):"
            if v["random_precision"] > 0:
                line += f"{',' if 'pearson' in rows.index else ''} {v['precision'] / v['random_precision']:.2f}x random"
            lines.append(line + ".")
        return lines

    def __str__(self) -> str:
        t = self.table.copy()
        for c in ("precision", "random_precision", "auroc"):
            t[c] = t[c].map(lambda v: f"{v:.3f}")
        t = t.rename(columns={"precision": f"precision@{self.k}", "random_precision": "random"})
        cols = [f"precision@{self.k}", "random", "auroc", "n_genes", "n_annotated", "n_sets", "n_pairs"]
        return t[cols].to_string() + "\n\n" + "\n".join(self.verdicts())

    def __repr__(self) -> str:
        return f"QualityReport(k={self.k}, {len(self.table)} rows)\n{self}"


def evaluate(vectors: Any, *, gene_sets: Any = "go_bp", k: int = 10, counts: Any = None,
             random_state: Any = 0, min_set_size: int = 5, max_set_size: int = 500,
             max_pairs: int = 2_000_000) -> QualityReport:
    """Score gene vectors against gene-set collections, beside the Pearson baseline when counts are given.

    Parameters
    ----------
    vectors : GeneVectors, fitted GeneGloVe, DataFrame indexed by gene, or (genes, matrix)
        The vectors to judge (cosine similarity).
    gene_sets : str, PathLike, dict, GeneSets, or a list of these, default="go_bp"
        Collections: ``"go_bp"`` or ``"reactome"`` (shipped), a GMT path, or a dict of set name to
        genes. Genes are matched by symbol, case-sensitively.
    k : int, default=10
        Neighbours per gene for precision@k.
    counts : DataFrame or AnnData, shape (n_samples, n_genes), optional
        The counts the vectors were trained on; adds the Pearson-of-log1p(CPM) rows on the same genes.
    random_state : int, Generator or None, default=0
        Seeds the sample of pairs when there are more than ``max_pairs``.
    min_set_size, max_set_size : int, default=5, 500
        Keep the sets with this many of the embedded genes (others are too small to score or so
        large that sharing them says little).
    max_pairs : int, default=2,000,000
        Score every pair of annotated genes up to this many, else a sample of this size.

    Returns
    -------
    QualityReport

    Raises
    ------
    ValueError
        No embedded gene is in any kept set (the message says how the genes look and what to do).

    Notes
    -----
    Time: one pass of ``n_annotated² · dim`` flops for the neighbours (about 2 s for 5,000 genes at
    dim 100), plus the pairs; memory: ``1024 x n_annotated`` floats per block.

    Examples
    --------
    >>> from genevec import GeneGloVe, datasets, evaluate
    >>> counts = datasets.load_demo(n_genes=500)
    >>> model = GeneGloVe(dim=10, random_state=0).fit(counts)
    >>> report = evaluate(model, counts=counts)
    >>> sorted(report.table.index.get_level_values("method"))
    ['pearson', 'vectors']
    """
    import pandas as pd

    from ._validation import check_int_at_least, check_random_state

    k = check_int_at_least(k, "k", 1, "evaluate")
    min_set_size = check_int_at_least(min_set_size, "min_set_size", 2, "evaluate")
    max_set_size = check_int_at_least(max_set_size, "max_set_size", min_set_size, "evaluate")
    max_pairs = check_int_at_least(max_pairs, "max_pairs", 1, "evaluate")
    rng = check_random_state(random_state, caller="evaluate")
    genes, V = _as_vectors(vectors, "evaluate")
    methods = {"vectors": (genes, unit_rows(V))}
    if counts is not None:
        p_genes, P = pearson_vectors(counts, genes)
        missing = len(genes) - len(p_genes)
        if missing:
            log.info("evaluate: %d of the vectors' genes are not in counts; Pearson rows cover the rest", missing)
        methods["pearson"] = (p_genes, P)
    rows = {}
    for coll in _collections(gene_sets):
        M, kept = membership(genes, coll, min_size=min_set_size, max_size=max_set_size)
        annotated = np.flatnonzero(np.asarray(M.sum(axis=1)).ravel() > 0)
        if len(annotated) < 2:
            known = coll.genes()
            overlap = sum(g in known for g in genes)
            if overlap >= min_set_size:
                raise ValueError(
                    f"evaluate: no {coll.name} set holds between {min_set_size} and {max_set_size} of the "
                    f"{len(genes):,} genes ({overlap:,} of them are in some set). Lower min_set_size or raise "
                    "max_set_size, or evaluate more genes."
                )
            raise ValueError(
                f"evaluate: only {overlap} of the {len(genes):,} genes are in any {coll.name} set (genes look "
                f"like {', '.join(genes[:3])}). Gene sets use HGNC symbols: train on symbols "
                "(read_counts(..., gene_names='symbol')), or pass gene_sets for your identifiers."
            )
        seed = int(rng.integers(2 ** 63))  # one sample of pairs per collection, the same for every method
        for method, (m_genes, U) in methods.items():
            if m_genes is genes:
                idx, Mm = annotated, M[annotated]
            else:  # the Pearson baseline covers the genes found in counts
                where = {g: i for i, g in enumerate(m_genes)}
                keep = [a for a in annotated if genes[a] in where]
                idx = np.asarray([where[genes[a]] for a in keep], dtype=np.int64)
                Mm = M[keep]
            n = len(idx)
            I, J, sampled = _pairs(n, max_pairs, np.random.default_rng(seed))
            res = _scores(U[idx], Mm, k, I, J)
            rows[(coll.name, method)] = {
                **res, "n_genes": len(m_genes), "n_annotated": n, "n_sets": len(kept), "n_pairs": len(I),
                "sampled": sampled,
            }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["collection", "method"])
    settings = {"min_set_size": min_set_size, "max_set_size": max_set_size, "max_pairs": max_pairs}
    return QualityReport(table, k, settings)

