"""What the app shows, as plain functions without Shiny: models, tables, the map and its SVG.

Every query goes through :class:`genevec.GeneVectors`; this module holds no similarity
algorithm. Vectors are loaded once per process (cache keyed by path, mtime and size) and a
model's map is computed once and kept beside the vectors as ``<vectors>.map.tsv``. A tissue
collection (:func:`genevec.load_tissues`) is served as one model per tissue; the Compare tab's
content is in :mod:`genevec.app._compare`.
"""

from __future__ import annotations

import html
import io
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

DEFAULT_GENE = "KRAS"
DEFAULT_FALLBACKS = ("EGFR", "TP53", "PTEN")
DEFAULT_ANALOGY = ("BRCA1", "BRCA2", "TP53")
ANALOGY_MODES = {"gensim": "gensim (unit vectors, inputs excluded)",
                 "original": "original app (raw sum, inputs kept)"}
MAP_WIDTH, MAP_HEIGHT, MAP_PAD = 1000, 760, 24
PAGE_ROWS = 200                      # rows a big table sends to the browser at first, and per "show more"
MAX_OPTIONS = 1000                   # genes a picker's search answers with at most (selectize's maxOptions)

_lock = threading.Lock()
_models: dict[str, tuple[tuple[int, int], Any]] = {}
_maps: dict[str, tuple[tuple[int, int], pd.DataFrame]] = {}
_map_locks: dict[str, threading.Lock] = {}
_search_index: dict[int, tuple[Any, Any]] = {}
_kept: dict[int, Any] = {}


@dataclass(frozen=True)
class Model:
    """A model the app serves: its label, path and loaded GeneVectors.

    ``kind`` is what the app calls it: ``"model"`` (a vectors file) or ``"tissue"`` (a tissue of a
    collection). ``path`` is ``""`` for vectors that have no file (a :class:`genevec.TissueModels`
    fitted in this process): their map is then kept in memory only.
    """

    label: str
    path: str
    vectors: Any
    kind: str = "model"


def _stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_mtime_ns, st.st_size


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
    from ..similarity import load_vectors

    real = os.path.realpath(os.fspath(path))
    if not os.path.isfile(real):
        raise FileNotFoundError(
            f"genevec app: the vectors file {os.fspath(path)!r} does not exist. Train one with "
            "'genevec train counts.gct -o vectors.txt' or try 'genevec demo'."
        )
    stamp = _stamp(real)
    with _lock:
        hit = _models.get(real)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    gv = load_vectors(real)
    log.info("loaded %s: %d genes x %d dims", real, len(gv), gv.dim)
    with _lock:
        _models[real] = (stamp, gv)
    return gv


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
    return [Model(lab, os.path.realpath(p), load_model(p)) for lab, p in zip(model_labels(paths), paths)]


def tissue_models(collection: Any, folder: str | os.PathLike | None = None) -> list[Model]:
    """One :class:`Model` per tissue of a :class:`genevec.TissueModels`, labelled by the tissue's name.

    With ``folder`` (where the collection was loaded from) each model's path is its tissue file, so
    its map is cached beside it; without, the maps stay in memory.
    """
    from ..collection import TISSUE_KEY

    out = []
    for t in collection.tissues:
        gv = collection[t]
        name = (gv.metadata.get(TISSUE_KEY) or {}).get("file")
        path = os.path.realpath(os.path.join(os.fspath(folder), name)) if folder is not None and name else ""
        out.append(Model(t, path if path and os.path.isfile(path) else "", gv, kind="tissue"))
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
    """The model's gene index, built once per model and shared by every session."""
    key = id(gv)
    with _lock:
        hit = _search_index.get(key)
        if hit is not None and hit[0] is gv:
            return hit[1]
    index = _GeneIndex(gv.genes)
    with _lock:
        _search_index[key] = (gv, index)                    # keeps gv alive, so its id is not reused
    return index


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


def _map_key(model: Model) -> tuple[str, tuple[int, int]]:
    """The map's key in this process and the stamp that says it is current: the file's, or the vectors' id."""
    if model.path:
        return model.path, _stamp(model.path)
    return f"memory:{id(model.vectors)}", (0, id(model.vectors))


def model_stamp(model: Model) -> tuple[str, tuple[int, int]]:
    """What identifies a model's current vectors (the file and its mtime and size, or the in-memory vectors)."""
    return _map_key(model)


def map_cached(model: Model) -> bool:
    """Whether the model's map can be read rather than computed (from ``<vectors>.map.tsv`` or memory)."""
    key, stamp = _map_key(model)
    with _lock:
        hit = _maps.get(key)
    return (hit is not None and hit[0] == stamp) or bool(model.path) and os.path.isfile(map_path(model.path))


def get_map(model: Model, *, n_clusters: int = 15, random_state: int = 42) -> pd.DataFrame:
    """The model's t-SNE map: from memory, else from ``<vectors>.map.tsv``, else computed and saved.

    The TSV is reused when it is newer than the vectors and lists the same genes. A process computes
    each map once, however many sessions ask at the same time. If the folder is read-only, or the
    vectors have no file, the map is kept in memory only.
    """
    from ..maps import model_map, read_gene_map, write_map_table

    gv = model.vectors
    key, stamp = _map_key(model)
    with _lock:
        hit = _maps.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        lock = _map_locks.setdefault(key, threading.Lock())
    with lock:
        with _lock:
            hit = _maps.get(key)
            if hit is not None and hit[0] == stamp:
                return hit[1]
        cache = map_path(model.path) if model.path else None
        m = None
        if cache is not None and os.path.isfile(cache) and os.stat(cache).st_mtime_ns >= stamp[0]:
            try:
                m = read_gene_map(cache)
                if m["gene"].tolist() != list(gv.genes):
                    log.info("%s lists other genes than %s; recomputing", cache, model.path)
                    m = None
            except (ValueError, OSError) as exc:
                log.warning("ignoring the map cache %s: %s", cache, exc)
                m = None
        if m is None:
            log.info("computing the map of %s (%d genes)", model.path or model.label, len(gv))
            m = model_map(gv, n_clusters=n_clusters, random_state=random_state)
            if cache is not None:
                try:
                    write_map_table(m, cache)
                except OSError as exc:
                    log.warning("could not cache the map in %s (%s); keeping it in memory", cache, exc)
        with _lock:
            _maps[key] = (stamp, m)
            if not model.path:
                _kept[id(gv)] = gv               # keeps gv alive, so its id (the map's key) is not reused
        return m


def _scale(m: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    x, y = m["x"].to_numpy(float), m["y"].to_numpy(float)
    span = max(np.ptp(x) / (MAP_WIDTH - 2 * MAP_PAD), np.ptp(y) / (MAP_HEIGHT - 2 * MAP_PAD), 1e-12)
    px = MAP_PAD + (x - x.min()) / span
    py = MAP_HEIGHT - MAP_PAD - (y - y.min()) / span               # SVG y grows downwards
    return px, py


def _radius(n: int) -> float:
    return float(np.clip(60.0 / np.sqrt(max(n, 1)), 1.6, 6.0))


#: Colour modes of the map.
COLOUR_MODES = {"cluster": "k-means cluster", "set": "a gene set", "similarity": "similarity to the gene"}
IN_SET, OUT_OF_SET = "#d62728", "#d0d0d0"
MAX_RING = 100                           # neighbours the map rings at most


def map_colours(m: pd.DataFrame, mode: str = "cluster", *, gv: Any = None, focus: str | None = None,
                members: Any = (), set_label: str = "") -> tuple[list[str], dict[str, Any]]:
    """A fill per gene of the map and the legend that explains them.

    ``mode``: ``"cluster"`` (k-means, a colour per cluster), ``"set"`` (the genes of ``members`` in
    red, the others grey) or ``"similarity"`` (cosine to ``focus`` in ``gv``, viridis from -1 to 1).

    Returns
    -------
    fills : list of str
        One hex colour per row of ``m``.
    legend : dict
        ``{"kind": "swatches", "title": str, "items": [(colour, label), ...]}`` or
        ``{"kind": "gradient", "title": str, "stops": [colours], "low": str, "high": str}``.

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.app._data import map_colours
    >>> m = pd.DataFrame({"gene": ["A", "B", "C"], "x": 0.0, "y": 0.0, "cluster": [1, 2, 1]})
    >>> fills, legend = map_colours(m)
    >>> fills[0] == fills[2] != fills[1], legend["items"][0][1]
    (True, 'cluster 1 (2 genes)')
    >>> map_colours(m, "set", members={"B"}, set_label="my set")[1]["items"][0][1]
    'in my set (1 of 3 genes)'
    """
    genes = m["gene"].astype(str).tolist()
    if mode == "set":
        inside = set(members)
        hit = [g in inside for g in genes]
        n = sum(hit)
        return ([IN_SET if h else OUT_OF_SET for h in hit],
                {"kind": "swatches", "title": "Gene set",
                 "items": [(IN_SET, f"in {set_label or 'the set'} ({n:,} of {len(genes):,} genes)"),
                           (OUT_OF_SET, "other genes")]})
    if mode == "similarity" and gv is not None and focus in gv:
        from matplotlib import colormaps
        from matplotlib.colors import to_hex

        cmap = colormaps["viridis"]
        scores = gv.most_similar(focus, topn=None)
        sim = np.asarray([scores[gv.key_to_index[g]] if g in gv else 0.0 for g in genes], dtype=float)
        bins = np.clip(np.round((sim + 1) / 2 * 31), 0, 31).astype(int)      # 32 colours, one <g> each
        palette = [to_hex(cmap(k / 31)) for k in range(32)]
        return ([palette[b] for b in bins],
                {"kind": "gradient", "title": f"Cosine similarity to {focus}", "stops": palette[::4] + palette[-1:],
                 "low": "-1", "high": "1"})
    from ..plot import cluster_colors

    cl = m["cluster"].to_numpy(int)
    colours = cluster_colors(int(cl.max()) if len(cl) else 0)
    counts = pd.Series(cl).value_counts()
    return ([colours[k - 1] for k in cl],
            {"kind": "swatches", "title": "k-means cluster",
             "items": [(colours[k - 1], f"cluster {k} ({int(counts[k]):,} genes)") for k in sorted(counts.index)]})


def map_svg(m: pd.DataFrame, fills: Sequence[str] | None = None) -> str:
    """The whole map as one SVG: a ``<circle data-g=gene>`` with a ``<title>`` tooltip per gene.

    Circles are grouped by fill (one ``<g>`` per colour; by default the cluster colours of
    :func:`map_colours`); gene names are HTML-escaped.

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.app._data import map_svg
    >>> svg = map_svg(pd.DataFrame({"gene": ["<i>A", "B"], "x": [0., 1], "y": [0., 1], "cluster": [1, 2]}))
    >>> svg.count("<circle"), "&lt;i&gt;A" in svg, "<i>" in svg
    (2, True, False)
    """
    px, py = _scale(m)
    r = _radius(len(m))
    genes = m["gene"].astype(str).to_numpy()
    cl = m["cluster"].to_numpy(int)
    if fills is None:
        fills = map_colours(m)[0]
    fills = np.asarray(fills, dtype=object)
    out = [f'<svg id="genemap-base" class="genemap" viewBox="0 0 {MAP_WIDTH} {MAP_HEIGHT}" '
           f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="t-SNE map of {len(m)} genes">']
    order = list(dict.fromkeys(f for f in fills if f == OUT_OF_SET)) + list(dict.fromkeys(f for f in fills
                                                                                          if f != OUT_OF_SET))
    for colour in order:                                             # grey first: the highlighted genes on top
        out.append(f'<g fill="{colour}" fill-opacity="0.75">')
        for i in np.flatnonzero(fills == colour):
            g = html.escape(genes[i], quote=True)
            out.append(f'<circle cx="{px[i]:.1f}" cy="{py[i]:.1f}" r="{r:.1f}" data-g="{g}">'
                       f'<title>{g} (cluster {cl[i]})</title></circle>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def legend_html(legend: dict[str, Any]) -> str:
    """The map's legend as HTML (escaped), beside the map.

    Examples
    --------
    >>> from genevec.app._data import legend_html
    >>> html_ = legend_html({"kind": "swatches", "title": "T", "items": [("#f00", "<b>x</b>")]})
    >>> html_.count('class="legend-item"'), "<b>" in html_
    (1, False)
    """
    title = html.escape(legend["title"])
    if legend["kind"] == "gradient":
        stops = ", ".join(legend["stops"])
        return (f'<div class="map-legend" id="map-legend-box"><div class="legend-title">{title}</div>'
                f'<div class="legend-gradient" style="background: linear-gradient(to right, {stops})"></div>'
                f'<div class="legend-ends"><span>{html.escape(legend["low"])}</span>'
                f'<span>{html.escape(legend["high"])}</span></div></div>')
    items = "".join(f'<div class="legend-item"><span class="legend-swatch" style="background:{c}"></span>'
                    f'{html.escape(label)}</div>' for c, label in legend["items"])
    return f'<div class="map-legend" id="map-legend-box"><div class="legend-title">{title}</div>{items}</div>'


#: Width of a label character, in font sizes (upper-case Arial glyphs are ~0.67 em, bold ~0.72; a margin on top).
CHAR_EM = 0.72
BOLD_EM = 0.8
#: Height of a label in font sizes (Arial's ascent 0.905 + descent 0.212), and its baseline from the top.
LINE_EM, ASCENT_EM = 1.15, 0.92


def place_labels(points: Sequence[tuple[float, float, float]], texts: Sequence[str], sizes: Sequence[float], *,
                 bold: Sequence[bool] | None = None, width: float = MAP_WIDTH, height: float = MAP_HEIGHT
                 ) -> list[tuple[float, float, str] | None]:
    """Put each text beside its point without overlapping another label or ringed point, or leave it out.

    Labels are placed in the order given (the most important first): each tries eight spots around
    its point (right, left, above, below, then the diagonals) and takes the first that stays inside
    the map and clears every label already placed and every other ringed point (the first label may
    cover rings if it must: it is always shown). A label with no free spot is left out (``None``): the
    map thins crowded labels rather than piling them up.

    Parameters
    ----------
    points : sequence of (x, y, ring radius)
    texts : sequence of str
    sizes : sequence of float
        Font sizes (px); a label is ``CHAR_EM * size`` per character wide (``BOLD_EM`` if ``bold``) and
        ``LINE_EM * size`` high.

    Returns
    -------
    list of (x, y, anchor) or None
        The text's anchor point (SVG ``x``, baseline ``y``) and ``text-anchor``.

    Examples
    --------
    >>> from genevec.app._data import place_labels
    >>> spots = place_labels([(100, 100, 5), (100, 100, 5), (500, 300, 5)], ["AAAA", "BBBB", "C"], [12, 12, 12])
    >>> spots[0][2], spots[2] is not None
    ('start', True)
    """
    boxes: list[tuple[float, float, float, float]] = []
    rings = [(x - r, y - r, x + r, y + r) for x, y, r in points]
    out: list[tuple[float, float, str] | None] = []

    def free(box, own, mind_rings=True):
        x0, y0, x1, y1 = box
        if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
            return False
        for k, (a0, b0, a1, b1) in enumerate(rings):
            if mind_rings and k != own and x0 < a1 and a0 < x1 and y0 < b1 and b0 < y1:
                return False
        return not any(x0 < a1 and a0 < x1 and y0 < b1 and b0 < y1 for a0, b0, a1, b1 in boxes)

    bold = [False] * len(texts) if bold is None else bold
    for k, ((x, y, r), text, size, heavy) in enumerate(zip(points, texts, sizes, bold)):
        w, h, gap = (BOLD_EM if heavy else CHAR_EM) * size * len(text) + 2, LINE_EM * size, r + 3
        spots = [(x + gap, y - h / 2, "start"), (x - gap - w, y - h / 2, "end"), (x - w / 2, y - gap - h, "middle"),
                 (x - w / 2, y + gap, "middle"), (x + gap, y - gap - h, "start"), (x + gap, y + gap, "start"),
                 (x - gap - w, y - gap - h, "end"), (x - gap - w, y + gap, "end")]
        placed = None
        # the first label (the searched gene) is always shown: over other rings if it must
        for mind_rings in (True, False) if k == 0 else (True,):
            for left, top, anchor in spots:
                box = (left, top, left + w, top + h)
                if placed is None and free(box, k, mind_rings):
                    boxes.append(box)
                    tx = left if anchor == "start" else left + w if anchor == "end" else left + w / 2
                    placed = (tx, top + ASCENT_EM * size, anchor)
        out.append(placed)
    return out


def map_overlay_svg(m: pd.DataFrame, focus: str | None, others: Sequence[str] = ()) -> tuple[str, list[str]]:
    """A transparent SVG over the map that rings ``focus`` and ``others`` (its neighbours, best first) and labels
    them where the labels do not overlap (:func:`place_labels`), and the genes whose label was left out."""
    px, py = _scale(m)
    r = _radius(len(m))
    pos = {g: i for i, g in enumerate(m["gene"].astype(str))}
    rows = ([(focus, True)] if focus is not None and focus in pos else []) + \
        [(g, False) for g in dict.fromkeys(others) if g in pos and g != focus]
    rings = [max(r * (3.0 if is_focus else 2.0), 5.0 if is_focus else 3.5) for _, is_focus in rows]
    sizes = [16 if is_focus else 11 for _, is_focus in rows]
    spots = place_labels([(px[pos[g]], py[pos[g]], ring) for (g, _), ring in zip(rows, rings)],
                         [g for g, _ in rows], sizes, bold=[is_focus for _, is_focus in rows])
    hidden = [g for (g, _), spot in zip(rows, spots) if spot is None]
    out = [f'<svg id="genemap-overlay" class="genemap-overlay" viewBox="0 0 {MAP_WIDTH} {MAP_HEIGHT}" '
           f'xmlns="http://www.w3.org/2000/svg" data-hidden="{len(hidden)}">']
    for (g, is_focus), ring in reversed(list(zip(rows, rings))):          # the focus drawn last: on top
        i = pos[g]
        colour = "#d00" if is_focus else "#111"
        out.append(f'<circle cx="{px[i]:.1f}" cy="{py[i]:.1f}" r="{ring:.1f}" fill="none" stroke="{colour}" '
                   f'stroke-width="{2.5 if is_focus else 1.5}" data-g="{html.escape(g, quote=True)}"/>')
    for (g, is_focus), spot, size in reversed(list(zip(rows, spots, sizes))):
        if spot is None:
            continue
        x, y, anchor = spot
        colour = "#d00" if is_focus else "#111"
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                   f'font-family="Arial, Helvetica, sans-serif" font-weight="{"bold" if is_focus else "normal"}" '
                   f'fill="{colour}" stroke="white" stroke-width="3" paint-order="stroke">'
                   f'{html.escape(g, quote=True)}</text>')
    out.append("</svg>")
    return "".join(out), hidden


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


def about(models: Sequence[Model]) -> list[dict[str, Any]]:
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
    >>> from genevec.app._data import tissue_rows
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
