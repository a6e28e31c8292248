"""The About tab, as plain functions without Shiny: where each model came from and how good it is."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any


def about(models: Sequence[Any]) -> list[dict[str, Any]]:
    """Per model, what the About tab shows: label, kind, file name (never the server's folders), genes, dimension,
    dtype, where the vectors came from (:func:`genevec.provenance.describe`), what to expect of them
    (:func:`genevec.provenance.guidance`), the training parameters in plain words, the quality report
    (``quality``: verdicts and table rows, when stored), the neighbour support and, for a tissue of a
    collection, its split-half stability and alignment (``tissue``: label/value rows, else empty)."""
    from .. import provenance

    out = []
    for mdl in models:
        gv = mdl.vectors
        meta = dict(getattr(gv, "metadata", {}) or {})
        out.append({"label": mdl.label, "kind": mdl.kind,
                    "file": os.path.basename(mdl.path) or "none (fitted in this process, not saved)",
                    "genes": len(gv), "dim": int(gv.dim),
                    "dtype": str(gv.vectors.dtype), "provenance": provenance.describe(meta),
                    "guidance": provenance.guidance(meta), "parameters": provenance.parameters(meta),
                    "quality": quality_summary(meta.get("quality")), "tissue": tissue_rows(meta),
                    "support": None if gv.support is None else
                    f"{gv.support.n_fits} {gv.support.mode} refits, top {gv.support.k}"})
    return out


def tissue_rows(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, value)`` rows of a collection tissue's record: samples, split-half stability, alignment.

    Empty for vectors that are not a tissue of a collection.

    Examples
    --------
    >>> from genevec.app._about import tissue_rows
    >>> rows = tissue_rows({"tissue": {"name": "Skin", "level": "SMTS", "n_samples": 20},
    ...                     "stability": {"k": 10, "n_fits": 4, "mean_jaccard": 0.186},
    ...                     "alignment": {"reference": "Skin", "shared_genes": 300, "mean_cosine": 1.0}})
    >>> rows[0], rows[2]
    (('Tissue in the collection', 'Skin (SMTS), 20 samples'), ('Aligned onto', 'Skin, the reference tissue'))
    >>> rows[1][1][:50]
    "0.19: mean Jaccard of a gene's 10 nearest genes be"
    """
    record = meta.get("tissue")
    if not isinstance(record, dict) or "name" not in record:
        return []
    rows = [("Tissue in the collection", f"{record['name']} ({record.get('level', '?')}), "
                                         f"{int(record.get('n_samples', 0)):,} samples")]
    stab = meta.get("stability") or {}
    if stab.get("mean_jaccard") is not None:
        rows.append(("Split-half stability", f"{float(stab['mean_jaccard']):.2f}: mean Jaccard of a gene's "
                                             f"{stab.get('k')} nearest genes between fits of two random halves of "
                                             f"the samples ({stab.get('n_fits')} fits)"))
    align = meta.get("alignment") or {}
    if align.get("reference"):
        if align["reference"] == record["name"]:
            rows.append(("Aligned onto", f"{align['reference']}, the reference tissue"))
        else:
            rows.append(("Aligned onto", f"{align['reference']} (orthogonal Procrustes on {align.get('shared_genes')} "
                                         f"shared genes; mean cosine after rotation "
                                         f"{float(align.get('mean_cosine', float('nan'))):.2f})"))
    return rows


def quality_summary(report: Any) -> dict[str, Any] | None:
    """Verdicts and rounded rows of a stored :class:`genevec.QualityReport` dict (None if absent or unreadable)."""
    if not report:
        return None
    from ..evaluate import QualityReport

    try:
        rep = QualityReport.from_dict(report)
    except (KeyError, TypeError, ValueError):
        return None
    rows = []
    for (coll, method), r in rep.table.iterrows():
        rows.append({"Collection": coll, "Method": "these vectors" if method == "vectors" else "Pearson of log-CPM",
                     f"Precision@{rep.k}": round(float(r["precision"]), 3),
                     "Random": round(float(r["random_precision"]), 3), "AUROC": round(float(r["auroc"]), 3)})
    return {"verdicts": rep.verdicts(), "rows": rows}
