"""genevec.pseudobulk, genevec.fit_anndata and GeneVectors.from_anndata / to_anndata."""

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import anndata
import genevec
from genevec import GeneGloVe, GeneVectors, fit_anndata, pseudobulk
from genevec.evaluate import QualityReport
from genevec.exceptions import CountsError


def cell_data(n_cells=120, n_genes=30, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.csr_matrix(rng.poisson(0.6, size=(n_cells, n_genes)).astype(np.float64))
    obs = pd.DataFrame({"type": rng.choice(["T", "B", "NK"], size=n_cells)},
                       index=[f"cell{i}" for i in range(n_cells)])
    var = pd.DataFrame(index=[f"G{j}" for j in range(n_genes)])
    return anndata.AnnData(X=X * 0.1, layers={"counts": X}, obs=obs, var=var)


def pseudobulk_ref(A, groups):
    """Brute force: one Python sum per group of cell indices."""
    return np.array([A[list(g)].sum(axis=0) for g in groups])


@pytest.mark.parametrize("groupby,k", [("type", None), (None, 7), ("type", 7), ("type", 1000)])
def test_pseudobulk_sums_every_cell_once(groupby, k):
    a = cell_data()
    pb = pseudobulk(a, groupby=groupby, cells_per_group=k, random_state=3)
    A = a.layers["counts"].toarray()
    assert pb.obs["n_cells"].sum() == a.n_obs
    np.testing.assert_array_equal(pb.X.toarray().sum(axis=0), A.sum(axis=0))
    assert list(pb.var_names) == list(a.var_names)
    if k is not None:
        sizes = pb.obs["n_cells"].to_numpy()
        counts = a.obs["type"].value_counts() if groupby else pd.Series([a.n_obs])
        assert all((sizes >= min(k, counts.min())) & (sizes < 2 * k))
    if groupby is not None:  # groups never mix labels: each group's sum is the sum of cells of its label
        for label in pb.obs[groupby].unique():
            rows = (pb.obs[groupby] == label).to_numpy()
            cells = (a.obs["type"] == label).to_numpy()
            np.testing.assert_array_equal(pb.X.toarray()[rows].sum(axis=0), A[cells].sum(axis=0))


def test_pseudobulk_groups_match_a_brute_force_reference():
    a = cell_data(n_cells=40)
    pb = pseudobulk(a, groupby="type", cells_per_group=None)
    A = a.layers["counts"].toarray()
    groups = [np.flatnonzero(a.obs["type"].to_numpy() == lab) for lab in pb.obs["type"]]
    np.testing.assert_array_equal(pb.X.toarray(), pseudobulk_ref(A, groups))
    assert list(pb.obs_names) == sorted(a.obs["type"].unique())


def test_pseudobulk_is_reproducible_and_random_state_matters():
    a = cell_data()
    one = pseudobulk(a, cells_per_group=10, random_state=0).X.toarray()
    assert np.array_equal(one, pseudobulk(a, cells_per_group=10, random_state=0).X.toarray())
    assert not np.array_equal(one, pseudobulk(a, cells_per_group=10, random_state=1).X.toarray())


def test_pseudobulk_of_a_backed_file_equals_in_memory(tmp_path):
    a = cell_data(n_cells=300)
    a.write_h5ad(tmp_path / "cells.h5ad")
    mem = pseudobulk(a, groupby="type", cells_per_group=9)
    disk = pseudobulk(tmp_path / "cells.h5ad", groupby="type", cells_per_group=9)
    assert np.array_equal(mem.X.toarray(), disk.X.toarray())
    assert list(mem.obs_names) == list(disk.obs_names)


def test_pseudobulk_bad_input():
    a = cell_data()
    with pytest.raises(ValueError, match="pass groupby='cell_type'"):
        pseudobulk(a, cells_per_group=None)
    with pytest.raises(ValueError, match=r"no column 'celltype'; its columns are: 'type'"):
        pseudobulk(a, groupby="celltype")
    with pytest.raises(ValueError, match="cells_per_group must be an int >= 1"):
        pseudobulk(a, cells_per_group=0)
    with pytest.raises(ValueError, match=r"no layer 'raw'; its layers are: 'counts'"):
        pseudobulk(a, layer="raw")
    with pytest.raises(CountsError, match="non-integer"):
        pseudobulk(a, layer=None)
    b = a.copy()
    b.obs.loc["cell3", "type"] = None
    with pytest.raises(ValueError, match=r"1 cells have no 'type' label \(first: 'cell3'\)"):
        pseudobulk(b, groupby="type")


def test_fit_anndata_stores_vectors_params_and_quality(tmp_path):
    counts = genevec.datasets.load_demo(n_genes=300)
    counts["NOPE"] = 0  # a gene without any count gets a NaN row
    a = anndata.AnnData(X=np.zeros(counts.shape), layers={"counts": counts.to_numpy(dtype=float)},
                        var=pd.DataFrame(index=list(counts.columns)), obs=pd.DataFrame(index=list(counts.index)))
    params = dict(dim=8, solver="svd", max_iter=0, random_state=0)
    with pytest.warns(Warning, match="co-occur with no gene"):
        model = fit_anndata(a, **params)
    V = a.varm["genevec"]
    assert V.shape == (301, 8)
    assert np.isnan(V[-1]).all() and not np.isnan(V[:-1]).any()
    with pytest.warns(Warning, match="co-occur with no gene"):
        ref = GeneGloVe(**params).fit(counts)
    np.testing.assert_array_equal(V[:-1], ref.embedding_)
    assert a.uns["genevec"]["params"]["dim"] == 8 and a.uns["genevec"]["n_genes"] == 300
    report = QualityReport.from_dict(json.loads(a.uns["genevec"]["quality"]))
    assert ("go_bp", "vectors") in report.table.index
    # round trip through a file
    a.write_h5ad(tmp_path / "fitted.h5ad")
    back = GeneVectors.from_anndata(anndata.read_h5ad(tmp_path / "fitted.h5ad"))
    assert back.genes == list(model.genes_)
    np.testing.assert_array_equal(back.vectors, model.embedding_)
    assert back.most_similar("TP53", topn=3) == model.most_similar("TP53", topn=3)
    assert back.metadata["dim"] == 8


def test_to_anndata_from_anndata_round_trip_and_errors():
    gv = GeneVectors(np.arange(12, dtype=np.float32).reshape(4, 3), ["A", "B", "C", "D"], metadata={"dim": 3, "x": None})
    a = gv.to_anndata()
    back = GeneVectors.from_anndata(a)
    assert back.genes == gv.genes and back.vectors.tobytes() == gv.vectors.tobytes()
    assert back.metadata == {"dim": 3, "x": "None"}
    other = anndata.AnnData(var=pd.DataFrame(index=["B", "Z", "A"]))
    gv.to_anndata(other, key="emb")
    assert np.isnan(other.varm["emb"][1]).all()
    assert GeneVectors.from_anndata(other, key="emb").genes == ["B", "A"]
    with pytest.raises(KeyError, match=r"no 'genevec'; its keys are: 'emb'"):
        GeneVectors.from_anndata(other)
    with pytest.raises(ValueError, match="none of the 4 genes of the vectors is in adata.var_names"):
        gv.to_anndata(anndata.AnnData(var=pd.DataFrame(index=["X1"])))


def test_fit_anndata_on_a_backed_file(tmp_path):
    a = cell_data(n_cells=200)
    a.write_h5ad(tmp_path / "cells.h5ad")
    backed = anndata.read_h5ad(tmp_path / "cells.h5ad", backed="r")
    model = fit_anndata(backed, dim=4, solver="svd", max_iter=0, random_state=0, gene_sets=None)
    ref = GeneGloVe(dim=4, solver="svd", max_iter=0, random_state=0).fit(a, layer="counts")
    np.testing.assert_array_equal(backed.varm["genevec"], ref.embedding_)
    assert model.n_samples_fit_ == 200
    backed.file.close()
