"""The embedded demo data: shape, content equal to the shared file, n_genes, packaging."""

import hashlib
from importlib import resources

import numpy as np
import pytest
from conftest import REPO, shared_file

import genevec
from genevec import datasets


@pytest.fixture(scope="module")
def demo():
    return datasets.load_demo(return_attributes=True)


def test_full_demo_is_the_shared_gtex_file(demo):
    counts, attrs = demo
    assert counts.shape == (31, 36652) and (counts.dtypes == np.int64).all()
    assert counts.index.tolist() == attrs.index.tolist()
    assert attrs["SMTS"].value_counts().to_dict() == {"Skin": 20, "Bladder": 11}
    shared = genevec.read_counts(shared_file("gtex_v6_skin_bladder", "gtex_v6_skin_bladder_gene_reads.gct.gz"))
    assert shared.columns.equals(counts.columns) and shared.index.equals(counts.index)
    np.testing.assert_array_equal(shared.to_numpy(), counts.to_numpy())


def test_embedded_files_are_byte_copies():
    for name in (datasets.DEMO_COUNTS, datasets.DEMO_ATTRIBUTES):
        ours = resources.files("genevec.datasets").joinpath("data", name).read_bytes()
        theirs = shared_file("gtex_v6_skin_bladder", name).read_bytes()
        assert hashlib.sha256(ours).hexdigest() == hashlib.sha256(theirs).hexdigest()
        assert hashlib.sha256(ours).hexdigest() in (REPO / "genevec" / "datasets" / "PROVENANCE.md").read_text()


def test_n_genes_keeps_query_genes_and_the_top_expressed(demo):
    counts = demo[0]
    sub = datasets.load_demo(n_genes=500)
    assert sub.shape == (31, 500)
    assert set(datasets.QUERY_GENES) == {"EGFR", "TP53", "PTEN", "KRAS", "BRCA1", "BRCA2"}
    for gene in datasets.QUERY_GENES:
        assert gene in sub.columns
        np.testing.assert_array_equal(sub[gene].to_numpy(), counts[gene].to_numpy())
    # brute force: the other 494 are the largest totals among genes expressed in every sample
    everywhere = counts.columns[(counts > 0).all()]
    others = counts[everywhere].drop(columns=list(datasets.QUERY_GENES)).sum()
    others = others.sort_values(ascending=False, kind="stable")
    assert set(sub.columns) - set(datasets.QUERY_GENES) == set(others.index[:494])
    assert list(sub.columns) == [g for g in counts.columns if g in set(sub.columns)]  # file order kept


def test_n_genes_six_and_too_few():
    assert sorted(datasets.load_demo(n_genes=6).columns) == sorted(datasets.QUERY_GENES)
    with pytest.raises(ValueError, match=r"n_genes must be None \(all genes\) or an int >= 6.*got 5"):
        datasets.load_demo(n_genes=5)
    with pytest.raises(ValueError, match=r"got '100'"):
        datasets.load_demo(n_genes="100")


def test_package_data_is_small_and_credited():
    folder = REPO / "genevec" / "datasets"
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 5_000_000
    text = (folder / "PROVENANCE.md").read_text()
    assert "7e48450e3fb0e8f096c8478eb690befe53be87d7" in text and "Artistic-2.0" in text
    assert genevec.datasets is datasets
