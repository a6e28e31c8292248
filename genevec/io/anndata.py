"""AnnData (``.h5ad``) to a samples x genes count DataFrame.

anndata is optional (``pip install "genevec[anndata]"``); it is imported only when an ``.h5ad``
file is read. ``obs_names`` are the samples and ``var_names`` the genes, as in scanpy. Counts
often live in a layer (``adata.layers["counts"]``) while ``.X`` holds normalised values, so the
layer is named explicitly.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._validation import check_counts, check_gene_names_mode
from ..exceptions import FileFormatError
from .symbols import resolve_duplicates, strip_version
from .tables import check_file

log = logging.getLogger(__name__)

__all__ = ["read_h5ad", "from_anndata"]

INSTALL_HINT = 'pip install "genevec[anndata]"'


def _import_anndata():
    try:
        import anndata
    except ImportError as exc:
        raise ImportError(
            f"reading .h5ad files needs the optional package anndata ({exc}). Install it with: {INSTALL_HINT}"
        ) from None
    return anndata


def from_anndata(
    adata: Any,
    *,
    layer: str | None = None,
    gene_names: str = "symbol",
    duplicates: str = "sum",
    allow_non_integer: bool = False,
    source: str = "the AnnData",
) -> pd.DataFrame:
    """Counts of an in-memory AnnData as a validated samples x genes DataFrame.

    Parameters
    ----------
    adata : anndata.AnnData
        Samples in ``obs``, genes in ``var``.
    layer : str, optional
        Take the counts from ``adata.layers[layer]`` instead of ``adata.X``.
    gene_names : {"symbol", "ensembl"}, default="symbol"
        ``"ensembl"`` strips ``.N`` versions from ``var_names``; ``"symbol"`` keeps them as they are.
    duplicates : {"sum", "first", "error"}, default="sum"
        Genes sharing a name (see :func:`genevec.io.symbols.resolve_duplicates`).
    allow_non_integer : bool, default=False
        Accept non-integer values (the result is then float64).
    source : str
        Name used in messages.

    Returns
    -------
    DataFrame, shape (n_obs, n_vars)
        Dense; int64 when every value is whole. Index = ``obs_names``, columns = gene names.

    Notes
    -----
    A sparse matrix is densified (8 bytes per sample and gene): fine for bulk RNA-seq, not for
    a million cells. For single-cell data, give the AnnData (or the ``.h5ad`` path) to
    ``GeneGloVe.fit(..., layer=...)`` or :func:`genevec.dtm_to_tcm` instead: they keep it sparse and
    read a backed file a chunk of cells at a time (:mod:`genevec.stream`).

    Examples
    --------
    >>> import numpy as np, anndata
    >>> from genevec.io.anndata import from_anndata
    >>> a = anndata.AnnData(np.array([[1.0, 0.0], [2.0, 5.0]]))
    >>> a.obs_names, a.var_names = ["S1", "S2"], ["TP53", "EGFR"]
    >>> from_anndata(a).to_numpy().tolist()
    [[1, 0], [2, 5]]
    """
    check_gene_names_mode(gene_names)
    if layer is None:
        matrix = adata.X
        if matrix is None:
            raise ValueError(
                f"{source}: adata.X is empty (None). Name the layer holding the counts, e.g. layer='counts'."
            )
    else:
        layers = list(adata.layers.keys())
        if layer not in layers:
            shown = ", ".join(repr(k) for k in layers) or "none"
            raise ValueError(
                f"{source}: no layer {layer!r}; the layers are {shown}. Pass one of them as layer=..., or "
                "layer=None for adata.X."
            )
        matrix = adata.layers[layer]
    if sp.issparse(matrix):
        matrix = matrix.toarray()
    elif hasattr(matrix, "to_memory"):  # backed/lazy arrays
        matrix = matrix.to_memory()
    genes = np.asarray(adata.var_names, dtype=object)
    if gene_names == "ensembl":
        genes = strip_version(genes)
    values, genes = resolve_duplicates(np.asarray(matrix), genes, duplicates, source=source)
    counts = check_counts(values, gene_names=genes, allow_non_integer=allow_non_integer, accept_sparse=False,
                          caller=source)
    return _to_frame(counts.X, counts.genes, np.asarray(adata.obs_names, dtype=object))


def _to_frame(X: np.ndarray, genes: np.ndarray, samples: np.ndarray) -> pd.DataFrame:
    values = X.astype(np.int64) if np.array_equal(X, np.floor(X)) else X
    return pd.DataFrame(values, index=pd.Index([str(s) for s in samples], name="sample"),
                        columns=pd.Index(list(genes), name="gene"))


def read_h5ad(path: str | os.PathLike, *, layer: str | None = None, gene_names: str = "symbol",
              duplicates: str = "sum", allow_non_integer: bool = False) -> pd.DataFrame:
    """Read the counts of an ``.h5ad`` file (needs anndata: ``pip install "genevec[anndata]"``).

    Parameters
    ----------
    path : str or PathLike
    layer, gene_names, duplicates, allow_non_integer
        As in :func:`from_anndata`.

    Returns
    -------
    DataFrame, shape (n_obs, n_vars)

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, anndata
    >>> from genevec.io.anndata import read_h5ad
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "tiny.h5ad"
    >>> a = anndata.AnnData(np.zeros((2, 2)), layers={"counts": np.array([[1.0, 0.0], [2.0, 5.0]])})
    >>> a.obs_names, a.var_names = ["S1", "S2"], ["TP53", "EGFR"]
    >>> a.write_h5ad(f)
    >>> read_h5ad(f, layer="counts").loc["S2", "EGFR"]
    np.int64(5)
    """
    anndata = _import_anndata()
    p = check_file(path, "counts file")
    try:
        adata = anndata.read_h5ad(p)
    except OSError as exc:
        raise FileFormatError(
            f"{p}: cannot be read as .h5ad ({exc}). Check that it is a complete AnnData file "
            "(e.g. written by adata.write_h5ad)."
        ) from None
    return from_anndata(adata, layer=layer, gene_names=gene_names, duplicates=duplicates,
                        allow_non_integer=allow_non_integer, source=str(p))
