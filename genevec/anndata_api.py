"""scanpy-style entry points: fit on an AnnData and keep the vectors in it.

:func:`fit_anndata` trains :class:`genevec.GeneGloVe` on an AnnData's counts and stores the gene
vectors in ``adata.varm[key_added]`` (one row per gene of ``var``; genes without a vector get NaN
rows), and the parameters and the pathway-quality report in ``adata.uns[key_added]``, as
``sc.tl.pca`` stores its loadings and parameters. :meth:`genevec.GeneVectors.from_anndata` and
:meth:`genevec.GeneVectors.to_anndata` read and write the same layout, so the vectors survive
``adata.write_h5ad``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np

__all__ = ["fit_anndata", "vectors_from_anndata", "vectors_to_anndata"]

log = logging.getLogger(__name__)


def _uns_params(metadata: dict) -> dict:
    """Parameters an .h5ad file can hold: str, bool, int and float (None and others become str)."""
    return {str(k): (v if isinstance(v, (bool, int, float, str)) else str(v)) for k, v in metadata.items()}


def vectors_to_anndata(vectors, adata=None, *, key: str = "genevec", quality=None):
    """Write ``vectors`` into ``adata.varm[key]`` (NaN rows for genes without a vector) and ``adata.uns[key]``.

    Without ``adata``, a new AnnData with no cells and one ``var`` per gene is returned.
    """
    import anndata
    import pandas as pd

    if adata is None:
        adata = anndata.AnnData(var=pd.DataFrame(index=pd.Index(vectors.genes, name="gene")))
    names = [str(g) for g in adata.var_names]
    where = {g: i for i, g in enumerate(names)}
    rows = np.array([where.get(g, -1) for g in vectors.genes], dtype=np.int64)
    if (rows < 0).all():
        raise ValueError(
            f"to_anndata: none of the {len(vectors):,} genes of the vectors is in adata.var_names (e.g. "
            f"{vectors.genes[0]!r} vs {names[0] if names else None!r}). Use the AnnData the vectors were fitted on."
        )
    V = np.full((len(names), vectors.dim), np.nan, dtype=vectors.vectors.dtype)
    V[rows[rows >= 0]] = vectors.vectors[rows >= 0]
    adata.varm[key] = V
    uns = {"params": _uns_params(vectors.metadata), "n_genes": int((rows >= 0).sum())}
    if quality is not None:
        uns["quality"] = json.dumps(quality.to_dict())
    adata.uns[key] = uns
    return adata


def vectors_from_anndata(adata, *, key: str = "genevec"):
    """The :class:`GeneVectors` stored by :func:`fit_anndata` / ``to_anndata`` (genes with NaN rows left out)."""
    from .similarity import GeneVectors

    if key not in adata.varm:
        shown = ", ".join(map(repr, adata.varm.keys())) or "none"
        raise KeyError(f"from_anndata: adata.varm has no {key!r}; its keys are: {shown}. Fit first with "
                       f"genevec.fit_anndata(adata, key_added={key!r}), or pass key=... .")
    V = np.asarray(adata.varm[key])
    keep = ~np.isnan(V).any(axis=1)
    genes = [str(g) for g, k in zip(adata.var_names, keep) if k]
    meta = dict(adata.uns.get(key, {}).get("params", {}))
    return GeneVectors(V[keep], genes, metadata=meta)


def fit_anndata(adata: Any, *, layer: str | None = "counts", key_added: str = "genevec",
                gene_sets: Any = "go_bp", **params):
    """Fit :class:`GeneGloVe` on an AnnData's counts; store the vectors in ``adata.varm[key_added]``.

    Parameters
    ----------
    adata : AnnData
        Cells (or samples, or pseudobulks) x genes; in memory or opened with ``backed="r"``
        (then read a chunk of cells at a time).
    layer : str or None, default="counts"
        The layer with the raw counts; ``None`` for ``X``. Never guessed.
    key_added : str, default="genevec"
        Key of ``varm`` and ``uns``.
    gene_sets : str, mapping, list or None, default="go_bp"
        Collections for the quality report (:func:`genevec.evaluate`); ``None`` skips it.
    **params
        Parameters of :class:`GeneGloVe` (``dim``, ``solver``, ``random_state``, ...).

    Returns
    -------
    GeneGloVe
        The fitted model. ``adata`` is modified in place: ``varm[key_added]`` of shape
        ``(n_vars, dim)`` with NaN rows for genes without a vector (dropped for lack of
        co-occurrence); ``uns[key_added]`` with ``params`` (a dict), ``n_genes`` and ``quality``
        (the report as JSON; ``genevec.evaluate.QualityReport.from_dict(json.loads(...))``).

    See Also
    --------
    genevec.GeneVectors.from_anndata : The vectors back from ``adata``.
    genevec.pseudobulk : Sum groups of cells first (recommended for single cells).

    Examples
    --------
    >>> import anndata, pandas as pd
    >>> import genevec
    >>> counts = genevec.datasets.load_demo(n_genes=200)
    >>> adata = anndata.AnnData(counts.to_numpy(dtype=float), var=pd.DataFrame(index=list(counts.columns)))
    >>> model = genevec.fit_anndata(adata, layer=None, dim=8, solver="svd", max_iter=0, random_state=0,
    ...                             gene_sets=None)
    >>> adata.varm["genevec"].shape, adata.uns["genevec"]["params"]["dim"]
    ((200, 8), 8)
    >>> genevec.GeneVectors.from_anndata(adata).most_similar("TP53", topn=1) == model.most_similar("TP53", topn=1)
    True
    """
    from .estimator import GeneGloVe

    model = GeneGloVe(**params).fit(adata, layer=layer)
    report = None
    if gene_sets is not None:
        from .evaluate import evaluate

        report = evaluate(model, gene_sets=gene_sets)
    vectors_to_anndata(model.vectors_, adata, key=key_added, quality=report)
    log.info("fit_anndata: %d genes, vectors in adata.varm[%r]", len(model.genes_), key_added)
    return model
