"""Gene filter in the spirit of ``scanpy.pp.filter_genes``, on samples x genes DataFrames."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .._validation import check_filter_limit
from ..exceptions import GeneNotFoundError

log = logging.getLogger(__name__)

__all__ = ["filter_genes"]


def filter_genes(
    X: pd.DataFrame,
    *,
    min_counts: float | None = None,
    min_samples: int | None = None,
    max_counts: float | None = None,
    max_samples: int | None = None,
    top_n: int | None = None,
    keep: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Keep the genes (columns) whose totals and sample counts are within limits.

    Parameters
    ----------
    X : DataFrame, shape (n_samples, n_genes)
        Counts, samples in rows and genes in columns (as :func:`read_counts` returns).
    min_counts, max_counts : number, optional
        Bounds (inclusive) on a gene's total count over the samples.
    min_samples, max_samples : int, optional
        Bounds (inclusive) on the number of samples in which the gene has a nonzero count.
    top_n : int, optional
        Then keep only the ``top_n`` genes of largest total count (ties: the earlier column), as
        ``genevec demo`` keeps the most expressed genes: training time and memory grow with the
        square of the number of genes.
    keep : iterable of str, optional
        Genes always kept whatever the limits, e.g. the genes you will query. Each must be a
        column of ``X``.

    Returns
    -------
    DataFrame, shape (n_samples, n_kept)
        The kept columns, in their original order.

    Raises
    ------
    TypeError
        ``X`` is not a DataFrame.
    ValueError
        A limit is negative or not a number, a minimum exceeds its maximum, or no gene is left.
    GeneNotFoundError
        A ``keep`` gene is not a column of ``X`` (close names are suggested).

    See Also
    --------
    scanpy.pp.filter_genes : the same idea on AnnData.

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.io import filter_genes
    >>> X = pd.DataFrame({"A": [0, 0, 3], "B": [5, 2, 1], "C": [0, 0, 0]}, index=["S1", "S2", "S3"])
    >>> filter_genes(X, min_samples=2).columns.tolist()
    ['B']
    >>> filter_genes(X, min_samples=2, keep=["C"]).columns.tolist()
    ['B', 'C']
    >>> filter_genes(X, top_n=1).columns.tolist()
    ['B']
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"filter_genes expects a samples x genes DataFrame, got {type(X).__name__}. Wrap an array "
            "with pandas.DataFrame(X, columns=gene_names)."
        )
    min_counts = check_filter_limit("min_counts", min_counts, integral=False)
    max_counts = check_filter_limit("max_counts", max_counts, integral=False)
    min_samples = check_filter_limit("min_samples", min_samples, integral=True)
    max_samples = check_filter_limit("max_samples", max_samples, integral=True)
    top_n = check_filter_limit("top_n", top_n, integral=True)
    if top_n == 0:
        raise ValueError("filter_genes: top_n=0 would keep no gene; give top_n >= 1, e.g. top_n=5000.")
    for lo_name, lo, hi_name, hi in (("min_counts", min_counts, "max_counts", max_counts),
                                     ("min_samples", min_samples, "max_samples", max_samples)):
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"filter_genes: {lo_name}={lo} is larger than {hi_name}={hi}, so no gene could pass. "
                             "Swap or relax them.")
    if min_samples is not None and min_samples > X.shape[0]:
        raise ValueError(
            f"filter_genes: min_samples={min_samples} is more than the {X.shape[0]} samples of X, so no gene "
            f"could pass. Use at most min_samples={X.shape[0]}."
        )

    values = X.to_numpy()
    mask = np.ones(X.shape[1], dtype=bool)
    totals = values.sum(axis=0, dtype=np.float64) if (min_counts, max_counts, top_n) != (None,) * 3 else None
    if min_counts is not None or max_counts is not None:
        if min_counts is not None:
            mask &= totals >= min_counts
        if max_counts is not None:
            mask &= totals <= max_counts
    if min_samples is not None or max_samples is not None:
        expressed = np.count_nonzero(values, axis=0)
        if min_samples is not None:
            mask &= expressed >= min_samples
        if max_samples is not None:
            mask &= expressed <= max_samples

    if top_n is not None and mask.sum() > top_n:
        passing = np.flatnonzero(mask)
        best = passing[np.lexsort((passing, -totals[passing]))[:top_n]]
        mask[:] = False
        mask[best] = True

    n_forced = 0
    if keep is not None:
        if isinstance(keep, str):
            keep = [keep]
        columns = pd.Index(X.columns)
        keep = list(keep)
        missing = [g for g in keep if g not in columns]
        if missing:
            near = difflib.get_close_matches(str(missing[0]), [str(c) for c in columns], n=3)
            hint = f" Did you mean {', '.join(map(repr, near))}?" if near else ""
            raise GeneNotFoundError(
                f"filter_genes: keep names {len(missing)} gene(s) that are not columns of X: "
                f"{', '.join(map(repr, missing[:10]))}.{hint} Genes are matched by name, case-sensitively; "
                "drop them from keep or check gene_names= when reading."
            )
        forced = columns.get_indexer(keep)
        n_forced = int((~mask[forced]).sum())
        mask[forced] = True

    n_kept = int(mask.sum())
    if n_kept == 0:
        raise ValueError(
            f"filter_genes: no gene of the {X.shape[1]:,} passes min_counts={min_counts}, min_samples={min_samples}, "
            f"max_counts={max_counts}, max_samples={max_samples}. Relax the limits."
        )
    log.info("filter_genes: removed %d of %d genes, kept %d (%d only because of keep=)",
             X.shape[1] - n_kept, X.shape[1], n_kept, n_forced)
    return X.loc[:, mask]
