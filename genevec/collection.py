"""A collection of per-tissue models in one space: :class:`TissueModels`, its folder, :func:`load_tissues`.

:func:`genevec.fit_tissues` returns a :class:`TissueModels`; on disk it is a folder holding one
word2vec text file per tissue (gensim reads each; its JSON sidecar has the tissue's training record,
quality report, split-half stability and alignment) and a ``manifest.json`` that lists them with
their SHA-256, written last and atomically. :func:`load_tissues` checks every file against the
manifest before returning anything, so a missing or altered file is an error, never half a collection.

Examples
--------
>>> import tempfile
>>> import genevec
>>> from genevec.datasets import demo_paths
>>> counts, attrs = demo_paths()
>>> models = genevec.fit_tissues(counts, attrs, min_samples=5, top_genes=300, n_splits=2)
>>> models.tissues
['Skin', 'Bladder']
>>> folder = tempfile.mkdtemp()
>>> _ = models.save(folder)
>>> genevec.load_tissues(folder).tissues
['Skin', 'Bladder']
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._atomic import atomic_write
from .exceptions import FileFormatError, GeneNotFoundError
from .similarity import GeneVectors, load_vectors

log = logging.getLogger(__name__)

__all__ = ["TissueModels", "load_tissues", "MANIFEST"]

MANIFEST = "manifest.json"
_FORMAT = "genevec.TissueModels"
_VERSION = 1
#: The metadata key of a tissue file's tissue record (name, level, samples, run settings).
TISSUE_KEY = "tissue"


def file_name(tissue: str, taken: Sequence[str] = ()) -> str:
    """A file name for a tissue's vectors: its name in lower case, runs of other characters as ``_``.

    Examples
    --------
    >>> from genevec.collection import file_name
    >>> file_name("Skin - Sun Exposed (Lower leg)")
    'skin_sun_exposed_lower_leg.txt'
    >>> file_name("Skin", taken=["skin.txt"])
    'skin_2.txt'
    """
    stem = re.sub(r"[^0-9a-z]+", "_", tissue.casefold()).strip("_") or "tissue"
    name, n = f"{stem}.txt", 1
    while name in taken:
        n += 1
        name = f"{stem}_{n}.txt"
    return name


def sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class TissueModels:
    """Gene vectors of several tissues in one space, with what is needed to compare them.

    Built by :func:`genevec.fit_tissues` or :func:`load_tissues`. Each tissue's vectors were fitted on
    its own samples, then rotated onto the reference tissue (orthogonal Procrustes on the genes
    they share), which keeps every cosine within the tissue, so its neighbour lists are its own.

    Parameters
    ----------
    vectors : dict of str to GeneVectors
        Each tissue's aligned vectors; metadata ``"tissue"`` (name, level, samples), ``"stability"``
        (``k``, ``n_fits``, ``mode`` and the per-gene ``jaccard``, in the genes' order),
        ``"alignment"`` and, when evaluated, ``"quality"``.
    settings : dict
        How the collection was made (level, gene universe, filter, estimator, k, seed, reference...).
    skipped : list of dict, optional
        Tissues left out, each with ``tissue``, ``n_samples`` and ``reason``.
    timings : dict, optional
        Seconds of the run that made the collection: ``read_seconds`` and, per tissue fitted in that
        run, ``fit``, ``quality`` and ``stability`` (tissues loaded from a resumed run's files have none).

    Attributes
    ----------
    tissues : list of str
    settings : dict
    skipped : list of dict
    timings : dict

    See Also
    --------
    genevec.fit_tissues, load_tissues
    """

    def __init__(self, vectors: Mapping[str, GeneVectors], settings: Mapping[str, Any],
                 skipped: Sequence[Mapping] = (), *, timings: Mapping[str, Any] | None = None):
        if not vectors:
            raise ValueError("TissueModels needs at least one tissue.")
        self._vectors = dict(vectors)
        self.settings = dict(settings)
        self.skipped = [dict(s) for s in skipped]
        self.timings = dict(timings or {})
        self._stability: dict[str, pd.Series] = {}
        for t, gv in self._vectors.items():
            stab = gv.metadata.get("stability") or {}
            values = stab.get("jaccard")
            if values is None or len(values) != len(gv):
                raise ValueError(f"TissueModels: the vectors of {t!r} carry no per-gene split-half Jaccard for their "
                                 f"{len(gv):,} genes (metadata['stability']['jaccard']); fit them with fit_tissues.")
            self._stability[t] = pd.Series(np.array([np.nan if v is None else v for v in values], dtype=np.float64),
                                           index=pd.Index(gv.genes, name="gene"), name=t)
        self._shift_cache: dict[tuple, pd.DataFrame] = {}

    # ------------------------------------------------------------------ container
    @property
    def tissues(self) -> list[str]:
        return list(self._vectors)

    def __len__(self) -> int:
        return len(self._vectors)

    def __iter__(self) -> Iterator[str]:
        return iter(self._vectors)

    def __contains__(self, tissue: object) -> bool:
        return isinstance(tissue, str) and self._match(tissue, strict=False) is not None

    def __getitem__(self, tissue: str) -> GeneVectors:
        """The tissue's (aligned) vectors, matched case-insensitively."""
        return self._vectors[self.tissue(tissue)]

    def tissue(self, name: str) -> str:
        """The tissue's name as the collection spells it; a KeyError lists the tissues otherwise."""
        return self._match(name, strict=True)

    def _match(self, name: str, strict: bool) -> str | None:
        if not isinstance(name, str):
            raise TypeError(f"tissues are named by str, got {name!r} ({type(name).__name__}).")
        by_key = {t.casefold(): t for t in self._vectors}
        found = by_key.get(name.strip().casefold())
        if found is None and strict:
            near = difflib.get_close_matches(name.casefold(), list(by_key), n=3, cutoff=0.6)
            hint = (" Did you mean " + " or ".join(repr(by_key[k]) for k in near) + "?") if near else ""
            skipped = [s["tissue"] for s in self.skipped if s["tissue"].casefold() == name.strip().casefold()]
            why = ""
            if skipped:
                reason = next(s["reason"] for s in self.skipped if s["tissue"] == skipped[0])
                why = f" It was left out when the collection was made: {reason}."
            listed = ", ".join(f"{t} ({self.n_samples(t)})" for t in self._vectors)
            raise KeyError(f"No tissue {name!r} in this collection.{why}{hint} Its tissues, with their samples: "
                           f"{listed}.")
        return found

    def n_samples(self, tissue: str) -> int:
        return int(self[tissue].metadata[TISSUE_KEY]["n_samples"])

    def stability(self, tissue: str) -> pd.Series:
        """Per gene, the mean Jaccard of its top-``k`` neighbours between fits of two random halves of the tissue."""
        return self._stability[self.tissue(tissue)]

    @property
    def k(self) -> int:
        return int(self.settings["k"])

    def __repr__(self) -> str:
        listed = ", ".join(f"{t} ({self.n_samples(t)} samples, {len(gv):,} genes)" for t, gv in self._vectors.items())
        return (f"TissueModels({len(self)} tissues at level {self.settings.get('level')}, genes "
                f"{self.settings.get('genes')!r}: {listed})")

    # ------------------------------------------------------------------ queries
    def summary(self) -> pd.DataFrame:
        """One row per tissue: samples, genes, GO precision@10 (random, Pearson), split-half Jaccard, alignment."""
        rows = []
        for t, gv in self._vectors.items():
            meta = gv.metadata
            row = {"tissue": t, "samples": self.n_samples(t), "genes": len(gv),
                   "stability": float(np.nanmean(self._stability[t])) if len(gv) else np.nan}
            q = (meta.get("quality") or {}).get("collections", {}).get("go_bp", {})
            row["go_precision"] = (q.get("vectors") or {}).get("precision", np.nan)
            row["go_random"] = (q.get("vectors") or {}).get("random_precision", np.nan)
            row["go_pearson"] = (q.get("pearson") or {}).get("precision", np.nan)
            row["aligned_cosine"] = (meta.get("alignment") or {}).get("mean_cosine", np.nan)
            rows.append(row)
        return pd.DataFrame(rows).set_index("tissue")

    def _absent(self, tissue: str, gene: str) -> str:
        """Why ``gene`` has no vector in ``tissue``: not expressed there, left out by the gene universe, or absent."""
        from .provenance import absent_reason

        gv = self._vectors[tissue]
        return absent_reason(gv.metadata, gene, len(gv))

    def compare(self, gene: str, topn: int = 10, tissues: Sequence[str] | None = None) -> pd.DataFrame:
        """``gene``'s nearest genes in each tissue, side by side.

        Each tissue's own neighbour list over its own genes (the alignment does not change it).

        Parameters
        ----------
        gene : str
        topn : int, default=10
        tissues : sequence of str, optional
            Default: every tissue of the collection.

        Returns
        -------
        DataFrame
            Index ``rank`` (1 = nearest), columns ``(tissue, "gene")`` and ``(tissue, "cosine")`` for
            each tissue holding the gene. ``.attrs["absent"]`` maps each tissue without it to the
            reason (e.g. filtered out there).

        Raises
        ------
        GeneNotFoundError
            No chosen tissue has the gene (close names suggested).
        """
        chosen = [self.tissue(t) for t in (tissues if tissues is not None else self.tissues)]
        if not chosen:
            raise ValueError("compare: tissues is empty; name at least one tissue, or pass None for all.")
        present = [t for t in chosen if gene in self._vectors[t]]
        if not present:
            everything = sorted(set().union(*(self._vectors[t].genes for t in chosen)))
            near = difflib.get_close_matches(str(gene), everything, n=3)
            hint = f" Did you mean {', '.join(map(repr, near))}?" if near else ""
            raise GeneNotFoundError(f"{gene!r} has no vector in {'any of ' if len(chosen) > 1 else ''}"
                                    f"{', '.join(chosen)}.{hint} Genes are matched by symbol, case-sensitively.")
        columns = {}
        for t in present:
            hits = self._vectors[t].most_similar(gene, topn=int(topn))
            names = [g for g, _ in hits] + [""] * (int(topn) - len(hits))
            scores = [float(s) for _, s in hits] + [np.nan] * (int(topn) - len(hits))
            columns[(t, "gene")] = names
            columns[(t, "cosine")] = scores
        out = pd.DataFrame(columns, index=pd.RangeIndex(1, int(topn) + 1, name="rank"))
        out.columns = pd.MultiIndex.from_tuples(out.columns, names=["tissue", "field"])
        out.attrs["gene"] = gene
        out.attrs["absent"] = {t: self._absent(t, gene) for t in chosen if t not in present}
        return out

    def shifts(self, tissue_a: str, tissue_b: str, top: int | None = 50, *, alpha: float = 0.05,
               n_jobs: int | None = None) -> pd.DataFrame:
        """The genes whose company changes most between two tissues, beyond resampling noise.

        For every gene with a vector in both tissues: the Jaccard index of its top-``k`` neighbours
        in each (among the genes the two share), the cosine of its aligned vectors, and a shift score
        calibrated on each tissue's split-half stability (see :mod:`genevec.shifts`): ``score`` is
        ``-log10`` of the chance that resampling noise alone leaves an overlap this small, and
        ``shifted`` says the Benjamini-Hochberg q value is below ``alpha``.

        Parameters
        ----------
        tissue_a, tissue_b : str
        top : int or None, default=50
            Rows to return, most shifted first; None for every shared gene.
        alpha : float, default=0.05
        n_jobs : int, optional
            Threads of the neighbour searches (the result does not depend on it).

        Returns
        -------
        DataFrame
            See :func:`genevec.shifts.shift_table`; ``stability_a``/``_b`` and ``neighbours_a``/``_b``
            belong to ``tissue_a`` and ``tissue_b``. ``.attrs`` has ``tissues``, ``k`` and ``n_shifted``.

        Raises
        ------
        ValueError
            The same tissue twice, or tissues that share too few genes.
        """
        from ._validation import effective_n_jobs
        from .shifts import shift_table

        a, b = self.tissue(tissue_a), self.tissue(tissue_b)
        if a == b:
            raise ValueError(f"shifts compares two different tissues; got {a!r} twice. Pick another, one of: "
                             f"{', '.join(t for t in self.tissues if t != a)}.")
        if top is not None and (isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1):
            raise ValueError(f"shifts: top must be an int >= 1 or None (every gene), got {top!r}.")
        key = (a, b, float(alpha))
        table = self._shift_cache.get(key)      # one read: another thread may replace the cache meanwhile
        if table is None:
            n_pairs = int(self.settings["n_splits"])
            table = shift_table(self._vectors[a], self._vectors[b], self._stability[a], self._stability[b],
                                k=self.k, n_pairs=n_pairs, n_threads=effective_n_jobs(n_jobs, caller="shifts"),
                                alpha=alpha, names=("a", "b"))
            table.attrs.update(tissues=(a, b), k=self.k, n_shifted=int(table["shifted"].sum()), alpha=alpha)
            self._shift_cache = {key: table}  # the last pair only: a table holds every shared gene
        out = table if top is None else table.head(int(top))
        out = out.copy()
        out.attrs = dict(table.attrs)
        return out

    # ------------------------------------------------------------------ files
    def save(self, folder: str | os.PathLike) -> Path:
        """Write the collection: one word2vec text file per tissue (+ its JSON sidecar), then ``manifest.json``.

        Every file is written atomically; the manifest, written last, lists each tissue file with its
        SHA-256. Files of the collection already in the folder are replaced.

        Parameters
        ----------
        folder : str or PathLike
            Created if missing (its parent must exist).

        Returns
        -------
        Path
            The manifest.
        """
        folder = Path(folder)
        folder.mkdir(exist_ok=True)
        files: dict[str, str] = {}
        for t, gv in self._vectors.items():
            record = gv.metadata[TISSUE_KEY]
            record["file"] = record.get("file") or file_name(t, list(files.values()))
            gv.save(folder / record["file"])
            files[t] = record["file"]
        return write_manifest(folder, self)


def write_manifest(folder: Path, models: TissueModels) -> Path:
    """``manifest.json``: the settings, every tissue with its files' SHA-256, samples, genes, quality, alignment.

    The tissue files must be in ``folder`` already (their names in ``metadata["tissue"]["file"]``).
    """
    from ._version import __version__

    entries = []
    summary = models.summary()
    for t in models.tissues:
        gv = models[t]
        meta = gv.metadata
        name = meta[TISSUE_KEY]["file"]
        entries.append({
            "tissue": t, "file": name, "sha256": sha256(folder / name),
            "sidecar_sha256": sha256(folder / f"{name}.json"), "n_samples": models.n_samples(t),
            "n_genes": len(gv), "dim": gv.dim, "seconds": meta[TISSUE_KEY].get("seconds"),
            "verdict": meta[TISSUE_KEY].get("verdict"), "quality": meta.get("quality"),
            "stability_mean_jaccard": _json_float(summary.loc[t, "stability"]), "alignment": meta.get("alignment"),
        })
    content = {"format": _FORMAT, "version": _VERSION, "genevec_version": __version__,
               "settings": models.settings, "tissues": entries, "skipped": models.skipped}
    path = folder / MANIFEST
    with atomic_write(path, "w") as fh:
        fh.write(json.dumps(content, indent=2) + "\n")
    return path


def _json_float(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else round(float(v), 6)


def _fail(path: Path, message: str) -> FileFormatError:
    return FileFormatError(f"{path}: {message}")


def load_tissues(folder: str | os.PathLike) -> TissueModels:
    """Read a collection written by :func:`genevec.fit_tissues` or :meth:`TissueModels.save`.

    Every tissue file is checked against the manifest (present, same SHA-256, readable) before
    anything is returned: a bad file is an error that names it, never a partial collection.

    Parameters
    ----------
    folder : str or PathLike
        The folder holding ``manifest.json`` and the tissue files.

    Returns
    -------
    TissueModels

    Raises
    ------
    FileNotFoundError
        No such folder, or a tissue file listed in the manifest is missing.
    FileFormatError
        No ``manifest.json`` (the run that writes it did not finish), a manifest that is not
        valid, or a tissue file that changed since the manifest was written or cannot be read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(f"The tissue collection {str(folder)!r} {what}. A collection is the folder written by "
                                "genevec train COUNTS --attributes ATTRS --tissue all -o FOLDER.")
    path = folder / MANIFEST
    if not path.is_file():
        tissue_files = sorted(p.name for p in folder.glob("*.txt"))
        why = (f"it holds {len(tissue_files)} tissue file(s) but no {MANIFEST}, which is written when every tissue "
               "is done: the run that writes this folder did not finish. Run the same genevec train command "
               "again: it resumes from the finished tissues." if tissue_files else
               f"no {MANIFEST} here: this is not a tissue collection. Write one with genevec train COUNTS "
               "--attributes ATTRS --tissue all -o FOLDER, or genevec.fit_tissues(..., output=FOLDER).")
        raise FileFormatError(f"{folder}: {why}")
    try:
        with open(path, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(path, f"is not valid JSON ({exc}). It was damaged after it was written: run the genevec train "
                          "command again to rewrite it (finished tissues are kept).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT or not isinstance(
            manifest.get("tissues"), list) or not manifest["tissues"]:
        raise _fail(path, f"is not a tissue collection manifest written by genevec (expected a JSON object with \"format\": "
                          f"\"{_FORMAT}\" and a non-empty \"tissues\" list).")
    if int(manifest.get("version", 0)) > _VERSION:
        raise _fail(path, f"was written by a newer genevec ({manifest.get('genevec_version')}); read it "
                          "with that version or a newer one.")
    vectors = {}
    for entry in manifest["tissues"]:
        try:
            tissue, name, digest = str(entry["tissue"]), str(entry["file"]), str(entry["sha256"])
        except (KeyError, TypeError):
            raise _fail(path, f"has a tissue entry without tissue, file and sha256: {str(entry)[:80]}.") from None
        file = folder / name
        if Path(name).name != name:
            raise _fail(path, f"names the file {name!r} outside the collection folder; a manifest names files in "
                              "its own folder.")
        side = folder / f"{name}.json"
        for f, want in ((file, digest), (side, entry.get("sidecar_sha256"))):
            if not f.is_file():
                raise FileNotFoundError(f"{f}: a file of tissue {tissue!r}, listed in {path}, is missing. Restore it, "
                                        "or delete the tissue's files and run the genevec train command again to "
                                        "refit that tissue.")
            if want is not None and sha256(f) != want:
                raise _fail(f, f"a file of tissue {tissue!r} changed since {MANIFEST} was written (its SHA-256 "
                               "differs): it is damaged or was replaced. Restore it, or delete the tissue's files "
                               "and run the genevec train command again to refit that tissue.")
        try:
            gv = load_vectors(file)
        except (FileFormatError, ValueError) as exc:
            raise _fail(file, f"the vectors of tissue {tissue!r} cannot be read: {exc}") from None
        meta = gv.metadata.get(TISSUE_KEY)
        if not isinstance(meta, dict) or meta.get("name") != tissue:
            raise _fail(file, f"is not the file of tissue {tissue!r} (its sidecar {file.name}.json says "
                              f"{(meta or {}).get('name')!r}); restore the pair of files.")
        vectors[tissue] = gv
    try:
        return TissueModels(vectors, manifest.get("settings") or {}, manifest.get("skipped") or [])
    except ValueError as exc:
        raise _fail(path, str(exc)) from None
