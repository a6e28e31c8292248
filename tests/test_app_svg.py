"""The app's map drawing (genevec.app._svg): every gene escaped and drawn, colours and legend, labels that never overlap."""

import numpy as np
import pandas as pd
import pytest

from genevec import GeneVectors
from genevec.app import _svg as sv

XSS = "<img/src=x/onerror=alert(1)>"


def test_map_svg_escapes_and_draws_every_gene():
    m = pd.DataFrame({"gene": [XSS, "A&B", "C"], "x": [0.0, 1, 2], "y": [0.0, 2, 1], "cluster": [1, 2, 2]})
    svg = sv.map_svg(m)
    assert svg.count("<circle") == 3 and svg.count("<title>") == 3
    assert "<img" not in svg and "&lt;img/src=x/onerror=alert(1)&gt;" in svg and "A&amp;B" in svg
    assert svg.count('<g fill="') == 2
    over, hidden = sv.map_overlay_svg(m, XSS, ["A&B", "missing"])
    assert "<img" not in over and over.count("<circle") == 2 and over.count("<text") == 2 and hidden == []
    assert over.rindex("A&amp;B") < over.rindex("&lt;img")                   # focus drawn last, on top
    assert sv.map_overlay_svg(m, None)[0].count("<circle") == 0
    xs = [float(s.split('"')[1]) for s in svg.split("cx=")[1:]]
    assert min(xs) == pytest.approx(sv.MAP_PAD) and max(xs) <= sv.MAP_WIDTH - sv.MAP_PAD + 1e-6


def test_labels_never_overlap_and_crowded_ones_are_left_out():
    rng = np.random.default_rng(0)
    pts = [(500 + rng.normal(scale=15), 380 + rng.normal(scale=15), 4.0) for _ in range(40)]
    texts = [f"GENE{i}" for i in range(40)]
    spots = sv.place_labels(pts, texts, [11] * 40)
    assert spots[0] is not None and any(s is None for s in spots)             # the first always; crowded ones out
    boxes = []
    for (x, y, anchor), text in ((s, t) for s, t in zip(spots, texts) if s is not None):
        w = sv.CHAR_EM * 11 * len(text) + 2
        left = x if anchor == "start" else x - w if anchor == "end" else x - w / 2
        boxes.append((left, y - sv.ASCENT_EM * 11, left + w, y + (sv.LINE_EM - sv.ASCENT_EM) * 11))
    for i, a in enumerate(boxes):
        assert 0 <= a[0] and a[2] <= sv.MAP_WIDTH and 0 <= a[1] and a[3] <= sv.MAP_HEIGHT
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    far = sv.place_labels([(100, 100, 4), (600, 500, 4)], ["A", "B"], [11, 11])
    assert all(s is not None and s[2] == "start" for s in far)               # room: every label, to the right
    edge = sv.place_labels([(sv.MAP_WIDTH - 2, 300, 4)], ["RIGHTEDGE"], [11])
    assert edge[0][2] == "end"                                                # no room on the right: to the left


def test_map_colours_and_legend():
    m = pd.DataFrame({"gene": ["KRAS", "TP53", "G1", "G2"], "x": 0.0, "y": 0.0, "cluster": [1, 1, 2, 3]})
    fills, legend = sv.map_colours(m)
    assert fills[0] == fills[1] and len(set(fills)) == 3 and [label for _, label in legend["items"]] == [
        "cluster 1 (2 genes)", "cluster 2 (1 genes)", "cluster 3 (1 genes)"]
    fills, legend = sv.map_colours(m, "set", members={"TP53", "G2", "NOT_MAPPED"}, set_label="p53 signalling")
    assert fills == [sv.OUT_OF_SET, sv.IN_SET, sv.OUT_OF_SET, sv.IN_SET]
    assert legend["items"][0] == (sv.IN_SET, "in p53 signalling (2 of 4 genes)")
    gv = GeneVectors(np.array([[1.0, 0], [1, 0.1], [0, 1], [-1, 0]]), ["KRAS", "TP53", "G1", "G2"])
    fills, legend = sv.map_colours(m, "similarity", gv=gv, focus="KRAS")
    assert legend["kind"] == "gradient" and legend["title"] == "Cosine similarity to KRAS"
    assert fills[0] == fills[1] != fills[2] != fills[3]                       # 1, ~1, 0 and -1 apart
    svg = sv.map_svg(m, fills)
    assert svg.count("<circle") == 4 and svg.count("<g fill=") == 3
    html_ = sv.legend_html(legend)
    assert "linear-gradient" in html_ and "Cosine similarity to KRAS" in html_
    assert sv.map_colours(m, "similarity", gv=gv, focus="ABSENT")[1]["title"] == "k-means cluster"   # falls back
