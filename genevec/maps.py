"""Gene maps, computed: k-means clusters on the full vectors and a 2-d t-SNE layout of every gene.

:func:`gene_map` turns gene vectors into a table ``gene, x, y, cluster``; :func:`model_map` is
the map of a whole model that the app shows and ``genevec train --map`` caches (in
:func:`map_cache_path`); :func:`write_map_table` and :func:`read_gene_map` write and read the table
as TSV; :func:`cluster_genes` lists a cluster. Drawing is :mod:`genevec.plot`'s.

t-SNE runs on openTSNE (FFT-accelerated gradients) when it is installed, otherwise on
scikit-learn's Barnes-Hut ``TSNE``; ``benchmarks/bench_map.py`` measures both on 25,321 genes.
Both see the same exact cosine nearest neighbours, computed here.
"""

from __future__ import annotations

import logging
import numbers
import os
import time
from typing import Any

import numpy as np
import pandas as pd

from ._threads import one_blas_thread, openmp_threads
from ._validation import check_int_in_range, check_perplexity, check_random_state, effective_n_jobs
from .postprocess import unit_rows

log = logging.getLogger(__name__)

__all__ = ["gene_map", "model_map", "cluster_genes", "map_cache_path", "write_map_table", "read_gene_map",
           "MAP_COLUMNS"]

MAP_COLUMNS = ("gene", "x", "y", "cluster")
_TSNE_METHODS = ("auto", "opentsne", "sklearn")
_METRICS = ("cosine", "euclidean")
_KMEANS_N_INIT = 10
_EARLY_ITER, _MAIN_ITER = 250, 500          # openTSNE's defaults; scikit-learn gets the same total
_KNN_CHUNK = 2048                           # rows per block of the exact neighbour search
_GENES_PER_THREAD = 5000                    # smallest share of a map worth a thread


# --------------------------------------------------------------------------- validation
def _as_matrix(vectors: Any, caller: str) -> tuple[np.ndarray, list[str]]:
    """Accept a GeneVectors (``.vectors``, ``.genes``) or an ``(ndarray, genes)`` pair."""
    if hasattr(vectors, "vectors") and hasattr(vectors, "genes"):
        X, genes = vectors.vectors, vectors.genes
    elif isinstance(vectors, tuple) and len(vectors) == 2:
        X, genes = vectors
    else:
        raise TypeError(
            f"{caller}: vectors must be a GeneVectors or a tuple (array of shape (n_genes, dim), genes); "
            f"got {type(vectors).__name__}. Load them with genevec.load_vectors('vectors.txt')."
        )
    X = np.asarray(X, dtype=np.float64)
    genes = [str(g) for g in genes]
    if X.ndim != 2:
        raise ValueError(f"{caller}: the vectors must be a 2-d array (n_genes, dim), got shape {X.shape}.")
    if X.shape[0] != len(genes):
        raise ValueError(
            f"{caller}: {X.shape[0]:,} vectors but {len(genes):,} gene names; pass one name per row."
        )
    if X.shape[0] < 2:
        raise ValueError(f"{caller}: a map needs at least 2 genes, got {X.shape[0]}.")
    if not np.isfinite(X).all():
        bad = int(np.flatnonzero(~np.isfinite(X).all(axis=1))[0])
        raise ValueError(
            f"{caller}: the vector of gene {genes[bad]!r} (row {bad}) holds NaN or infinity. "
            "Retrain with a smaller learning_rate, or drop that gene."
        )
    return np.ascontiguousarray(X), genes


# --------------------------------------------------------------------------- pieces
def _exact_knn(Y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours (Euclidean, self excluded), in fixed row blocks with 1 BLAS thread.

    Blocks are fixed in size, BLAS is held to one thread and ties are broken by index, so the graph
    is the same bits for every ``n_jobs``. Memory: one ``(2048, n)`` float64 block (400 MB at n=25k).
    """
    n = Y.shape[0]
    sq = np.einsum("ij,ij->i", Y, Y)
    idx = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k), dtype=np.float64)
    with one_blas_thread():
        for start in range(0, n, _KNN_CHUNK):
            stop = min(start + _KNN_CHUNK, n)
            d2 = sq[start:stop, None] - 2.0 * (Y[start:stop] @ Y.T) + sq[None, :]
            np.maximum(d2, 0.0, out=d2)
            d2[np.arange(stop - start), np.arange(start, stop)] = np.inf     # not your own neighbour
            part = np.argpartition(d2, k - 1, axis=1)[:, :k]
            pd2 = np.take_along_axis(d2, part, axis=1)
            order = np.lexsort((part, pd2), axis=1)                          # by distance, then index
            idx[start:stop] = np.take_along_axis(part, order, axis=1)
            dist[start:stop] = np.sqrt(np.take_along_axis(pd2, order, axis=1))
    return idx, dist


def _have_opentsne() -> bool:
    try:
        import openTSNE  # noqa: F401
    except ImportError:
        return False
    return True


def _tsne_opentsne(Y: np.ndarray, perplexity: float, seed: int, n_threads: int) -> np.ndarray:
    import openTSNE
    from openTSNE import affinity, initialization
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    n = Y.shape[0]
    k = min(n - 1, int(np.ceil(3 * perplexity)))
    idx, dist = _exact_knn(Y, k)
    aff = affinity.PerplexityBasedNN(
        knn_index=PrecomputedNeighbors(idx, dist), perplexity=min(perplexity, k / 3.0),
        n_jobs=n_threads, random_state=seed,
    )
    init = initialization.pca(Y, random_state=seed)
    tsne = openTSNE.TSNE(
        n_components=2, perplexity=perplexity, early_exaggeration_iter=_EARLY_ITER, n_iter=_MAIN_ITER,
        n_jobs=n_threads, random_state=seed, negative_gradient_method="fft" if n >= 10_000 else "bh",
        verbose=False,
    )
    emb = tsne.fit(affinities=aff, initialization=init)
    return np.asarray(emb, dtype=np.float64)


def _tsne_sklearn(Y: np.ndarray, perplexity: float, seed: int, n_threads: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    tsne = TSNE(
        n_components=2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed,
        max_iter=_EARLY_ITER + _MAIN_ITER, method="barnes_hut", n_jobs=n_threads,
    )
    with openmp_threads(n_threads):
        return np.asarray(tsne.fit_transform(Y), dtype=np.float64)


def _kmeans(Y: np.ndarray, n_clusters: int, seed: int, n_threads: int) -> np.ndarray:
    """k-means labels renumbered 1..k by cluster size (largest first, ties by first gene)."""
    from sklearn.cluster import KMeans

    with one_blas_thread(), openmp_threads(n_threads):
        raw = KMeans(n_clusters=n_clusters, n_init=_KMEANS_N_INIT, random_state=seed).fit_predict(Y)
    sizes = np.bincount(raw, minlength=n_clusters)
    first = np.full(n_clusters, Y.shape[0])
    np.minimum.at(first, raw, np.arange(Y.shape[0]))
    order = np.lexsort((first, -sizes))                 # old label of new cluster 1, 2, ...
    new = np.empty(n_clusters, dtype=np.int64)
    new[order] = np.arange(1, n_clusters + 1)
    return new[raw]


# --------------------------------------------------------------------------- public
def gene_map(
    vectors: Any,
    *,
    n_clusters: int = 15,
    perplexity: float = 30,
    random_state: Any = 42,
    n_jobs: int | None = None,
    metric: str = "cosine",
    method: str = "auto",
) -> pd.DataFrame:
    """Cluster genes with k-means on their full vectors and lay them out in 2-d with t-SNE.

    Parameters
    ----------
    vectors : GeneVectors or tuple (ndarray of shape (n_genes, dim), sequence of str)
        The gene vectors, e.g. from :func:`genevec.load_vectors`.
    n_clusters : int, default=15
        Number of k-means clusters, between 1 and the number of genes.
    perplexity : float, default=30
        t-SNE perplexity (about the number of neighbours each gene keeps close); must be smaller
        than the number of genes.
    random_state : None, int, RandomState or Generator, default=42
        Seeds k-means (``n_init=10``), the PCA initialisation and the t-SNE optimiser. A fixed value
        gives the same map every time.
    n_jobs : int, default=None
        Threads for t-SNE and k-means; ``None``/``-1`` all cores, ``0`` raises. At most one thread
        per 5,000 genes is used: on smaller maps threads cost more than they save.
    metric : {"cosine", "euclidean"}, default="cosine"
        Geometry of both the clustering and the map. ``"cosine"`` scales every vector to unit length
        first, so the map agrees with :meth:`GeneVectors.most_similar`.
    method : {"auto", "opentsne", "sklearn"}, default="auto"
        t-SNE implementation. ``"auto"`` takes openTSNE when installed (faster on large maps, see
        Notes) and scikit-learn otherwise.

    Returns
    -------
    DataFrame
        One row per gene, in the order of ``vectors``: ``gene`` (str), ``x``, ``y`` (float, the
        t-SNE coordinates) and ``cluster`` (int, 1 = largest cluster).

    Raises
    ------
    ValueError
        For ``n_clusters`` outside ``[1, n_genes]``, ``perplexity`` not below ``n_genes``, fewer than
        2 genes or non-finite vectors.
    ImportError
        For ``method="opentsne"`` without openTSNE installed.

    See Also
    --------
    genevec.plot_gene_map, cluster_genes, genevec.save_gene_map

    Notes
    -----
    Both t-SNE paths use the same exact nearest-neighbour graph (``3 * perplexity`` neighbours,
    computed in blocks of 2,048 rows: about 400 MB at 25,321 genes) and run 250 early-exaggeration
    plus 500 normal iterations. On 25,321 x 100 vectors and 2 (busy, shared) cores openTSNE's FFT
    gradient took 139 s and scikit-learn's Barnes-Hut 1,376 s, 9.9 times longer, in the same run
    (``python benchmarks/bench_map.py``). Install it with ``pip install openTSNE``.

    The map is reproducible for a fixed ``random_state`` and thread count. k-means runs
    ``n_init=10`` restarts; the clusters are numbered by size, so the numbering is stable too.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec.maps import gene_map
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(c, 0.1, size=(20, 5)) for c in np.eye(5)[:3] * 3])
    >>> genes = [f"G{i}" for i in range(60)]
    >>> m = gene_map((X, genes), n_clusters=3, perplexity=10, random_state=0)
    >>> list(m.columns), m.shape, sorted(m["cluster"].unique().tolist())
    (['gene', 'x', 'y', 'cluster'], (60, 4), [1, 2, 3])
    """
    caller = "gene_map"
    X, genes = _as_matrix(vectors, caller)
    n = X.shape[0]
    n_clusters = check_int_in_range(n_clusters, "n_clusters", 1, n, caller,
                                    f"Ask for at most one cluster per gene, e.g. n_clusters={min(15, n)}.")
    perplexity = check_perplexity(perplexity, n, caller)
    if metric not in _METRICS:
        raise ValueError(f"{caller}: metric must be one of {', '.join(map(repr, _METRICS))}, got {metric!r}.")
    if method not in _TSNE_METHODS:
        raise ValueError(f"{caller}: method must be one of {', '.join(map(repr, _TSNE_METHODS))}, got {method!r}.")
    n_threads = effective_n_jobs(n_jobs, caller=caller)
    rng = check_random_state(random_state, caller=caller)
    seed_km, seed_tsne = (int(s) for s in rng.integers(0, 2**31 - 1, size=2))

    if method == "auto":
        method = "opentsne" if _have_opentsne() else "sklearn"
        if method == "sklearn" and n > 5000:
            log.info("openTSNE is not installed; using scikit-learn's slower t-SNE "
                     "(pip install openTSNE for faster maps).")
    elif method == "opentsne" and not _have_opentsne():
        raise ImportError(
            "gene_map(method='opentsne') needs openTSNE: pip install openTSNE (or pip install \"genevec[plot]\"), "
            "or pass method='sklearn'."
        )

    Y = X if metric == "euclidean" else unit_rows(X)       # cosine: unit rows (zero rows stay zero)
    # Threads only pay off on large maps: below ~5,000 genes per thread, OpenMP's barriers cost
    # more than they save (badly so on a busy machine), so small maps run on fewer threads.
    n_threads = max(1, min(n_threads, n // _GENES_PER_THREAD))
    t0 = time.perf_counter()
    labels = _kmeans(Y, n_clusters, seed_km, n_threads)
    t1 = time.perf_counter()
    emb = (_tsne_opentsne if method == "opentsne" else _tsne_sklearn)(Y, perplexity, seed_tsne, n_threads)
    t2 = time.perf_counter()
    log.debug("gene_map: k-means %.1f s, t-SNE (%s) %.1f s on %d genes", t1 - t0, method, t2 - t1, n)
    return pd.DataFrame({"gene": genes, "x": emb[:, 0], "y": emb[:, 1], "cluster": labels})


def _check_map(gene_map_df: Any, caller: str) -> pd.DataFrame:
    if not isinstance(gene_map_df, pd.DataFrame):
        raise TypeError(f"{caller}: expected the DataFrame returned by gene_map(), got {type(gene_map_df).__name__}.")
    missing = [c for c in MAP_COLUMNS if c not in gene_map_df.columns]
    if missing:
        raise ValueError(
            f"{caller}: the map lacks column(s) {', '.join(map(repr, missing))}; it needs "
            f"{', '.join(MAP_COLUMNS)} as returned by gene_map() or read_gene_map()."
        )
    return gene_map_df

def cluster_genes(gene_map_df: pd.DataFrame, cluster: int) -> list[str]:
    """Genes of one cluster of a map, in the map's order.

    Parameters
    ----------
    gene_map_df : DataFrame
        A map from :func:`gene_map` or :func:`read_gene_map`.
    cluster : int
        Cluster number (1 is the largest).

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        When the map has no such cluster; the message lists those it has.

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.maps import cluster_genes
    >>> m = pd.DataFrame({"gene": ["A", "B", "C"], "x": [0., 1, 2], "y": [0., 1, 2], "cluster": [1, 2, 1]})
    >>> cluster_genes(m, 1)
    ['A', 'C']
    """
    m = _check_map(gene_map_df, "cluster_genes")
    have = sorted(int(c) for c in pd.unique(m["cluster"]))
    if isinstance(cluster, bool) or not isinstance(cluster, numbers.Integral) or int(cluster) not in have:
        raise ValueError(
            f"cluster_genes: the map has no cluster {cluster!r}; its clusters are {have[0]}..{have[-1]} "
            f"({len(have)} in all). Pass one of them, e.g. cluster_genes(map, {have[0]})."
        )
    return m.loc[m["cluster"] == int(cluster), "gene"].astype(str).tolist()

def map_cache_path(vectors_path: str | os.PathLike) -> str:
    """Where a vectors file's map is cached for the app: ``<vectors>.map.tsv``.

    Examples
    --------
    >>> from genevec.maps import map_cache_path
    >>> map_cache_path("pancreas.txt")
    'pancreas.txt.map.tsv'
    """
    return os.fspath(vectors_path) + ".map.tsv"


def model_map(vectors: Any, *, n_clusters: int = 15, random_state: Any = 42, n_jobs: int | None = None) -> pd.DataFrame:
    """The map of a whole model that the app shows and ``genevec train --map`` caches.

    :func:`gene_map` with at most ``n_clusters`` clusters (fewer for a tiny model) and the perplexity
    30, or a third of the genes for fewer than 91 genes, so every model gets a map.
    """
    n = len(vectors.genes) if hasattr(vectors, "genes") else len(vectors[1])
    perplexity = min(30.0, max(1.0, (n - 1) / 3.0))
    return gene_map(vectors, n_clusters=min(n_clusters, n), perplexity=perplexity, random_state=random_state,
                    n_jobs=n_jobs)


def write_map_table(gene_map_df: pd.DataFrame, path: str | os.PathLike) -> str:
    """Write a map as TSV (``gene x y cluster``) atomically; return the path."""
    from ._atomic import atomic_write

    m = _check_map(gene_map_df, "write_map_table")
    with atomic_write(path, "w") as fh:
        m.loc[:, list(MAP_COLUMNS)].to_csv(fh, sep="\t", index=False, float_format="%.6g")
    return os.fspath(path)


def read_gene_map(path: str | os.PathLike) -> pd.DataFrame:
    """Read a map TSV written by :func:`save_gene_map` (columns ``gene, x, y, cluster``).

    Raises
    ------
    FileFormatError
        When a column is missing or a value is not a number; the message names the file.

    Examples
    --------
    See :func:`genevec.plot.save_gene_map`.
    """
    from .exceptions import FileFormatError

    path = os.fspath(path)
    try:
        m = pd.read_csv(path, sep="\t", dtype={"gene": str}, keep_default_na=False, na_values=[])
    except pd.errors.ParserError as exc:
        raise FileFormatError(f"{path!r} is not a gene map TSV ({exc}). Rewrite it with genevec map.") from exc
    missing = [c for c in MAP_COLUMNS if c not in m.columns]
    if missing:
        raise FileFormatError(
            f"{path!r} lacks column(s) {', '.join(missing)}; a map TSV has the header 'gene x y cluster'. "
            "Rewrite it with: genevec map VECTORS -o map.png"
        )
    try:
        m["x"] = m["x"].astype(float)
        m["y"] = m["y"].astype(float)
        m["cluster"] = m["cluster"].astype(np.int64)
    except (TypeError, ValueError) as exc:
        raise FileFormatError(f"{path!r}: x, y must be numbers and cluster an int ({exc}).") from exc
    return m.loc[:, list(MAP_COLUMNS)]
