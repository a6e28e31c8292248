"""Gene maps and shift tables, drawn (genevec.plot): legends, labels, figures and their tables on disk."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from genevec.exceptions import GeneNotFoundError
from genevec.plot import plot_gene_map, read_gene_map, save_gene_map


def small_map():
    return pd.DataFrame({"gene": ["A", "B", "C", "D"], "x": [0.0, 1, 2, 3], "y": [0.0, 1, 0, 1],
                         "cluster": [1, 2, 1, 3]})


def test_plot_gene_map_legend_and_labels():
    ax = plot_gene_map(small_map(), highlight=["B", "D"], title="pancreas")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["1 (2)", "2 (1)", "3 (1)"]
    assert sorted(t.get_text() for t in ax.texts) == ["B", "D"]
    assert all(t.arrow_patch is not None for t in ax.texts)
    assert ax.get_title() == "pancreas"
    ax2 = plot_gene_map(small_map(), highlight="A")
    assert [t.get_text() for t in ax2.texts] == ["A"]
    assert ax2.get_title() == "t-SNE map of 4 genes, 3 clusters"


def test_plot_gene_map_errors():
    with pytest.raises(GeneNotFoundError, match=r"'a' is not among the 4 genes of this map. Did you mean 'A'"):
        plot_gene_map(small_map(), highlight=["a"])
    with pytest.raises(ValueError, match=r"lacks column\(s\) 'cluster'"):
        plot_gene_map(small_map().drop(columns="cluster"))
    with pytest.raises(TypeError, match=r"expected the DataFrame returned by gene_map\(\), got list"):
        plot_gene_map([1, 2])


def test_save_and_read_gene_map(tmp_path):
    png, tsv = save_gene_map(small_map(), tmp_path / "map.png", highlight=["C"])
    assert png == str(tmp_path / "map.png") and tsv == str(tmp_path / "map.tsv")
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    back = read_gene_map(tsv)
    pd.testing.assert_frame_equal(back, small_map())
    assert (tmp_path / "map.tsv").read_text().splitlines()[0] == "gene\tx\ty\tcluster"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.png", "map.tsv"]   # no temp files left
    with pytest.raises(ValueError, match=r"ends in .tsv.*'map.png'"):
        save_gene_map(small_map(), tmp_path / "map.tsv")


def test_gene_names_that_look_like_numbers_or_na_survive(tmp_path):
    m = pd.DataFrame({"gene": ["NA", "1", "MARCH1"], "x": [0.0, 1, 2], "y": [0.0, 1, 2], "cluster": [1, 1, 2]})
    _, tsv = save_gene_map(m, tmp_path / "m.png")
    assert read_gene_map(tsv)["gene"].tolist() == ["NA", "1", "MARCH1"]


def _shift_table():
    return pd.DataFrame({"gene": [f"G{i}" for i in range(30)], "score": np.linspace(5, 0, 30),
                         "shifted": [True] * 3 + [False] * 27, "jaccard": np.linspace(0, 0.9, 30),
                         "expected_jaccard": np.full(30, 0.6)})


def test_plot_shifts_names_the_top_genes_and_colours_the_shifted():
    import matplotlib

    matplotlib.use("Agg")
    from genevec.plot import plot_shifts

    table = _shift_table()
    table.attrs["tissues"] = ("Skin", "Bladder")
    ax = plot_shifts(table, label=4, highlight=["G20"])
    assert sorted(t.get_text() for t in ax.texts) == ["G0", "G1", "G2", "G20", "G3"]
    assert ax.get_title() == "Skin vs Bladder: 3 of 30 genes shifted"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["within noise (27)", "shifted (3)", "as noise alone"]
    red = ax.collections[1]
    np.testing.assert_allclose(red.get_offsets()[:, 0], [0.6, 0.6, 0.6])
    import matplotlib.pyplot as plt

    plt.close("all")


def test_plot_shifts_errors():
    from genevec.exceptions import GeneNotFoundError
    from genevec.plot import plot_shifts

    with pytest.raises(ValueError, match="must be a DataFrame from TissueModels.shifts with columns gene, score"):
        plot_shifts(_shift_table().drop(columns=["expected_jaccard"]))
    with pytest.raises(GeneNotFoundError, match="G99"):
        plot_shifts(_shift_table(), highlight=["G99"])
    with pytest.raises(ValueError) as err:
        plot_shifts(_shift_table(), label=-1)
    assert str(err.value) == ("plot_shifts: label must be in [0, inf), got -1. "
                              "Pass label=0 to name none, or e.g. label=8.")
    with pytest.raises(TypeError, match=r"^plot_shifts: label must be an int, got 2\.5 of type float\.$"):
        plot_shifts(_shift_table(), label=2.5)
