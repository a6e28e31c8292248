"""Gene maps and shift tables, drawn with matplotlib (imported only when a figure is drawn).

:func:`plot_gene_map` draws a map from :func:`genevec.gene_map` (computed in :mod:`genevec.maps`);
:func:`save_gene_map` writes its figure (PNG, SVG or PDF) and its table (TSV), both atomically;
:func:`plot_shifts` draws a :meth:`genevec.TissueModels.shifts` table. The map's computation and its
table I/O (``gene_map``, ``model_map``, ``cluster_genes``, ``read_gene_map``, ...) are importable
from here too, as they were before they moved to :mod:`genevec.maps`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._validation import check_int_in_range
from .exceptions import GeneNotFoundError
from .maps import (  # noqa: F401  (re-exported: genevec.plot.<name> keeps working)
    MAP_COLUMNS,
    _check_map,
    cluster_genes,
    gene_map,
    map_cache_path,
    model_map,
    read_gene_map,
    write_map_table,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["gene_map", "plot_gene_map", "plot_shifts", "cluster_genes", "save_gene_map", "read_gene_map", "MAP_COLUMNS"]


def _unknown_gene(gene: str, genes: Sequence[str], caller: str) -> GeneNotFoundError:
    genes = list(genes)
    by_lower: dict[str, str] = {}
    for g in genes:
        by_lower.setdefault(g.lower(), g)
    near = [by_lower[g] for g in difflib.get_close_matches(gene.lower(), list(by_lower), n=3)]
    hint = f" Did you mean {', '.join(map(repr, near))}?" if near else ""
    return GeneNotFoundError(
        f"{caller}: {gene!r} is not among the {len(genes):,} genes of this map.{hint} "
        "Genes are matched by symbol, case-sensitively."
    )

def cluster_colors(n_clusters: int) -> list[str]:
    """``n_clusters`` distinguishable hex colours (tab20, then evenly spaced hues), shared by plot and app."""
    base = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
            "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"]
    if n_clusters <= len(base):
        return base[:n_clusters]
    import colorsys

    out = list(base)
    for i in range(n_clusters - len(base)):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.65, 0.8)
        out.append(f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}")
    return out


def plot_gene_map(
    gene_map_df: pd.DataFrame,
    *,
    highlight: Sequence[str] | str | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Scatter a gene map coloured by cluster, with chosen genes labelled.

    Parameters
    ----------
    gene_map_df : DataFrame
        Columns ``gene, x, y, cluster`` as returned by :func:`gene_map`.
    highlight : str or sequence of str, optional
        Genes to mark and label with an arrow; an unknown gene raises ``GeneNotFoundError``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    title : str, optional
        Axes title; by default ``"t-SNE map of N genes, K clusters"``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from genevec.plot import plot_gene_map
    >>> m = pd.DataFrame({"gene": ["A", "B", "C"], "x": [0., 1, 2], "y": [0., 1, 0], "cluster": [1, 2, 1]})
    >>> ax = plot_gene_map(m, highlight=["B"])
    >>> [t.get_text() for t in ax.get_legend().get_texts()], [t.get_text() for t in ax.texts]
    (['1 (2)', '2 (1)'], ['B'])
    """
    m = _check_map(gene_map_df, "plot_gene_map")
    if isinstance(highlight, str):
        highlight = [highlight]
    highlight = list(highlight or [])
    genes = m["gene"].astype(str).tolist()
    pos = {g: i for i, g in enumerate(genes)}
    for g in highlight:
        if g not in pos:
            raise _unknown_gene(g, genes, "plot_gene_map")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 7))
    clusters = sorted(int(c) for c in pd.unique(m["cluster"]))
    colors = cluster_colors(max(clusters) if clusters else 0)
    size = float(np.clip(3000.0 / max(len(m), 1), 1.0, 30.0))
    x, y, c = m["x"].to_numpy(float), m["y"].to_numpy(float), m["cluster"].to_numpy(int)
    for k in clusters:
        sel = c == k
        ax.scatter(x[sel], y[sel], s=size, color=colors[k - 1], label=f"{k} ({int(sel.sum()):,})",
                   linewidths=0, alpha=0.8)
    span = max(np.ptp(x) if len(x) else 1.0, np.ptp(y) if len(y) else 1.0, 1e-9)
    for j, g in enumerate(highlight):
        i = pos[g]
        ax.scatter([x[i]], [y[i]], s=max(size * 4, 30), facecolors="none", edgecolors="black", linewidths=1.2)
        angle = 2 * np.pi * (j / max(len(highlight), 1)) + 0.6
        ax.annotate(g, xy=(x[i], y[i]), xytext=(x[i] + 0.08 * span * np.cos(angle), y[i] + 0.08 * span * np.sin(angle)),
                    fontsize=9, fontweight="bold", arrowprops={"arrowstyle": "->", "color": "black", "lw": 0.8},
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.5", "alpha": 0.85})
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.set_title(title if title is not None else f"t-SNE map of {len(m):,} genes, {len(clusters)} clusters")
    ax.legend(title="cluster (genes)", loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8,
              title_fontsize=9, markerscale=max(1.0, 6.0 / np.sqrt(size)), frameon=False)
    return ax


_SHIFT_COLUMNS = ("gene", "score", "shifted", "jaccard", "expected_jaccard")


def plot_shifts(table: pd.DataFrame, *, label: int = 8, highlight: Sequence[str] | None = None,
                ax: Axes | None = None, title: str | None = None) -> Axes:
    """Draw a shift table: each gene's neighbour overlap between two tissues against what noise alone gives.

    One point per gene: ``x`` is the Jaccard index of its top-``k`` neighbours expected from each
    tissue's split-half noise, ``y`` the one observed between the two tissues. On the diagonal a
    gene keeps the company noise allows; far below it, it changed company. Genes called shifted are
    red, the ``label`` highest scores are named, and ``highlight`` genes are ringed and named.

    Parameters
    ----------
    table : DataFrame
        From :meth:`genevec.TissueModels.shifts` with ``top=None`` (every shared gene).
    label : int, default=8
        Name the genes of the ``label`` highest scores.
    highlight : sequence of str, optional
        Genes to ring and name (unknown genes raise ``GeneNotFoundError``).
    ax : matplotlib Axes, optional
    title : str, optional
        Default: ``"A vs B: n of N genes shifted"`` from the table's ``attrs``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    Drawn on the axes of a figure made without pyplot (no backend to choose, nothing left open):

    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from genevec.plot import plot_shifts
    >>> t = pd.DataFrame({"gene": ["A", "B", "C"], "score": [3.0, 0.5, 0.1], "shifted": [True, False, False],
    ...                   "jaccard": [0.0, 0.4, 0.6], "expected_jaccard": [0.7, 0.5, 0.6]})
    >>> ax = plot_shifts(t, label=1, highlight=["C"], ax=Figure().subplots())
    >>> sorted(x.get_text() for x in ax.texts)
    ['A', 'C']
    """
    if not isinstance(table, pd.DataFrame) or any(c not in table.columns for c in _SHIFT_COLUMNS):
        raise ValueError(f"plot_shifts: table must be a DataFrame from TissueModels.shifts with columns "
                         f"{', '.join(_SHIFT_COLUMNS)}; got {type(table).__name__}"
                         + (f" with columns {list(table.columns)[:8]}" if isinstance(table, pd.DataFrame) else ""))
    label = check_int_in_range(label, "label", 0, None, "plot_shifts",   # the number of top-scoring genes to name
                               "Pass label=0 to name none, or e.g. label=8.")
    genes = table["gene"].astype(str).tolist()
    for g in highlight or []:
        if g not in set(genes):
            raise _unknown_gene(g, genes, "plot_shifts")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 5.2))
    x = table["expected_jaccard"].to_numpy(float)
    y = table["jaccard"].to_numpy(float)
    shifted = table["shifted"].to_numpy(bool)
    size = float(np.clip(3000.0 / max(len(table), 1), 2.0, 30.0))
    rng = np.random.default_rng(0)                       # a little vertical jitter: overlaps take k + 1 values
    jitter = rng.uniform(-0.008, 0.008, len(y))
    ax.scatter(x[~shifted], y[~shifted] + jitter[~shifted], s=size, color="0.55", linewidths=0, alpha=0.6,
               label=f"within noise ({int((~shifted).sum()):,})")
    ax.scatter(x[shifted], y[shifted] + jitter[shifted], s=size * 2, color="tab:red", linewidths=0,
               label=f"shifted ({int(shifted.sum()):,})")
    ax.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle="--", label="as noise alone")
    order = np.argsort(-table["score"].to_numpy(float), kind="stable")
    named = [int(i) for i in order[:label]]
    ringed = [genes.index(g) for g in highlight or []]
    for i in ringed:
        ax.scatter([x[i]], [y[i]], s=max(size * 5, 30), facecolors="none", edgecolors="black", linewidths=1.0)
    placed: list[tuple[float, float]] = []
    for i in dict.fromkeys(named + ringed):            # labels near an earlier one step upwards, with a leader
        crowd = sum(abs(x[i] - px) < 0.04 and abs(y[i] - py) < 0.04 for px, py in placed)
        placed.append((x[i], y[i]))
        ax.annotate(genes[i], (x[i], y[i] + jitter[i]), xytext=(8, 4 + 11 * crowd), textcoords="offset points",
                    fontsize=8, arrowprops={"arrowstyle": "-", "color": "0.4", "linewidth": 0.5} if crowd else None)
    top = float(np.nanmax(np.concatenate([x, y, [0.1]])))
    ax.set_xlim(-0.02, min(1.02, top + 0.05))
    ax.set_ylim(-0.04, min(1.04, top + 0.05))
    ax.set_xlabel("neighbour overlap expected from noise (Jaccard)")
    ax.set_ylabel("neighbour overlap between the tissues (Jaccard)")
    attrs = table.attrs or {}
    if title is None and "tissues" in attrs:
        a, b = attrs["tissues"]
        title = f"{a} vs {b}: {int(shifted.sum()):,} of {len(table):,} genes shifted"
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return ax


def save_gene_map(
    gene_map_df: pd.DataFrame,
    image: str | os.PathLike,
    *,
    table: str | os.PathLike | None = None,
    highlight: Sequence[str] | str | None = None,
    title: str | None = None,
    dpi: int = 120,
) -> tuple[str, str]:
    """Write a map's figure (PNG, SVG or PDF by suffix) and its table (TSV), each atomically.

    Parameters
    ----------
    gene_map_df : DataFrame
        From :func:`gene_map`.
    image : path
        Figure to write, e.g. ``"map.png"``.
    table : path, optional
        TSV to write; by default the image path with suffix ``.tsv`` (``map.png`` -> ``map.tsv``).
    highlight, title
        As in :func:`plot_gene_map`.
    dpi : int, default=120

    Returns
    -------
    (image, table) : tuple of str
        The paths written.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from genevec.plot import save_gene_map, read_gene_map
    >>> m = pd.DataFrame({"gene": ["A", "B"], "x": [0., 1], "y": [0., 1], "cluster": [1, 2]})
    >>> png, tsv = save_gene_map(m, os.path.join(tempfile.mkdtemp(), "map.png"))
    >>> os.path.basename(tsv), read_gene_map(tsv)["gene"].tolist()
    ('map.tsv', ['A', 'B'])
    """
    from ._atomic import atomic_write

    m = _check_map(gene_map_df, "save_gene_map")
    image = os.fspath(image)
    root, ext = os.path.splitext(image)
    if ext.lower() == ".tsv":
        raise ValueError(f"save_gene_map: the image {image!r} ends in .tsv, the suffix of the table; "
                         "give an image name such as 'map.png'.")
    table = os.fspath(table) if table is not None else root + ".tsv"
    from matplotlib.figure import Figure   # no pyplot: works without a display and in threads

    fig = Figure(figsize=(9, 7))
    ax = fig.add_subplot()
    plot_gene_map(m, highlight=highlight, ax=ax, title=title)
    fmt = ext.lstrip(".").lower() or "png"
    with atomic_write(image, "wb") as fh:
        fig.savefig(fh, format=fmt, dpi=dpi, bbox_inches="tight")
    write_map_table(m, table)
    return image, table
