"""Make the figures of the docs (small PNGs committed under docs/_static/).

Run from the repository root: ``python docs/make_figures.py``. It follows the tutorial's code on
the embedded demo data, so the figure shows what a reader will get.
"""

from __future__ import annotations

import sys
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "_static"


def tutorial_map(path: Path = STATIC / "tutorial_map.png") -> Path:
    """The tutorial's t-SNE map of the demo skin genes, EGFR, TP53 and KRAS highlighted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import genevec
    from genevec import GeneGloVe

    counts, attrs = genevec.datasets.load_demo(n_genes=500, return_attributes=True)
    skin = genevec.select_tissue(counts, attrs, "Skin")
    skin = genevec.filter_genes(skin, min_samples=5, keep=["EGFR", "TP53", "PTEN", "KRAS", "BRCA1", "BRCA2"])
    model = GeneGloVe(dim=100, random_state=0).fit(skin)
    gmap = genevec.gene_map(model.vectors_, n_clusters=8, perplexity=30, random_state=42)
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    genevec.plot_gene_map(gmap, highlight=["EGFR", "TP53", "KRAS"], ax=ax)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return path


def tissues_shifts(path: Path = STATIC / "tissues_shifts.png") -> Path:
    """The tissues page's figure: skin vs bladder of the embedded demo, as the page computes it."""
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import genevec
    from genevec.datasets import demo_paths

    with tempfile.TemporaryDirectory() as folder:
        models = genevec.fit_tissues(*demo_paths(), min_samples=10, top_genes=2000, output=Path(folder) / "t")
    table = models.shifts("Skin", "Bladder", top=None)
    ax = genevec.plot_shifts(table, label=8, highlight=["KRT14", "RPL3"])
    ax.figure.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(ax.figure)
    return path


if __name__ == "__main__":
    STATIC.mkdir(exist_ok=True)
    for make in (tutorial_map, tissues_shifts):
        out = make()
        print(f"{out} ({out.stat().st_size / 1024:.0f} KB)", file=sys.stderr)
