"""Every tissue of a GTEx file in one run: :func:`fit_tissues` (``genevec.fit_tissues``).

The GCT is read once (:func:`genevec.io.split.read_gct_split`): each line's counts are split by
tissue and kept where the gene is expressed. Then each tissue with enough samples gets its own
model, its quality report (:func:`genevec.evaluate`), its split-half stability
(:func:`genevec.stability` with ``mode="halves"``, the noise the shift scores are calibrated on) and a rotation onto the
reference tissue (:func:`genevec.shifts.align`). With ``output=`` each finished tissue is written at
once, atomically, so a killed run restarts from the tissues already done.
"""

from __future__ import annotations

import hashlib
import json
import logging
import numbers
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._progress import Progress
from ._validation import check_int_at_least
from .collection import MANIFEST, TISSUE_KEY, TissueModels, file_name, write_manifest

log = logging.getLogger(__name__)

__all__ = ["fit_tissues", "GENE_UNIVERSES"]

#: ``genes=`` of :func:`fit_tissues`.
GENE_UNIVERSES = ("shared", "union")


def _say(verbose: int, message: str) -> None:
    Progress(verbose, "[tissues] ").say(1, message)


def _fingerprint(path: Path) -> dict:
    """A file's name, size and SHA-256 of its first and last MiB: enough to tell a resumed run's input apart."""
    size = path.stat().st_size
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        h.update(fh.read(1 << 20))
        if size > 2 << 20:
            fh.seek(size - (1 << 20))
            h.update(fh.read())
    return {"name": path.name, "size": size, "sha256_head_tail": h.hexdigest()}


def _jsonable_params(estimator: Any) -> dict:
    return {k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v))
            for k, v in estimator.get_params().items() if k not in ("n_jobs", "verbose")}


def _finished(folder: Path, settings: dict, fitted: Sequence[str], verbose: int) -> dict:
    """The tissues of ``fitted`` already written to ``folder`` by a run with the same settings."""
    from .exceptions import FileFormatError
    from .similarity import load_vectors

    digests = {}
    if (folder / MANIFEST).is_file():
        try:
            with open(folder / MANIFEST, encoding="utf-8") as fh:
                digests = {e["tissue"]: e.get("sha256") for e in json.load(fh)["tissues"]}
        except (OSError, ValueError, KeyError, TypeError):
            digests = {}
    done = {}
    for t in fitted:
        path = folder / file_name(t)
        if not path.is_file():
            continue
        try:
            gv = load_vectors(path)
        except (FileFormatError, ValueError, OSError) as exc:
            _say(verbose, f"{t}: {path.name} cannot be read ({exc}); fitting the tissue again")
            continue
        record = gv.metadata.get(TISSUE_KEY) or {}
        theirs = record.get("run") or {}
        if theirs != settings:
            changed = sorted(k for k in set(theirs) | set(settings) if theirs.get(k) != settings.get(k))
            raise ValueError(
                f"{folder} holds {path.name}, the vectors of tissue {t!r} from another run (different: "
                f"{', '.join(changed) or 'its record'}). A run resumes only with the same files and settings: write "
                f"to a new folder, or delete the folder's files to start over."
            )
        if t in digests:
            from .collection import sha256

            if digests[t] != sha256(path):
                _say(verbose, f"{t}: {path.name} differs from the manifest; fitting the tissue again")
                continue
        done[t] = gv
    return done


def _select_lines(split, fitted: Sequence[str], genes: str, top_genes: int | None) -> dict[str, np.ndarray]:
    """Per tissue, the file lines it is trained on: kept by the read, then the ``top_genes`` most expressed."""
    kept = split.kept
    cpm = split.totals / np.maximum(split.totals.sum(axis=0, keepdims=True), 1) * 1e6  # pooled CPM per tissue
    out = {}
    if genes == "shared":
        mask = kept[:, 0].copy()
        if top_genes is not None and mask.sum() > top_genes:
            score = cpm.mean(axis=1)
            lines = np.flatnonzero(mask)
            mask[:] = False
            mask[lines[np.lexsort((lines, -score[lines]))[:top_genes]]] = True
        return {t: mask for t in fitted}
    for g, t in enumerate(split.tissues):
        mask = kept[:, g].copy()
        if top_genes is not None and mask.sum() > top_genes:
            lines = np.flatnonzero(mask)
            mask[:] = False
            mask[lines[np.lexsort((lines, -cpm[lines, g]))[:top_genes]]] = True
        out[t] = mask
    return out


def _check_savable(split, lines: dict, path: Path) -> None:
    """Before any fit: every gene to be written has a name word2vec text can hold (no whitespace)."""
    chosen = np.zeros(len(split.labels), dtype=bool)
    for mask in lines.values():
        chosen |= mask
    bad = [(int(i), str(split.labels[i])) for i in np.flatnonzero(chosen) if any(c.isspace() for c in str(split.labels[i]))]
    if bad:
        listed = ", ".join(f"{g!r} (line {i + 4})" for i, g in bad[:5])
        raise ValueError(
            f"{path}: {len(bad)} gene name(s) contain whitespace, which the collection's word2vec files cannot "
            f"hold: {listed}{', ...' if len(bad) > 5 else ''}. Nothing was fitted. Rename them in the file "
            "(e.g. spaces to '_'), or name genes by their IDs (gene_names='ensembl'; on the command line "
            "--gene-names ensembl)."
        )


def _check_universe(split, expression, genes: str, k: int) -> None:
    """Fail before any fit when the tissues share no gene (shared) or a tissue has too few (union)."""
    names = split.tissues
    if genes == "shared":
        n = int(split.kept[:, 0].sum()) if len(names) else 0
        if n > k:
            return
        E = split.expressed.astype(np.int64)
        both = E.T @ E
        a, b = np.unravel_index(np.argmin(both + np.eye(len(names), dtype=np.int64) * (1 << 40)), both.shape)
        pair = (f"{names[a]!r} and {names[b]!r} share {int(both[a, b])} expressed gene(s)" if len(names) > 1
                else f"{names[0]!r} expresses {int(E.sum())}")
        raise ValueError(
            f"Only {n} gene(s) are expressed ({expression}) in every one of the {len(names)} tissues, too few for "
            f"k={k} neighbours: {pair}. Use genes='union' (each tissue keeps its own genes), relax the filter "
            "(min_reads, min_fraction), or leave a tissue out."
        )
    counts = split.kept.sum(axis=0)
    low = [f"{t} ({int(c)})" for t, c in zip(names, counts) if c <= k]
    if low:
        raise ValueError(f"These tissues express k={k} genes or fewer ({expression}): {', '.join(low)}. Relax the "
                         "filter (min_reads, min_fraction) or leave them out.")


def fit_tissues(counts_path: str | os.PathLike, attributes: Any, *, tissues: str | Sequence[str] = "all",
                level: str = "SMTS", min_samples: int = 20, estimator: Any = None, genes: str = "shared",
                n_jobs: int | None = None, min_reads: int = 10, min_fraction: float = 0.5,
                top_genes: int | None = None, reference: str | None = None, n_splits: int = 2, k: int = 10,
                random_state: int | None = 0, output: str | os.PathLike | None = None, gene_names: str = "symbol",
                verbose: int = 0) -> TissueModels:
    """Fit one model per tissue of a GCT file read once, align them in one space, and keep what compares them.

    Parameters
    ----------
    counts_path : str or PathLike
        GCT 1.2 counts, plain or gzipped (GTEx's ``..._gene_reads.gct.gz``). Read once, streaming; each
        line's counts are split by tissue, never the whole file per tissue.
    attributes : str, PathLike or DataFrame
        Sample attributes (GTEx SampleAttributesDS, :func:`genevec.read_attributes`).
    tissues : "all" or sequence of str, default="all"
        The tissues at ``level`` to fit (case-insensitive).
    level : {"SMTS", "SMTSD"}, default="SMTS"
        Broad (``"Skin"``) or detailed (``"Skin - Sun Exposed (Lower leg)"``) tissues.
    min_samples : int >= 4, default=20
        Tissues with fewer samples in the counts file are skipped, with one line naming them and
        their counts (below about 20 samples a gene's neighbours are mostly noise: see the docs page
        "How good are the vectors?").
    estimator : GeneGloVe, optional
        The model fitted per tissue (cloned; its ``random_state`` is set to ``random_state``).
        Default: ``GeneGloVe()``, the closed form, seconds per tissue.
    genes : {"shared", "union"}, default="shared"
        The gene universe. ``"shared"``: the genes expressed in every fitted tissue (by the filter
        below), so every tissue has the same genes and every gene can be compared everywhere.
        ``"union"``: each tissue keeps the genes it expresses; a gene has no vector in a tissue
        that does not express it, and :meth:`TissueModels.compare` says so.
    n_jobs : int, optional
        Threads of each fit and neighbour search (None: every core). The result does not depend on it.
    min_reads, min_fraction : int, float, default=10, 0.5
        A gene is expressed in a tissue when it has ``min_reads`` reads or more in at least
        ``min_fraction`` of the tissue's samples (the rule of the quality benchmarks).
    top_genes : int, optional
        Then keep only the ``top_genes`` most expressed genes: of the shared genes, those of highest
        CPM averaged over the tissues (``"shared"``), or each tissue's own (``"union"``). Time and
        memory grow with the square of the number of genes.
    reference : str, optional
        The tissue every other one is rotated onto. Default: the fitted tissue with most samples
        (the least noisy).
    n_splits : int, default=2
        Random splits of each tissue's samples into two halves, each half fitted on its own
        (``2 * n_splits`` fits per tissue): how much a gene's neighbours agree between two
        independent halves is the noise the shift scores are measured against (see
        :mod:`genevec.shifts`). These fits are most of a tissue's cost; on GTEx whole blood 2
        splits gave the same null as 5 (expected Jaccard 0.266 vs 0.269, ``benchmarks/RESULTS.md``).
    k : int, default=10
        Neighbours per gene, for stability and for the shift scores' Jaccard.
    random_state : int or None, default=0
        Seeds every tissue's fit and splits; the same data and seed give the same bits.
    output : str or PathLike, optional
        A folder (created if missing) that receives each tissue's file as soon as it is done and
        ``manifest.json`` at the end. Running again with the same folder, files and settings resumes:
        tissues already written are loaded, not refitted.
    gene_names : {"symbol", "ensembl"}, default="symbol"
        As :func:`genevec.read_counts`. The quality reports need symbols.
    verbose : int, default=0
        1: a line per phase and per tissue (samples, genes, seconds, quality verdict) on stderr.

    Returns
    -------
    TissueModels

    Raises
    ------
    ValueError
        Attributes without the ``level`` column, a tissue name that matches nothing (the tissues are
        listed with their sample counts), a tissue none of whose samples is in the counts file, no
        tissue with ``min_samples``, tissues that share no expressed gene, or an ``output`` folder
        holding another run's files.

    Notes
    -----
    Memory: the expressed counts of every fitted tissue, 4 bytes each (for GTEx v8 at the default
    filter about 1 GB), plus one tissue's fit. Time: one pass over the file, then per tissue one fit,
    one quality report and ``2 * n_splits`` fits of half the samples; ``benchmarks/RESULTS.md`` has the numbers
    for a GTEx-v8-shaped file.

    Examples
    --------
    >>> import genevec
    >>> from genevec.datasets import demo_paths
    >>> models = genevec.fit_tissues(*demo_paths(), min_samples=5, top_genes=300, n_splits=2)
    >>> models.tissues, len(models["Skin"]), len(models["Bladder"])
    (['Skin', 'Bladder'], 300, 300)
    >>> models.compare("KRT14", topn=3).shape
    (3, 4)
    """
    from sklearn.base import clone

    from .estimator import GeneGloVe, fit_whole
    from .evaluate import evaluate
    from .io import read_gct_header
    from .io.samples import _as_attributes, tissue_groups
    from .io.split import ExpressionFilter, read_gct_split
    from .io.tables import check_file
    from .shifts import align
    from .stability import stability

    t_start = time.perf_counter()
    if genes not in GENE_UNIVERSES:
        raise ValueError(f"fit_tissues: genes must be 'shared' (the genes expressed in every tissue) or 'union' (each "
                         f"tissue its own), got {genes!r}.")
    if isinstance(min_samples, numbers.Integral) and not isinstance(min_samples, bool) and 0 < min_samples < 4:
        raise ValueError(f"fit_tissues: min_samples must be at least 4, got {min_samples}: each tissue's noise is "
                         "measured by fitting two halves of its samples, and a half needs 2 samples. (A tissue of "
                         "fewer than about 20 samples gives mostly noise anyway.)")
    min_samples = check_int_at_least(min_samples, "min_samples", 4, "fit_tissues")
    n_splits = check_int_at_least(n_splits, "n_splits", 1, "fit_tissues")
    k = check_int_at_least(k, "k", 1, "fit_tissues")
    top_genes = check_int_at_least(top_genes, "top_genes", k + 2, "fit_tissues", allow_none=True)
    random_state = check_int_at_least(random_state, "random_state", 0, "fit_tissues", allow_none=True)
    expression = ExpressionFilter(min_reads, min_fraction)
    estimator = GeneGloVe() if estimator is None else estimator
    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise TypeError(f"fit_tissues: estimator must be a GeneGloVe (or an estimator like it), got "
                        f"{type(estimator).__name__}.")
    estimator = clone(estimator).set_params(random_state=random_state, verbose=0)
    if n_jobs is not None:
        estimator.set_params(n_jobs=n_jobs)
    path = check_file(counts_path, "counts file")
    attrs = _as_attributes(attributes)
    groups = tissue_groups(attrs, level, tissues)

    _, in_file = read_gct_header(path)
    in_file = set(in_file)
    present = {t: sum(s in in_file for s in ids) for t, ids in groups.items()}
    absent = [t for t, n in present.items() if n == 0]
    if absent and not (isinstance(tissues, str) and tissues.casefold() == "all"):
        raise ValueError(
            f"None of the samples of {', '.join(f'{t!r} ({len(groups[t])} listed)' for t in absent)} is in {path} "
            f"({len(in_file):,} samples there). Check that the attributes belong to this counts file (same GTEx "
            "release), or leave the tissue out."
        )
    fitted = [t for t in groups if present[t] >= min_samples]
    skipped = [{"tissue": t, "n_samples": present[t],
                "reason": (f"{present[t]} samples in the counts file, fewer than min_samples={min_samples}"
                           + (f" ({len(groups[t])} listed in the attributes)" if present[t] < len(groups[t]) else ""))}
               for t in groups if t not in fitted]
    if skipped:
        _say(verbose, f"skipping {len(skipped)} tissue(s) with fewer than {min_samples} samples in the counts file: "
                      + ", ".join(f"{s['tissue']} ({s['n_samples']})" for s in skipped)
                      + ". Lower min_samples to fit them.")
        log.info("fit_tissues: skipped %s", ", ".join(s["tissue"] for s in skipped))
    if not fitted:
        listed = ", ".join(f"{t} ({present[t]})" for t in groups)
        raise ValueError(f"No {level} tissue has min_samples={min_samples} samples in {path.name}: {listed}. Lower "
                         "min_samples (on the command line: --min-samples N), or use another level.")
    missing = {t: len(groups[t]) - present[t] for t in fitted if present[t] < len(groups[t])}
    if missing:
        from .exceptions import DataWarning
        import warnings

        warnings.warn(
            f"{sum(missing.values()):,} samples listed in the attributes for the fitted tissues are not in {path.name} "
            f"({', '.join(f'{t} {n}' for t, n in missing.items())}); using the samples that are. This is expected when "
            "the attributes list samples without RNA-seq (GTEx WGS/WES samples).", DataWarning, stacklevel=2)
    if reference is None:
        reference = fitted[0]
    else:
        matches = [t for t in fitted if t.casefold() == str(reference).strip().casefold()]
        if not matches:
            raise ValueError(f"fit_tissues: the reference {reference!r} is not among the fitted tissues: "
                             f"{', '.join(fitted)}.")
        reference = matches[0]
    order = [reference] + [t for t in fitted if t != reference]

    attributes_file = Path(attributes).name if isinstance(attributes, (str, os.PathLike)) else None
    settings = {
        "level": level, "tissues": fitted, "min_samples": min_samples, "genes": genes,
        "expression": expression.to_dict(), "top_genes": top_genes, "gene_names": gene_names,
        "estimator": type(estimator).__name__, "params": _jsonable_params(estimator), "k": k,
        "n_splits": n_splits, "random_state": random_state, "reference": reference,
        "alignment": "orthogonal Procrustes onto the reference, on the unit vectors of the genes both have",
        "counts_file": _fingerprint(path), "attributes_file": attributes_file,
        "attributes_sha256": hashlib.sha256(attrs.to_csv().encode()).hexdigest(),
    }
    folder = None
    done: dict = {}
    if output is not None:
        folder = Path(output)
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"fit_tissues: output {str(folder)!r} is a file; give a folder for the collection.")
        folder.mkdir(exist_ok=True)
        done = _finished(folder, settings, fitted, verbose)
        if done:
            _say(verbose, f"resuming: {len(done)} of {len(fitted)} tissue(s) already in {folder}: {', '.join(done)}")

    timings = {"read_seconds": 0.0}
    vectors = dict(done)
    to_fit = [t for t in order if t not in done]
    if to_fit:
        def progress(lines: int, seconds: float) -> None:
            _say(verbose, f"reading {path.name}: {lines:,} genes, {seconds:.0f} s")

        split = read_gct_split(path, {t: groups[t] for t in fitted}, expression=expression, shared=genes == "shared",
                               store=to_fit, gene_names=gene_names, progress=progress)
        timings["read_seconds"] = split.seconds
        _check_universe(split, expression, genes, k)
        lines = _select_lines(split, fitted, genes, top_genes)
        if folder is not None:
            _check_savable(split, lines, path)
        universe = (f", {int(lines[fitted[0]].sum()):,} genes expressed in every tissue ({expression})"
                    if genes == "shared" else f", genes expressed ({expression}) per tissue")
        _say(verbose, f"read {path.name} in one pass: {split.expressed.shape[0]:,} genes x "
                      f"{sum(present.values()):,} samples of {len(groups)} tissues{universe}; "
                      f"{split.nbytes() / 1e6:,.0f} MB of counts kept, {split.seconds:.1f} s")

    for i, t in enumerate(to_fit):
        t0 = time.perf_counter()
        counts = split.take(t, lines=lines[t])
        model = fit_whole(clone(estimator), counts)
        t_fit = time.perf_counter() - t0
        try:
            report = evaluate(model, counts=counts)
            verdict = report.verdicts()[0]
        except ValueError as exc:
            report, verdict = None, f"quality not evaluated: {' '.join(str(exc).split())}"
        t_quality = time.perf_counter() - t0 - t_fit
        stab = stability(counts, estimator, n_resamples=2 * n_splits, k=k, mode="halves",
                         random_state=random_state, n_jobs=n_jobs)
        jaccard = stab.jaccard.reindex(list(model.genes_))
        t_stab = time.perf_counter() - t0 - t_fit - t_quality
        gv = model.vectors_
        if t == reference:
            aligned = np.asarray(gv.vectors, dtype=np.float64)
            alignment = {"reference": reference, "shared_genes": len(gv), "mean_cosine": 1.0}
        else:
            try:
                aligned, alignment = align(gv, vectors[reference])
            except ValueError as exc:
                raise ValueError(f"{t!r} cannot be aligned to the reference tissue {reference!r}: {exc} The two "
                                 f"tissues share {len(set(gv.genes) & set(vectors[reference].genes))} expressed "
                                 "gene(s); leave one out, or pick another reference.") from None
            alignment = {"reference": reference, **alignment}
        seconds = time.perf_counter() - t0
        out = _tissue_vectors(gv, aligned, model, counts, split, t, settings, expression, report, verdict, jaccard,
                              stab, alignment, seconds, lines[t], attributes_file, path, attrs)
        if folder is not None:
            out.metadata[TISSUE_KEY]["file"] = file_name(t)
            out.save(folder / file_name(t))
        vectors[t] = out
        timings[t] = {"fit": t_fit, "quality": t_quality, "stability": t_stab}
        _say(verbose, f"{i + 1}/{len(to_fit)} {t}: {counts.shape[0]:,} samples, {len(gv):,} genes, {seconds:.1f} s "
                      f"(fit {t_fit:.1f}, quality {t_quality:.1f}, stability {t_stab:.1f}); split-half Jaccard "
                      f"{np.nanmean(jaccard):.2f}; {verdict}")
        del counts, model, stab

    models = TissueModels({t: vectors[t] for t in fitted}, settings, skipped, timings=timings)
    if folder is not None:
        write_manifest(folder, models)
    _say(verbose, f"{len(fitted)} tissue(s) in {time.perf_counter() - t_start:.1f} s"
                  + (f"; collection in {folder}" if folder is not None else ""))
    return models


def _tissue_vectors(gv, aligned, model, counts, split, tissue, settings, expression, report, verdict, jaccard, stab,
                    alignment, seconds, lines, attributes_file, path, attrs):
    """The tissue's aligned GeneVectors with its record: tissue, run settings, quality, stability, provenance."""
    from . import provenance
    from .io.samples import detailed_tissues
    from .similarity import GeneVectors

    meta = dict(gv.metadata)
    g = split.tissues.index(tissue)
    kept_labels = set(map(str, split.labels[lines]))
    filtered_out = sorted(set(map(str, split.labels)) - kept_labels)
    meta[provenance.KEY] = provenance.training_record(
        model, counts_file=path, attributes_file=attributes_file, tissue=tissue,
        tissues=detailed_tissues(attrs, counts.index) if settings["level"] == "SMTS" else {tissue: counts.shape[0]},
        genes_in_input=len(set(map(str, split.labels))),
        filters={"expressed": str(expression), "genes": settings["genes"],
                 **({"top_genes": settings["top_genes"]} if settings["top_genes"] else {})},
        filtered_out=filtered_out)
    meta[TISSUE_KEY] = {"name": tissue, "level": settings["level"], "n_samples": int(counts.shape[0]),
                        "samples_missing": int(split.missing[tissue]), "genes_expressed": int(split.expressed[:, g].sum()),
                        "not_expressed": " ".join(sorted(set(map(str, split.labels[~split.expressed[:, g]]))
                                                         - kept_labels)),
                        "seconds": round(seconds, 3), "verdict": verdict, "run": settings}
    if report is not None:
        meta["quality"] = report.to_dict()
    meta["stability"] = {"k": stab.k, "n_fits": stab.n_fits, "mode": stab.mode,
                         "mean_jaccard": round(float(np.nanmean(jaccard)), 6),
                         "jaccard": [None if np.isnan(v) else round(float(v), 6) for v in jaccard.to_numpy()]}
    meta["alignment"] = {"method": "orthogonal Procrustes", **alignment}
    return GeneVectors(aligned, list(gv.genes), metadata=meta)
