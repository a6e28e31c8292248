"""The app's map, drawn: SVG of every gene, the overlay that rings a gene and its neighbours, the legend.

Plain functions of a map table (``gene, x, y, cluster``, from :func:`genevec.gene_map`) that return
SVG or HTML text, every gene name escaped. The Map tab draws the base SVG once per colouring (kept
by :class:`genevec.app._cache.AppCache`) and the overlay on every search.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

MAP_WIDTH, MAP_HEIGHT, MAP_PAD = 1000, 760, 24


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
    >>> from genevec.app._svg import map_colours
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
    >>> from genevec.app._svg import map_svg
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
    >>> from genevec.app._svg import legend_html
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
    >>> from genevec.app._svg import place_labels
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
