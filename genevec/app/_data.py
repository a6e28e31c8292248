"""What the app shows, as plain functions without Shiny: models, tables, the map and its SVG.

Every query goes through :class:`genevec.GeneVectors`; this module holds no similarity
algorithm. Vectors are loaded once per process (cache keyed by path, mtime and size) and a
model's map is computed once and kept beside the vectors as ``<vectors>.map.tsv``.
"""

from __future__ import annotations

import html
import io
import json
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


@dataclass(frozen=True)
class Model:
    """A vectors file the app serves: its label, path and loaded GeneVectors."""

    label: str
    path: str
    vectors: Any


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
        raise ValueError("genevec app: give at least one vectors file, e.g. create_app(['vectors.txt']).")
    return [Model(lab, os.path.realpath(p), load_model(p)) for lab, p in zip(model_labels(paths), paths)]


def default_gene(gv: Any, preferred: str = DEFAULT_GENE) -> str:
    """``preferred`` if the model has it, else its first gene."""
    return preferred if preferred in gv else gv.genes[0]


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


class _GeneIndex:
    """A model's genes, lower-cased and joined into one string, for substring search in C speed."""

    SEP = "\x00"

    def __init__(self, genes: Sequence[str]):
        self.genes = [str(g) for g in genes]
        lower = [g.lower() for g in self.genes]
        self.joined = self.SEP.join(lower)
        self.starts = np.cumsum([0] + [len(g) + 1 for g in lower[:-1]]) if lower else np.zeros(0, int)
        self.usable = not any(self.SEP in g for g in lower)      # else contains() falls back to a loop
        self.lower = lower

    def contains(self, word: str) -> np.ndarray:
        """Sorted indices of the genes whose lower-case name contains ``word`` (lower-case, non-empty)."""
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
    """Genes whose name contains every word of ``query`` (case-insensitive, literal), in model order.

    What a gene picker's dropdown lists while the user types: at most ``limit`` genes, then the
    ``selected`` ones (always listed, so the picker can show them; never twice). One index of the
    model's genes serves every session, so a picker costs a session nothing but this call.
    ``any_word=True`` lists the genes that contain any of the words instead.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import GeneVectors
    >>> from genevec.app._data import search_genes
    >>> gv = GeneVectors(np.eye(4), ["KRAS", "HRAS", "NRAS", "TP53"])
    >>> search_genes(gv, "ras"), search_genes(gv, "ras", limit=1, selected=["TP53"])
    (['KRAS', 'HRAS', 'NRAS'], ['KRAS', 'TP53'])
    >>> search_genes(gv, "k ras"), search_genes(gv, "k tp", any_word=True)
    (['KRAS'], ['KRAS', 'TP53'])
    """
    index = _index_of(gv)
    words = list(dict.fromkeys(w for w in (query or "").lower().split() if w))
    chosen = [g for g in dict.fromkeys(selected) if isinstance(g, str) and g in gv]
    skip = set(chosen)
    limit = max(int(limit), 0)
    if not words:
        hits: Any = range(len(index.genes))
    else:
        found = [index.contains(w) for w in words]
        hits = found[0]
        for more in found[1:]:
            hits = np.union1d(hits, more) if any_word else np.intersect1d(hits, more, assume_unique=True)
    out: list[str] = []
    for i in hits:
        if len(out) >= limit:
            break
        g = index.genes[i]
        if g not in skip:
            out.append(g)
    return out + chosen


def rows_note(shown: int, total: int, *, rest: str = "filter or download for the rest") -> str:
    """The caption's note when a table shows only its first ``shown`` of ``total`` rows ('' when all).

    Examples
    --------
    >>> from genevec.app._data import rows_note
    >>> rows_note(200, 25320), rows_note(200, 150)
    ('showing 200 of 25,320; filter or download for the rest', '')
    """
    return f"showing {shown:,} of {total:,}; {rest}" if shown < total else ""


def neighbours(gv: Any, gene: str, text: str | None = None) -> pd.DataFrame:
    """``Gene | Similarity`` (``| Support`` when the vectors carry it) of every other gene, best first, filtered."""
    return filter_genes(gv.neighbor_table(gene), text)


def analogy(gv: Any, a: str, b: str, c: str, mode: str = "gensim", topn: int = 20) -> pd.DataFrame:
    """Answers to "a is to b as ? is to c" (``a - b + c``) as ``Rank | Gene | Similarity``."""
    if mode not in ANALOGY_MODES:
        raise ValueError(f"analogy mode must be one of {', '.join(map(repr, ANALOGY_MODES))}, got {mode!r}.")
    pairs = gv.analogy(a, b, c, topn=topn, mode=mode)
    return pd.DataFrame({"Rank": np.arange(1, len(pairs) + 1), "Gene": [g for g, _ in pairs],
                         "Similarity": [float(s) for _, s in pairs]})


def for_display(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Round the Similarity and Support columns for the screen (downloads keep every digit)."""
    out = table.copy()
    if "Similarity" in out:
        out["Similarity"] = out["Similarity"].round(digits)
    if "Support" in out:
        out["Support"] = out["Support"].round(2)
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
    """Where a model's map is cached: ``<vectors>.map.tsv`` (:func:`genevec.plot.map_cache_path`)."""
    from ..plot import map_cache_path

    return map_cache_path(vectors_path)


def get_map(model: Model, *, n_clusters: int = 15, random_state: int = 42) -> pd.DataFrame:
    """The model's t-SNE map: from memory, else from ``<vectors>.map.tsv``, else computed and saved.

    The TSV is reused when it is newer than the vectors and lists the same genes. A process computes
    each map once, however many sessions ask at the same time. If the folder is read-only the map
    is kept in memory only.
    """
    from ..plot import model_map, read_gene_map, write_map_table

    gv = model.vectors
    stamp = _stamp(model.path)
    with _lock:
        hit = _maps.get(model.path)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        lock = _map_locks.setdefault(model.path, threading.Lock())
    with lock:
        with _lock:
            hit = _maps.get(model.path)
            if hit is not None and hit[0] == stamp:
                return hit[1]
        cache = map_path(model.path)
        m = None
        if os.path.isfile(cache) and os.stat(cache).st_mtime_ns >= stamp[0]:
            try:
                m = read_gene_map(cache)
                if m["gene"].tolist() != list(gv.genes):
                    log.info("%s lists other genes than %s; recomputing", cache, model.path)
                    m = None
            except (ValueError, OSError) as exc:
                log.warning("ignoring the map cache %s: %s", cache, exc)
                m = None
        if m is None:
            log.info("computing the map of %s (%d genes)", model.path, len(gv))
            m = model_map(gv, n_clusters=n_clusters, random_state=random_state)
            try:
                write_map_table(m, cache)
            except OSError as exc:
                log.warning("could not cache the map in %s (%s); keeping it in memory", cache, exc)
        with _lock:
            _maps[model.path] = (stamp, m)
        return m


def _scale(m: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    x, y = m["x"].to_numpy(float), m["y"].to_numpy(float)
    span = max(np.ptp(x) / (MAP_WIDTH - 2 * MAP_PAD), np.ptp(y) / (MAP_HEIGHT - 2 * MAP_PAD), 1e-12)
    px = MAP_PAD + (x - x.min()) / span
    py = MAP_HEIGHT - MAP_PAD - (y - y.min()) / span               # SVG y grows downwards
    return px, py


def _radius(n: int) -> float:
    return float(np.clip(60.0 / np.sqrt(max(n, 1)), 1.6, 6.0))


def map_svg(m: pd.DataFrame) -> str:
    """The whole map as one SVG: a ``<circle data-g=gene>`` with a ``<title>`` tooltip per gene.

    Circles are grouped by cluster (one fill per group); gene names are HTML-escaped.

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.app._data import map_svg
    >>> svg = map_svg(pd.DataFrame({"gene": ["<i>A", "B"], "x": [0., 1], "y": [0., 1], "cluster": [1, 2]}))
    >>> svg.count("<circle"), "&lt;i&gt;A" in svg, "<i>" in svg
    (2, True, False)
    """
    from ..plot import cluster_colors

    px, py = _scale(m)
    r = _radius(len(m))
    genes = m["gene"].astype(str).to_numpy()
    cl = m["cluster"].to_numpy(int)
    colors = cluster_colors(int(cl.max()) if len(cl) else 0)
    out = [f'<svg id="genemap-base" class="genemap" viewBox="0 0 {MAP_WIDTH} {MAP_HEIGHT}" '
           f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="t-SNE map of {len(m)} genes">']
    for k in sorted(set(cl.tolist())):
        out.append(f'<g fill="{colors[k - 1]}" fill-opacity="0.75" data-cluster="{k}">')
        for i in np.flatnonzero(cl == k):
            g = html.escape(genes[i], quote=True)
            out.append(f'<circle cx="{px[i]:.1f}" cy="{py[i]:.1f}" r="{r:.1f}" data-g="{g}">'
                       f'<title>{g} (cluster {k})</title></circle>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def map_overlay_svg(m: pd.DataFrame, focus: str | None, others: Sequence[str] = ()) -> str:
    """A transparent SVG over the map that rings ``focus`` and ``others`` (its neighbours) and labels them."""
    px, py = _scale(m)
    r = _radius(len(m))
    pos = {g: i for i, g in enumerate(m["gene"].astype(str))}
    out = [f'<svg id="genemap-overlay" class="genemap-overlay" viewBox="0 0 {MAP_WIDTH} {MAP_HEIGHT}" '
           'xmlns="http://www.w3.org/2000/svg">']
    rows = [(g, False) for g in others if g in pos and g != focus]
    if focus is not None and focus in pos:
        rows.append((focus, True))                                   # drawn last: on top
    for g, is_focus in rows:
        i = pos[g]
        e = html.escape(g, quote=True)
        ring = max(r * (3.0 if is_focus else 2.0), 5.0 if is_focus else 3.5)
        colour = "#d00" if is_focus else "#111"
        out.append(f'<circle cx="{px[i]:.1f}" cy="{py[i]:.1f}" r="{ring:.1f}" fill="none" stroke="{colour}" '
                   f'stroke-width="{2.5 if is_focus else 1.5}"/>')
        size = 16 if is_focus else 11
        anchor = "end" if px[i] > MAP_WIDTH * 0.85 else "start"
        dx = -ring - 2 if anchor == "end" else ring + 2
        out.append(f'<text x="{px[i] + dx:.1f}" y="{py[i] - 2:.1f}" font-size="{size}" text-anchor="{anchor}" '
                   f'font-weight="{"bold" if is_focus else "normal"}" fill="{colour}" stroke="white" '
                   f'stroke-width="3" paint-order="stroke">{e}</text>')
    out.append("</svg>")
    return "".join(out)


def cluster_summary(m: pd.DataFrame, show: int = 8) -> pd.DataFrame:
    """``Cluster | Genes | Examples`` for every cluster of a map."""
    rows = []
    for k, grp in m.groupby("cluster", sort=True):
        genes = grp["gene"].astype(str).tolist()
        rows.append({"Cluster": int(k), "Genes": len(genes),
                     "Examples": ", ".join(genes[:show]) + (", ..." if len(genes) > show else "")})
    return pd.DataFrame(rows, columns=["Cluster", "Genes", "Examples"])


def cluster_table(m: pd.DataFrame, cluster: int) -> pd.DataFrame:
    """``Gene`` column of one cluster (via :func:`genevec.plot.cluster_genes`)."""
    from ..plot import cluster_genes

    return pd.DataFrame({"Gene": cluster_genes(m, int(cluster))})


def about(models: Sequence[Model]) -> list[dict[str, Any]]:
    """Per model: label, file, genes, dimension, dtype, the training parameters of its sidecar, and the
    quality report (``quality``: verdict sentences and table rows) when one was stored with the vectors."""
    out = []
    for mdl in models:
        gv = mdl.vectors
        raw = dict(getattr(gv, "metadata", {}) or {})
        quality = quality_summary(raw.pop("quality", None))
        meta = {k: (v if isinstance(v, (str, int, float, bool)) or v is None else json.dumps(v))
                for k, v in sorted(raw.items())}
        out.append({"label": mdl.label, "path": mdl.path, "genes": len(gv), "dim": int(gv.dim),
                    "dtype": str(gv.vectors.dtype), "parameters": meta, "quality": quality,
                    "support": None if gv.support is None else
                    f"{gv.support.n_fits} {gv.support.mode} refits, top {gv.support.k}"})
    return out


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
