"""Where a vectors file came from: the training record kept in its metadata, read back in plain words.

``genevec train`` and ``genevec demo`` store a record under ``metadata["provenance"]`` (saved in the
vectors' JSON sidecar): the input file's name (never its folder), the tissue and the detailed
tissues behind it with their sample counts, the gene filters, the genes kept and dropped, the seed,
the genevec version and the date. :func:`describe` turns it into rows for the app's About tab and
``genevec info``; :func:`guidance` says what to expect from such vectors (few samples, mixed tissues,
cultured cells, a weak quality report); :func:`absent_reason` says why a gene is not in a model.

Examples
--------
>>> from genevec.provenance import describe, guidance
>>> meta = {"provenance": {"counts_file": "skin.gct.gz", "tissue": "Skin", "n_samples": 20,
...         "tissues": {"Cells - Transformed fibroblasts": 13, "Skin - Sun Exposed (Lower leg)": 7},
...         "genes_in_input": 5000, "genes_kept": 3000, "filters": {"top_genes": 3000}}}
>>> dict(describe(meta))["Tissue"]
'Skin: 20 samples (Cells - Transformed fibroblasts 13, Skin - Sun Exposed (Lower leg) 7)'
>>> [line.split(":")[0] for line in guidance(meta)]
['Few samples (20)', 'Mixed tissues', 'Cultured cells']
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ._version import __version__

log = logging.getLogger(__name__)

__all__ = ["KEY", "training_record", "describe", "summary", "parameters", "guidance", "absent_reason", "FEW_SAMPLES"]

#: The metadata key of the training record.
KEY = "provenance"
#: Below this many samples, :func:`guidance` warns that co-expression is noisy.
FEW_SAMPLES = 50

#: Training parameters in the order and words the About tab and ``genevec info`` use.
_PARAMETERS = {
    "solver": "solver", "dim": "vector length (dim)", "eigen_power": "eigenvalue weighting (eigen_power)",
    "x_max": "co-occurrence cap (x_max)", "alpha": "weighting exponent (alpha)", "max_iter": "epochs or sweeps asked",
    "n_iter": "epochs or sweeps run", "learning_rate": "learning rate", "init": "SGD start (init)",
    "vectors": "vectors kept (W + C or W)", "tol": "stopping tolerance (tol)", "dtype": "precision",
    "loss": "final loss (exact, all co-occurrences)",
    "final_epoch_loss": "last epoch's running loss (averaged while the vectors moved)",
}
_SGD_ONLY = {"learning_rate", "init", "tol", "final_epoch_loss"}   # not used by (or the same as loss for) svd
_HIDDEN = {KEY, "quality", "n_jobs", "verbose", "warm_start", "allow_non_integer", "n_genes", "n_samples",
           "random_state"}


def _basename(path: Any) -> str | None:
    return None if path is None else os.path.basename(os.fspath(path))


def training_record(model: Any, *, counts_file: Any = None, source: str | None = None, attributes_file: Any = None,
                    tissue: str | None = None, tissues: Mapping[str, int] | None = None,
                    genes_in_input: int | None = None, filters: Mapping[str, Any] | None = None,
                    filtered_out: Sequence[str] = ()) -> dict:
    """The record of a training run, for ``vectors.metadata[KEY]``.

    Parameters
    ----------
    model : GeneGloVe
        Fitted; gives the samples, the genes kept, the genes it dropped (no co-occurrence) and the seed.
    counts_file, attributes_file : path, optional
        Only their file names are kept (a server's folders are nobody's business).
    source : str, optional
        Where the data come from, in words (e.g. the embedded demo's origin).
    tissue : str, optional
        The tissue asked for (SMTS or SMTSD).
    tissues : dict of str to int, optional
        The detailed tissues of the samples used, with counts (:func:`genevec.io.samples.detailed_tissues`).
    genes_in_input : int, optional
        Genes in the counts as read, before any filter.
    filters : dict, optional
        The gene filters applied (``min_samples``, ``min_counts``, ``top_genes``...).
    filtered_out : sequence of str
        The genes the filters removed (kept, space-separated, so that a missing gene can be explained).

    Returns
    -------
    dict
        JSON-ready.
    """
    seed = getattr(model, "random_state", None)
    no_cooccurrence = [str(g) for g in getattr(model, "dropped_genes_", [])]
    record = {
        "counts_file": _basename(counts_file), "source": source, "attributes_file": _basename(attributes_file),
        "tissue": tissue, "tissues": dict(tissues) if tissues else None,
        "n_samples": int(getattr(model, "n_samples_fit_", 0)) or None,
        "filters": dict(filters or {}), "genes_in_input": genes_in_input, "genes_kept": len(model.genes_),
        "dropped_by_filters": " ".join(map(str, filtered_out)), "dropped_no_cooccurrence": " ".join(no_cooccurrence),
        "seed": seed if isinstance(seed, int) or seed is None else str(seed),
        "genevec_version": __version__, "trained": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return {k: v for k, v in record.items() if v is not None and v != ""}


def _record(metadata: Mapping | None) -> dict:
    rec = (metadata or {}).get(KEY)
    return dict(rec) if isinstance(rec, Mapping) else {}


def _filters_text(filters: Mapping) -> str:
    return ", ".join(f"{k}={v}" for k, v in filters.items()) if filters else "none"


def describe(metadata: Mapping | None) -> list[tuple[str, str]]:
    """``(label, value)`` rows of the training record, or one row saying there is none.

    Examples
    --------
    >>> from genevec.provenance import describe
    >>> describe({})
    [('Training record', 'none: these vectors were not trained with genevec train (or by an older genevec)')]
    """
    rec = _record(metadata)
    if not rec:
        return [("Training record", "none: these vectors were not trained with genevec train "
                                    "(or by an older genevec)")]
    rows = []
    data = rec.get("counts_file")
    if rec.get("source"):
        data = f"{data} ({rec['source']})" if data else rec["source"]
    if data:
        rows.append(("Trained on", data))
    n = rec.get("n_samples")
    tissues = rec.get("tissues") or {}
    detail = ", ".join(f"{t} {c}" for t, c in tissues.items())
    if rec.get("tissue"):
        rows.append(("Tissue", f"{rec['tissue']}: {n} samples" + (f" ({detail})" if detail else "")))
    elif n:
        rows.append(("Samples", f"{n}" + (f", every tissue of the file ({detail})" if detail else "")))
    if rec.get("attributes_file"):
        rows.append(("Sample attributes", rec["attributes_file"]))
    rows.append(("Gene filters", _filters_text(rec.get("filters") or {})))
    kept, total = rec.get("genes_kept"), rec.get("genes_in_input")
    by_filter = len(rec.get("dropped_by_filters", "").split())
    no_co = len(rec.get("dropped_no_cooccurrence", "").split())
    genes = f"{kept:,} kept" + (f" of {total:,}" if total else "")
    dropped = [f"{by_filter:,} by the filters"] * bool(by_filter) + [f"{no_co:,} with no co-occurring gene"] * bool(no_co)
    rows.append(("Genes", genes + (f" (dropped: {', '.join(dropped)})" if dropped else "")))
    rows.append(("Seed", str(rec.get("seed"))))
    rows.append(("genevec", f"{rec.get('genevec_version', '?')}, {rec.get('trained', 'date unknown')}"))
    return rows


def summary(metadata: Mapping | None) -> str:
    """One line: the tissue, samples and input file, or that there is no record.

    Examples
    --------
    >>> from genevec.provenance import summary
    >>> summary({"provenance": {"tissue": "Pancreas", "n_samples": 328, "counts_file": "gtex.gct.gz"}})
    'Pancreas, 328 samples, from gtex.gct.gz'
    >>> summary({})
    'no training record'
    """
    rec = _record(metadata)
    if not rec:
        return "no training record"
    parts = [rec["tissue"]] if rec.get("tissue") else []
    if rec.get("n_samples"):
        parts.append(f"{rec['n_samples']:,} samples")
    source = rec.get("counts_file") or rec.get("source")
    return ", ".join(parts) + (f", from {source}" if source else "")


def parameters(metadata: Mapping | None) -> list[tuple[str, str]]:
    """``(label, value)`` rows of the training parameters, known ones first in plain words, then any other.

    Examples
    --------
    >>> from genevec.provenance import parameters
    >>> parameters({"dim": 100, "solver": "svd", "x_max": 100.0, "n_jobs": -1, "custom": [1, 2]})
    [('solver', 'svd'), ('vector length (dim)', '100'), ('co-occurrence cap (x_max)', '100'), ('custom', '[1, 2]')]
    """
    meta = dict(metadata or {})

    def text(v: Any) -> str:
        return f"{v:.6g}" if isinstance(v, float) else str(v)

    hide = _SGD_ONLY if meta.get("solver") == "svd" else set()
    rows = [(label, text(meta[k])) for k, label in _PARAMETERS.items() if meta.get(k) is not None and k not in hide]
    rows += [(k, text(v)) for k, v in sorted(meta.items()) if k not in _PARAMETERS and k not in _HIDDEN]
    return rows


def guidance(metadata: Mapping | None) -> list[str]:
    """What to expect from these vectors, in plain words: one sentence per caution (or encouragement).

    Looks at the number of samples, mixed tissues, cultured cells and the stored quality report
    (:func:`genevec.evaluate`). Empty when there is nothing to say.

    Examples
    --------
    >>> from genevec.provenance import guidance
    >>> guidance({"provenance": {"n_samples": 300, "tissues": {"Pancreas": 300}}})
    []
    """
    meta = metadata or {}
    rec = _record(meta)
    out = []
    if not rec:
        out.append("No training record: nothing is known of the samples behind these vectors. Judge a neighbour "
                   "by its support and by the enrichment of the gene's neighbours, not by its rank alone.")
    n = rec.get("n_samples")
    if n and n < FEW_SAMPLES:
        out.append(f"Few samples ({n}): co-expression measured over so few samples is noisy, so expect a weak "
                   "signal; trust a neighbour when its support is high or the enriched sets agree with it.")
    tissues = rec.get("tissues") or {}
    cells = {t: c for t, c in tissues.items() if t.startswith("Cells -")}
    if len(tissues) > 1:
        example = next((t for t in tissues if t not in cells), next(iter(tissues)))
        out.append(f"Mixed tissues: {', '.join(tissues)}. Genes that differ between these tissues rise and fall "
                   "together across the samples, so neighbours may reflect tissue rather than shared function; "
                   f"train on one detailed tissue (e.g. --tissue '{example}') for function within it.")
    if cells:
        total = sum(tissues.values())
        listed = ", ".join(f"{t}: {c}" for t, c in cells.items())
        out.append(f"Cultured cells: {sum(cells.values())} of the {total} samples are cell lines ({listed}), "
                   "whose expression differs from tissue.")
    out.extend(_quality_guidance(meta.get("quality")))
    return out


def _quality_guidance(report: Any) -> list[str]:
    if not report:
        return []
    try:
        go = report["collections"][next(iter(report["collections"]))]
        v, name = go["vectors"], next(iter(report["collections"]))
        ratio = v["precision"] / v["random_precision"] if v.get("random_precision") else None
    except (KeyError, TypeError, StopIteration, ZeroDivisionError):
        return []
    from .genesets import collection_title

    title = collection_title(name)
    if ratio is None:
        return []
    if ratio < 1.2:
        line = (f"Weak signal: a gene's nearest genes share {title} only {ratio:.2f}x as often as random genes do; "
                "read single neighbours as hypotheses, not findings.")
    else:
        line = f"A gene's nearest genes share {title} {ratio:.2f}x as often as random genes do."
    pearson = go.get("pearson")
    if pearson and pearson.get("precision") is not None and pearson["precision"] > v["precision"]:
        line += (f" A plain Pearson correlation of the same counts does better ({pearson['precision']:.0%} against "
                 f"{v['precision']:.0%}).")
    return [line]


def _tissue_reason(tissue: Mapping, gene: str, dropped: set) -> str | None:
    """Why a tissue of a collection lacks ``gene``: not expressed there, or left out by the run's gene rule."""
    name = tissue["name"]
    run = tissue.get("run") or {}
    expression = run.get("expression") or {}
    if gene in set(str(tissue.get("not_expressed", "")).split()):
        rule = (f" (fewer than {expression['min_reads']} reads in {expression['min_fraction']:.0%} of its "
                f"{tissue.get('n_samples')} samples)" if expression else "")
        return f"not expressed in {name}{rule}"
    if gene in dropped:
        why = []
        if run.get("genes") == "shared":
            why.append("not expressed in every tissue of the collection (genes='shared')")
        if run.get("top_genes"):
            why.append(f"not among the top_genes={run['top_genes']} most expressed")
        if why:
            return f"expressed in {name}, but {' or '.join(why)}"
    return None


def absent_reason(metadata: Mapping | None, gene: str, n_genes: int) -> str:
    """Why ``gene`` is not among a model's ``n_genes`` genes, from its training record.

    Examples
    --------
    >>> from genevec.provenance import absent_reason
    >>> meta = {"provenance": {"filters": {"min_samples": 10}, "dropped_by_filters": "EGFR KRAS",
    ...                        "counts_file": "pancreas.gct.gz"}}
    >>> absent_reason(meta, "EGFR", 3000)
    'filtered out at training (min_samples=10)'
    >>> absent_reason(meta, "TP53", 3000)
    'not in the training data (pancreas.gct.gz)'
    >>> absent_reason({}, "TP53", 3000)
    'not among its 3,000 genes (no training record says why)'
    """
    rec = _record(metadata)
    if not rec:
        return f"not among its {n_genes:,} genes (no training record says why)"
    tissue = (metadata or {}).get("tissue")
    if isinstance(tissue, dict) and tissue.get("name"):     # a tissue of a collection (genevec.fit_tissues)
        why = _tissue_reason(tissue, gene, set(rec.get("dropped_by_filters", "").split()))
        if why:
            return why
    if gene in set(rec.get("dropped_by_filters", "").split()):
        return f"filtered out at training ({_filters_text(rec.get('filters') or {})})"
    if gene in set(rec.get("dropped_no_cooccurrence", "").split()):
        return "dropped at training: it had no reads in the samples, so it co-occurs with no gene"
    source = rec.get("counts_file") or rec.get("source")
    return "not in the training data" + (f" ({source})" if source else "")
