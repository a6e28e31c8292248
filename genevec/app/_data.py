"""What the app shows, as plain functions without Shiny: models, gene pickers, tables, the map, clusters.

Every query goes through :class:`genevec.GeneVectors`; this module holds no similarity
algorithm. Vectors are loaded once per process and a model's map is computed once and kept beside
the vectors as ``<vectors>.map.tsv``; what stays in memory, and for how long, is
:class:`genevec.app._cache.AppCache`'s. A tissue collection (:func:`genevec.load_tissues`) is served
as one model per tissue. The map's SVG is drawn in :mod:`genevec.app._svg`, the About tab's content
comes from :mod:`genevec.app._about` and the Compare tab's from :mod:`genevec.app._compare`.

Just over ~500 lines: one tab's worth of plain functions each for Neighbours, Analogy, Map and Clusters.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._cache import CACHE, stamp

log = logging.getLogger(__name__)

DEFAULT_GENE = "KRAS"
DEFAULT_FALLBACKS = ("EGFR", "TP53", "PTEN")
DEFAULT_ANALOGY = ("BRCA1", "BRCA2", "TP53")
ANALOGY_MODES = {"gensim": "gensim (unit vectors, inputs excluded)",
                 "original": "original app (raw sum, inputs kept)"}
PAGE_ROWS = 200                      # rows a big table sends to the browser at first, and per "show more"
MAX_OPTIONS = 1000                   # genes a picker's search answers with at most (selectize's maxOptions)


@dataclass(frozen=True)
class Model:
    """A model the app serves: its label, path and loaded GeneVectors.

    ``kind`` is what the app calls it: ``"model"`` (a vectors file) or ``"tissue"`` (a tissue of a
    collection). ``path`` is ``""`` for vectors that have no file (a :class:`genevec.TissueModels`
    fitted in this process): their map is then kept in memory only. ``stamp`` is the file's
    ``(mtime_ns, size)`` when ``vectors`` were read from it: the map is kept for, and
    ``<vectors>.map.tsv`` read and written for, the vectors served only while the file has that
    stamp. ``(0, 0)`` (no file, or not known) keeps the map in memory only.
    """

    label: str
    path: str
    vectors: Any
    kind: str = "model"
    stamp: tuple[int, int] = (0, 0)


def load_model(path: str | os.PathLike) -> Any:
    """Load a vectors file once per process; reloaded only when its mtime or size changes.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from genevec import GeneVectors
    >>> from genevec.app._data import load_model
    >>> p = os.path.join(tempfile.mkdtemp(), "v.txt")
    >>> GeneVectors(np.eye(3), ["A", "B", "C"]).save(p)
    >>> load_model(p) is load_model(p)
    True
    """
    return _load_stamped(path)[0]


def _load_stamped(path: str | os.PathLike) -> tuple[Any, tuple[int, int]]:
    """:func:`load_model`'s vectors and the file's stamp when they were read."""
    from ..similarity import load_vectors

    real = os.path.realpath(os.fspath(path))
    if not os.path.isfile(real):
        raise FileNotFoundError(
            f"genevec app: the vectors file {os.fspath(path)!r} does not exist. Train one with "
            "'genevec train counts.gct -o vectors.txt' or try 'genevec demo'."
        )

    def load(real: str) -> Any:
        gv = load_vectors(real)
        log.info("loaded %s: %d genes x %d dims", real, len(gv), gv.dim)
        return gv

    return CACHE.stamped_vectors(real, load)


def model_labels(paths: Sequence[str]) -> list[str]:
    """Short unique labels for the model selector: file names, with parent folders when they clash.

    Examples
    --------
    >>> from genevec.app._data import model_labels
    >>> model_labels(["a/pancreas.txt", "b/pancreas.txt", "c/blood.txt"])
    ['a/pancreas.txt', 'b/pancreas.txt', 'blood.txt']
    """
    norm = [os.path.normpath(os.fspath(p)) for p in paths]
    distinct = list(dict.fromkeys(norm))
    parts = [p.split(os.sep) for p in distinct]
    labels = [p[-1] for p in parts]
    depth = 1
    while len(set(labels)) < len(labels) and depth < max(len(p) for p in parts):
        depth += 1
        counts = pd.Series(labels).value_counts()
        labels = ["/".join(p[-depth:]) if counts[lab] > 1 else lab for p, lab in zip(parts, labels)]
    of = dict(zip(distinct, labels))
    seen: dict[str, int] = {}
    out = []
    for p in norm:                          # the same file given twice
        lab = of[p]
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    return out


def load_models(paths: Sequence[str | os.PathLike]) -> list[Model]:
    """Load every vectors file (failing early, naming the file) and label them."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("genevec app: give at least one vectors file, e.g. create_app(['vectors.txt']), or a "
                         "tissue collection folder.")
    models = []
    for lab, p in zip(model_labels(paths), paths):
        gv, st = _load_stamped(p)
        models.append(Model(lab, os.path.realpath(p), gv, stamp=st))
    return models


def tissue_models(collection: Any, folder: str | os.PathLike | None = None) -> list[Model]:
    """One :class:`Model` per tissue of a :class:`genevec.TissueModels`, labelled by the tissue's name.

    With ``folder`` (where the collection was just loaded from: each file's stamp is taken now) each
    model's path is its tissue file, so its map is cached beside it; without, the maps stay in memory.
    """
    from ..collection import TISSUE_KEY

    out = []
    for t in collection.tissues:
        gv = collection[t]
        name = (gv.metadata.get(TISSUE_KEY) or {}).get("file")
        path = os.path.realpath(os.path.join(os.fspath(folder), name)) if folder is not None and name else ""
        if path and os.path.isfile(path):            # load_tissues has just read it (and checked its SHA-256)
            out.append(Model(t, path, gv, kind="tissue", stamp=stamp(path)))
        else:
            out.append(Model(t, "", gv, kind="tissue"))
    return out


def load_served(source: Any) -> tuple[list[Model], Any]:
    """What ``genevec app`` serves: ``(models, collection)``.

    ``source`` is vectors files (``collection`` is None), one tissue collection folder (a folder
    holding ``manifest.json``, read by :func:`genevec.load_tissues`, whose errors name the problem
    and the fix) or a :class:`genevec.TissueModels`.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from genevec import GeneVectors
    >>> from genevec.app._data import load_served
    >>> p = os.path.join(tempfile.mkdtemp(), "v.txt")
    >>> GeneVectors(np.eye(3), ["A", "B", "C"]).save(p)
    >>> models, collection = load_served(p)
    >>> [m.label for m in models], collection is None
    (['v.txt'], True)
    """
    from ..collection import TissueModels, load_tissues

    if isinstance(source, TissueModels):
        return tissue_models(source), source
    paths = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    folders = [os.fspath(p) for p in paths if isinstance(p, (str, os.PathLike)) and os.path.isdir(p)]
    if not folders:
        return load_models(paths), None
    if len(paths) > 1:
        raise ValueError(f"genevec app serves one tissue collection folder or vectors files, not both nor several "
                         f"folders; got {len(paths)} paths, of which {folders[0]!r} is a folder. Serve the folder "
                         f"alone (genevec app {folders[0]}), or give only vectors files.")
    collection = load_tissues(folders[0])
    return tissue_models(collection, folders[0]), collection


def default_gene(gv: Any, preferred: str = DEFAULT_GENE) -> str:
    """``preferred`` if the model has it, else the first of the study's query genes it has, else ``""``.

    Never an arbitrary gene: a picker left empty asks the user to type one.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import GeneVectors
    >>> from genevec.app._data import default_gene
    >>> default_gene(GeneVectors(np.eye(2), ["TP53", "A"])), default_gene(GeneVectors(np.eye(2), ["B", "A"]))
    ('TP53', '')
    """
    for gene in (preferred, *DEFAULT_FALLBACKS):
        if gene in gv:
            return gene
    return ""


def filter_genes(table: pd.DataFrame, text: str | None, column: str = "Gene") -> pd.DataFrame:
    """Rows whose gene contains ``text`` (case-insensitive, literal: no regex).

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.app._data import filter_genes
    >>> filter_genes(pd.DataFrame({"Gene": ["KRAS", "HRAS", "TP53"]}), "ras")["Gene"].tolist()
    ['KRAS', 'HRAS']
    """
    text = (text or "").strip()
    if not text:
        return table
    keep = table[column].astype(str).str.contains(text, case=False, regex=False)
    return table.loc[keep].reset_index(drop=True)


def natural_key(gene: str) -> tuple:
    """Sort key that reads numbers as numbers and ignores case: RPL3 < RPL10 < rpl10a.

    Examples
    --------
    >>> from genevec.app._data import natural_key
    >>> sorted(["RPL10", "rpl10a", "RPL3", "A2M"], key=natural_key)
    ['A2M', 'RPL3', 'RPL10', 'rpl10a']
    """
    parts = re.split(r"(\d+)", gene.lower())
    return tuple((0, int(p), p) if k % 2 else (1, 0, p) for k, p in enumerate(parts)), gene


class _GeneIndex:
    """A model's genes in natural order, lower-cased and joined into one string, for substring search in C speed."""

    SEP = "\x00"

    def __init__(self, genes: Sequence[str]):
        self.genes = sorted((str(g) for g in genes), key=natural_key)       # what a picker lists, in this order
        lower = [g.lower() for g in self.genes]
        self.joined = self.SEP.join(lower)
        self.starts = np.cumsum([0] + [len(g) + 1 for g in lower[:-1]]) if lower else np.zeros(0, int)
        self.usable = not any(self.SEP in g for g in lower)      # else contains() falls back to a loop
        self.lower = lower
        self.rank = {g: i for i, g in enumerate(self.genes)}

    def contains(self, word: str) -> np.ndarray:
        """Sorted positions (in natural order) of the genes whose lower-case name contains ``word``."""
        if not self.usable or self.SEP in word:
            return np.array([i for i, g in enumerate(self.lower) if word in g], dtype=np.intp)
        # Matches never span two genes (the separator is in no word), so every gene holding the word
        # has at least one of these leftmost, non-overlapping matches.
        hits = np.fromiter((m.start() for m in re.finditer(re.escape(word), self.joined)), dtype=np.intp)
        return np.unique(np.searchsorted(self.starts, hits, side="right") - 1)


def _index_of(gv: Any) -> _GeneIndex:
    """The model's gene index, built once per model and shared by every session (held as long as the model)."""
    return CACHE.index(gv, lambda v: _GeneIndex(v.genes))


def search_genes(gv: Any, query: str | None, *, limit: int = MAX_OPTIONS, selected: Sequence[str] = (),
                 any_word: bool = False) -> list[str]:
    """Genes whose name contains every word of ``query`` (case-insensitive, literal): those that start with
    the first word, then the others, each in natural order (RPL3 before RPL10).

    What a gene picker's dropdown lists while the user types: at most ``limit`` genes, then the
    ``selected`` ones (always listed, so the picker can show them, even a gene the model lacks, which
    keeps its name after a model switch; never twice). One index of the model's genes serves every
    session, so a picker costs a session nothing but this call. ``any_word=True`` lists the genes that
    contain any of the words instead.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import GeneVectors
    >>> from genevec.app._data import search_genes
    >>> gv = GeneVectors(np.eye(5), ["NRAS", "KRAS", "HRAS", "TP53", "RASA1"])
    >>> search_genes(gv, ""), search_genes(gv, "ras")
    (['HRAS', 'KRAS', 'NRAS', 'RASA1', 'TP53'], ['RASA1', 'HRAS', 'KRAS', 'NRAS'])
    >>> search_genes(gv, "ras", limit=1, selected=["EGFR"]), search_genes(gv, "k tp", any_word=True)
    (['RASA1', 'EGFR'], ['KRAS', 'TP53'])
    """
    index = _index_of(gv)
    words = list(dict.fromkeys(w for w in (query or "").lower().split() if w))
    chosen = [g for g in dict.fromkeys(selected) if isinstance(g, str) and g]
    skip = set(chosen)
    limit = max(int(limit), 0)
    if not words:
        hits: Any = range(len(index.genes))
    else:
        found = [index.contains(w) for w in words]
        hits = found[0]
        for more in found[1:]:
            hits = np.union1d(hits, more) if any_word else np.intersect1d(hits, more, assume_unique=True)
        first = words[0]
        starts = [i for i in hits if index.lower[i].startswith(first)]
        hits = starts + [i for i in hits if not index.lower[i].startswith(first)]
    out: list[str] = []
    for i in hits:
        if len(out) >= limit:
            break
        g = index.genes[i]
        if g not in skip:
            out.append(g)
    return out + chosen


def picker_options(gv: Any, genes: Sequence[str]) -> list[dict[str, Any]]:
    """What a picker's search route answers: ``{"label", "value", "rank"}`` per gene, ``rank`` being its
    place in natural order (-1 for a gene the model lacks), by which the browser orders equal matches.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import GeneVectors
    >>> from genevec.app._data import picker_options
    >>> picker_options(GeneVectors(np.eye(2), ["B", "A"]), ["B", "Z"])
    [{'label': 'B', 'value': 'B', 'rank': 1}, {'label': 'Z', 'value': 'Z', 'rank': -1}]
    """
    rank = _index_of(gv).rank
    return [{"label": g, "value": g, "rank": rank.get(g, -1)} for g in genes]


def rows_note(shown: int, total: int, *, rest: str = "filter or download for the rest") -> str:
    """The caption's note when a table shows only its first ``shown`` of ``total`` rows ('' when all).

    Examples
    --------
    >>> from genevec.app._data import rows_note
    >>> rows_note(200, 25320), rows_note(200, 150)
    ('showing 200 of 25,320; filter or download for the rest', '')
    """
    return f"showing {shown:,} of {total:,}; {rest}" if shown < total else ""


def with_names(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a ``Name`` column (NCBI's full name, ``""`` when unknown) right after ``Gene``.

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.app._data import with_names
    >>> with_names(pd.DataFrame({"Gene": ["EGFR", "G1"], "Similarity": [0.9, 0.1]})).columns.tolist()
    ['Gene', 'Name', 'Similarity']
    """
    from ..names import names_of

    out = table.copy()
    out.insert(list(out.columns).index("Gene") + 1, "Name", names_of(out["Gene"].astype(str)))
    return out


def neighbours(gv: Any, gene: str, text: str | None = None, topn: int | None = None) -> pd.DataFrame:
    """``Gene | Name | Similarity`` (``| Support`` when the vectors carry it) of the other genes, best first, filtered.

    A filter searches every gene; without one, ``topn`` ranks only the first rows (GeneVectors' top-n).
    """
    if (text or "").strip():
        return with_names(filter_genes(gv.neighbor_table(gene), text)).iloc[:topn]
    return with_names(gv.neighbor_table(gene, topn=topn))


def analogy(gv: Any, a: str, b: str, c: str, mode: str = "gensim", text: str | None = None) -> pd.DataFrame:
    """Every answer to "a is to b as ? is to c" (``a - b + c``), best first, as ``Rank | Gene | Name | Similarity``.

    ``text`` keeps the answers whose gene contains it (the rank stays the answer's rank among all).
    """
    if mode not in ANALOGY_MODES:
        raise ValueError(f"analogy mode must be one of {', '.join(map(repr, ANALOGY_MODES))}, got {mode!r}.")
    pairs = gv.analogy(a, b, c, topn=len(gv), mode=mode)
    table = pd.DataFrame({"Rank": np.arange(1, len(pairs) + 1), "Gene": [g for g, _ in pairs],
                          "Similarity": [float(s) for _, s in pairs]})
    return with_names(filter_genes(table, text))


def analogy_notice(a: str, b: str, c: str) -> str:
    """What repeated inputs make of "a is to b as ? is to c" (``""`` when all three differ).

    Examples
    --------
    >>> from genevec.app._data import analogy_notice
    >>> analogy_notice("TP53", "TP53", "KRAS")
    'A and B are both TP53, so A - B + C is just C: the answers are the genes closest to KRAS, not an analogy.'
    >>> analogy_notice("BRCA1", "BRCA2", "TP53")
    ''
    """
    if a == b == c:
        return (f"A, B and C are all {a}, so A - B + C is just {a}: the answers are the genes closest to {a}, "
                "not an analogy.")
    if a == b:
        return f"A and B are both {a}, so A - B + C is just C: the answers are the genes closest to {c}, not an analogy."
    if b == c:
        return f"B and C are both {b}, so A - B + C is just A: the answers are the genes closest to {a}, not an analogy."
    if a == c:
        return f"A and C are both {a}: the answers are the genes closest to 2 x {a} - {b}."
    return ""


def absent_notice(model: "Model", gene: str) -> str:
    """Why ``gene`` is not in ``model``, from its training record, with close symbols when there are some.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import GeneVectors
    >>> from genevec.app._data import Model, absent_notice
    >>> gv = GeneVectors(np.eye(2), ["EGFR1", "TP53"], metadata={"provenance": {
    ...     "dropped_by_filters": "EGFR", "filters": {"min_counts": 10}}})
    >>> absent_notice(Model("blood.txt", "/x/blood.txt", gv), "EGFR")
    "EGFR is not in model blood.txt: filtered out at training (min_counts=10). Close symbols in it: 'EGFR1'."
    """
    import difflib

    from ..provenance import absent_reason

    gv = model.vectors
    near = difflib.get_close_matches(gene, gv.genes, n=3) if len(gene) < 100 else []
    hint = f" Close symbols in it: {', '.join(map(repr, near))}." if near else ""
    return f"{gene} is not in {model.kind} {model.label}: {absent_reason(gv.metadata, gene, len(gv))}.{hint}"


def for_display(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Round the numbers for the screen (downloads keep every digit): similarity to 4 decimals, support to 2,
    p and q values to 2 significant digits (as text)."""
    out = table.copy()
    for col, nd in (("Similarity", digits), ("Support", 2), ("Expected", 1), ("Fold", 1)):
        if col in out:
            out[col] = out[col].round(nd)
    for col in ("P", "Q"):
        if col in out:
            out[col] = [f"{v:.2g}" for v in out[col]]
    return out


def to_csv(table: pd.DataFrame) -> str:
    """CSV text of a table (full precision), as downloaded."""
    buf = io.StringIO()
    table.to_csv(buf, index=False, float_format="%.6g")
    return buf.getvalue()


def safe_filename(*parts: str) -> str:
    """A download file name from gene names etc.: only letters, digits, ``._-``.

    Examples
    --------
    >>> from genevec.app._data import safe_filename
    >>> safe_filename("KRAS", "neighbours.csv"), safe_filename("<b>x</b>", "n.csv")
    ('KRAS_neighbours.csv', 'b_x_b_n.csv')
    """
    joined = "_".join(parts)
    stem = re.sub(r"_{2,}", "_", re.sub(r"[^A-Za-z0-9._-]+", "_", joined)).strip("_.")
    return stem or "genevec.csv"


# --------------------------------------------------------------------------- map
def map_path(vectors_path: str) -> str:
    """Where a model's map is cached: ``<vectors>.map.tsv`` (:func:`genevec.maps.map_cache_path`)."""
    from ..maps import map_cache_path

    return map_cache_path(vectors_path)


def _map_file(model: Model) -> str | None:
    """``<vectors>.map.tsv`` while the vectors file is still the one the model's vectors were read from, else None.

    Once the file has changed, the app serves vectors that are no longer on disk: their map is kept
    in memory only, never read from or written to the file beside the new vectors.
    """
    if not model.path:
        return None
    try:
        if stamp(model.path) != model.stamp:
            return None
    except OSError:
        return None
    return map_path(model.path)


def _fresh_map_file(model: Model) -> str | None:
    """The model's ``<vectors>.map.tsv`` if it is newer than the vectors served, else None."""
    cache = _map_file(model)
    try:
        return cache if cache is not None and os.stat(cache).st_mtime_ns >= model.stamp[0] else None
    except OSError:
        return None


def map_cached(model: Model) -> bool:
    """Whether the model's map can be read rather than computed (from ``<vectors>.map.tsv`` or memory)."""
    return CACHE.has_map(model) or _fresh_map_file(model) is not None


def get_map(model: Model, *, n_clusters: int = 15, random_state: int = 42) -> pd.DataFrame:
    """The model's t-SNE map: from memory, else from ``<vectors>.map.tsv``, else computed and saved.

    The TSV is reused when it is newer than the vectors and lists the same genes. A process computes
    each map once, however many sessions ask at the same time. If the folder is read-only, the
    vectors have no file, or the file has changed since they were read (the app serves the vectors
    it loaded until restarted), the map is kept in memory only.
    """
    return CACHE.gene_map(model, lambda: _read_or_compute_map(model, n_clusters, random_state))


def _read_or_compute_map(model: Model, n_clusters: int, random_state: int) -> pd.DataFrame:
    from ..maps import model_map, read_gene_map, write_map_table

    gv = model.vectors
    cache = _fresh_map_file(model)
    if cache is not None:
        try:
            m = read_gene_map(cache)
            if m["gene"].tolist() == list(gv.genes):
                return m
            log.info("%s lists other genes than %s; recomputing", cache, model.path)
        except (ValueError, OSError) as exc:
            log.warning("ignoring the map cache %s: %s", cache, exc)
    log.info("computing the map of %s (%d genes)", model.path or model.label, len(gv))
    m = model_map(gv, n_clusters=n_clusters, random_state=random_state)
    cache = _map_file(model)                    # asked again: the file may have changed while the map was computed
    if cache is None and model.path:
        log.info("%s changed since it was loaded; keeping the map of the vectors served in memory", model.path)
    if cache is not None:
        try:
            write_map_table(m, cache)
        except OSError as exc:
            log.warning("could not cache the map in %s (%s); keeping it in memory", cache, exc)
    return m


def cached_map_svg(model: Model, m: pd.DataFrame, key: Any, fills: Sequence[str]) -> str:
    """The SVG of the model's map ``m`` coloured by ``fills`` (``key`` names the colouring): once per colouring."""
    from ._svg import map_svg as draw

    return CACHE.svg(model, key, lambda: draw(m, fills))


def cluster_summary(m: pd.DataFrame, show: int = 8) -> pd.DataFrame:
    """``Cluster | Genes | Examples`` for every cluster of a map."""
    rows = []
    for k, grp in m.groupby("cluster", sort=True):
        genes = grp["gene"].astype(str).tolist()
        rows.append({"Cluster": int(k), "Genes": len(genes),
                     "Examples": ", ".join(genes[:show]) + (", ..." if len(genes) > show else "")})
    return pd.DataFrame(rows, columns=["Cluster", "Genes", "Examples"])


def cluster_table(m: pd.DataFrame, cluster: int) -> pd.DataFrame:
    """``Gene`` column of one cluster (via :func:`genevec.maps.cluster_genes`)."""
    from ..maps import cluster_genes

    return pd.DataFrame({"Gene": cluster_genes(m, int(cluster))})
