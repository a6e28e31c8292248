"""Single cells: pseudobulk, the sum of the counts of groups of cells before co-occurrence.

Co-occurrence over single cells is dominated by zeros: a droplet detects a few hundred to a few
thousand of its transcripts' genes, so two genes expressed in the same cells often miss each
other, and ``T = AᵀA`` mostly counts the pairs of highly expressed genes. Summing ``k`` cells of
one type (or ``k`` random cells) gives a sample that looks like a small bulk library: more genes
per sample, fewer samples. The docs page "Single-cell data" measures the trade-off with
:func:`genevec.evaluate`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._validation import check_counts, check_random_state
from .exceptions import CountsError

__all__ = ["pseudobulk"]

log = logging.getLogger(__name__)


def _groups(labels: np.ndarray | None, n_cells: int, k: int | None, rng: np.random.Generator
            ) -> tuple[np.ndarray, list, np.ndarray]:
    """Group of each cell, the label of each group, and its number of cells."""
    if labels is None:
        labels = np.zeros(n_cells, dtype=np.int64)
        names = [None]
    else:
        names, labels = np.unique(labels, return_inverse=True)
        names = list(names)
    group = np.empty(n_cells, dtype=np.int64)
    group_label: list = []
    n_groups = 0
    for code in range(len(names)):
        members = np.flatnonzero(labels == code)
        if members.size == 0:
            continue
        if k is None:
            parts = [members]
        else:
            members = members[rng.permutation(members.size)]
            parts = np.array_split(members, max(1, members.size // k))   # sizes k .. 2k - 1, every cell used
        for part in parts:
            group[part] = n_groups
            group_label.append(names[code])
            n_groups += 1
    sizes = np.bincount(group, minlength=n_groups)
    return group, group_label, sizes


def pseudobulk(adata: Any, *, groupby: str | None = None, cells_per_group: int | None = 10,
               layer: str | None = "counts", random_state: Any = 0):
    """Sum the counts of groups of cells: a label column, or random groups of ``k`` cells (within each label).

    Parameters
    ----------
    adata : AnnData, backed AnnData or path to an ``.h5ad`` file
        Cells x genes. A backed file is read a chunk of cells at a time.
    groupby : str, optional
        A column of ``adata.obs`` (cell type, sample, donor). Groups never mix labels.
    cells_per_group : int or None, default=10
        Cells per group: each label's cells (all cells without ``groupby``) are shuffled and cut
        into ``n // k`` groups of ``k`` to ``2k - 1`` cells, so that every cell is used (a label
        with fewer than ``k`` cells is one group). ``None`` sums each label into one sample.
    layer : str or None, default="counts"
        Where the raw counts are; ``None`` for ``X``. Never guessed.
    random_state : int, RandomState, Generator or None, default=0
        The shuffle of the cells.

    Returns
    -------
    AnnData of shape (n_groups, n_genes)
        ``X`` holds the summed counts (CSR, float64); ``obs`` has ``n_cells`` and the ``groupby``
        label; ``var`` is ``adata.var``'s index. Train on it with ``GeneGloVe().fit(pb)`` or
        ``genevec.fit_anndata(pb, layer=None)``.

    Raises
    ------
    ValueError
        Neither ``groupby`` nor ``cells_per_group``; an unknown ``groupby`` column (the columns are
        listed); cells without a label; ``cells_per_group < 1``.
    CountsError
        Negative or non-integer counts (with the cell and gene).

    Notes
    -----
    Time and memory: one pass over the counts (``S @ A`` with ``S`` the groups x cells indicator,
    chunk by chunk for a backed file), and the result, which is far denser than the cells.

    Examples
    --------
    >>> import numpy as np, pandas as pd, anndata
    >>> from genevec import pseudobulk
    >>> a = anndata.AnnData(np.ones((6, 3)), obs=pd.DataFrame({"type": list("AAABBB")}, index=list("abcdef")))
    >>> pb = pseudobulk(a, groupby="type", cells_per_group=None, layer=None)
    >>> pb.obs[["type", "n_cells"]].to_numpy().tolist(), pb.X.toarray().tolist()
    ([['A', 3], ['B', 3]], [[3.0, 3.0, 3.0], [3.0, 3.0, 3.0]])
    """
    import anndata

    from . import stream

    caller = "pseudobulk"
    if groupby is None and cells_per_group is None:
        raise ValueError("pseudobulk: pass groupby='cell_type' (one sample per label), cells_per_group=k (random "
                         "groups of k cells), or both (groups of k cells within each label).")
    if cells_per_group is not None and (isinstance(cells_per_group, bool) or not isinstance(cells_per_group, (int, np.integer))
                                        or cells_per_group < 1):
        raise ValueError(f"pseudobulk: cells_per_group must be an int >= 1 or None, got {cells_per_group!r}.")
    rng = check_random_state(random_state, caller=caller)
    if isinstance(adata, (str, bytes)) or hasattr(adata, "__fspath__"):
        adata = anndata.read_h5ad(adata, backed="r")
    obs = adata.obs
    labels = None
    if groupby is not None:
        if groupby not in obs.columns:
            shown = ", ".join(map(repr, list(obs.columns)[:20])) or "none"
            raise ValueError(f"pseudobulk: adata.obs has no column {groupby!r}; its columns are: {shown}.")
        col = obs[groupby]
        if col.isna().any():
            raise ValueError(
                f"pseudobulk: {int(col.isna().sum()):,} cells have no {groupby!r} label (first: "
                f"{obs.index[col.isna().to_numpy()][0]!r}). Drop them first: adata[adata.obs[{groupby!r}].notna()]."
            )
        labels = col.astype(str).to_numpy()
    n_cells = adata.shape[0]
    group, group_label, sizes = _groups(labels, n_cells, cells_per_group, rng)
    n_groups = len(sizes)
    S = sp.csr_matrix((np.ones(n_cells), (group, np.arange(n_cells))), shape=(n_groups, n_cells))

    if getattr(adata, "isbacked", False):
        src = stream.cell_chunks(adata, layer=layer, caller=caller)
        total = sp.csr_matrix((n_groups, len(src.genes)))
        for row0, X in src.chunks(allow_non_integer=False, caller=caller):
            total = total + S[:, row0:row0 + X.shape[0]] @ X
        genes = src.genes
    else:
        counts = check_counts(stream.in_memory_anndata(adata, layer, caller), caller=caller)
        total = S @ sp.csr_matrix(counts.X)
        genes = counts.genes
    if total.shape[0] == 0:
        raise CountsError("pseudobulk: adata has no cells.")
    index = [f"{lab}_{i}" if lab is not None else f"pb{i}" for i, lab in enumerate(group_label)]
    if cells_per_group is None:
        index = [str(lab) for lab in group_label]
    out_obs = pd.DataFrame({"n_cells": sizes.astype(np.int64)}, index=pd.Index(index, name="pseudobulk"))
    if groupby is not None:
        out_obs.insert(0, groupby, pd.Categorical([str(lab) for lab in group_label]))
    log.debug("pseudobulk: %d cells -> %d groups", n_cells, n_groups)
    return anndata.AnnData(X=sp.csr_matrix(total, dtype=np.float64), obs=out_obs,
                           var=pd.DataFrame(index=pd.Index([str(g) for g in genes])))
