"""Streamed co-occurrence (genevec.stream): bit-identical to the in-memory path, bounded inputs, clear errors."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _reference import tcm_ref
from hypothesis import given, settings
from hypothesis import strategies as st

import anndata
from genevec import GeneGloVe, _layout, dtm_to_tcm, stream
from genevec.exceptions import CountsError, FileFormatError
from genevec.tcm import training_tiles


def cells(n_cells=400, n_genes=70, density=0.15, seed=0, empty_genes=2):
    """Sparse integer counts, cells x genes, with ``empty_genes`` all-zero genes at the end."""
    rng = np.random.default_rng(seed)
    X = sp.random(n_cells, n_genes, density=density, format="csr", random_state=rng)
    X.data = np.ceil(X.data * 30)
    if empty_genes:
        X = sp.hstack([X, sp.csr_matrix((n_cells, empty_genes))]).tocsr()
    return X


def write_h5ad(path, X, *, layer="counts", x_scale=0.5):
    n, m = X.shape
    a = anndata.AnnData(X=(X * x_scale).astype(np.float32), layers={layer: X},
                        obs=pd.DataFrame(index=[f"c{i}" for i in range(n)]),
                        var=pd.DataFrame(index=[f"g{j}" for j in range(m)]))
    a.write_h5ad(path)
    return a


@pytest.fixture
def atlas(tmp_path):
    X = cells()
    path = tmp_path / "atlas.h5ad"
    write_h5ad(path, X)
    return path, X


@pytest.mark.parametrize("n_jobs,chunk_nnz,band_bytes", [
    (1, 1, 10**9),        # one cell per chunk (about): chunk boundaries everywhere
    (2, 97, 8),           # a tile row per pass
    (3, 97, 5000),        # a few tile rows per pass
    (2, 10**9, 5000),     # the whole file as one chunk
    (3, 10**9, 10**9),    # one chunk, one pass
    (1, 400, 8),
])
def test_h5ad_tiles_bit_identical_to_in_memory(atlas, n_jobs, chunk_nnz, band_bytes):
    path, X = atlas
    b = _layout.gene_groups(X.shape[1], group_size=16)
    want = training_tiles(X.toarray(), b, n_jobs=1)
    src = stream.cell_chunks(path, layer="counts", chunk_nnz=chunk_nnz)
    got = stream.training_tiles(src, b, max_buffer_bytes=band_bytes, n_threads=n_jobs)
    assert got.values.dtype == np.float32
    assert got.values.tobytes() == want.values.tobytes()
    assert got.n_entries == want.n_entries


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_input_kind_gives_the_same_tiles(atlas, dtype):
    path, X = atlas
    b = _layout.gene_groups(X.shape[1])
    want = training_tiles(X, b, dtype=dtype, n_jobs=2)
    backed = anndata.read_h5ad(path, backed="r")
    inputs = {
        "path": str(path),
        "backed": backed,
        "blocks": [X[i:i + 61] for i in range(0, X.shape[0], 61)],
        "generator": (X[i:i + 50].toarray() for i in range(0, X.shape[0], 50)),
        "in-memory AnnData layer": anndata.read_h5ad(path),
    }
    for name, inp in inputs.items():
        got = training_tiles(inp, b, dtype=dtype, n_jobs=2, layer=None if name in ("blocks", "generator") else "counts")
        assert got.values.tobytes() == want.values.tobytes(), name
        assert got.n_entries == want.n_entries, name
    backed.file.close()


def test_bands_cover_every_tile_once():
    b = _layout.gene_groups(1000)
    n_tiles = _layout.tile_sizes(b).shape[0] - 1
    for budget in (1, 10**4, 10**5, 10**9):
        bands = stream._bands(b, budget)
        assert bands[0][0] == 0 and bands[-1][1] == n_tiles
        assert all(x[1] == y[0] for x, y in zip(bands, bands[1:]))
    assert len(stream._bands(b, 10**9)) == 1 and len(stream._bands(b, 1)) == len(b) - 1


def test_dense_h5ad_matrix_is_streamed_too(tmp_path):
    X = cells(n_cells=90, empty_genes=0).toarray()
    anndata.AnnData(X=X).write_h5ad(tmp_path / "dense.h5ad")
    np.testing.assert_array_equal(dtm_to_tcm(tmp_path / "dense.h5ad", n_jobs=2), dtm_to_tcm(X, n_jobs=1))


def test_dtm_to_tcm_streamed_equals_exact_reference(atlas):
    path, X = atlas
    T = dtm_to_tcm(path, layer="counts", n_jobs=2)
    assert isinstance(T, np.ndarray)
    np.testing.assert_array_equal(T, np.asarray(tcm_ref(X.toarray()), dtype=np.float64))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.integers(1, 7), st.integers(0, 2**31 - 1), st.lists(st.integers(1, 4), min_size=1))
def test_any_chunking_any_groups_matches_reference(n_cells, n_genes, seed, steps):
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 6, size=(n_cells, n_genes)) * (rng.random((n_cells, n_genes)) < 0.6)
    cuts, r = [0], 0
    while r < n_cells:
        r = min(n_cells, r + steps[len(cuts) % len(steps)])
        cuts.append(r)
    blocks = [sp.csr_matrix(A[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    T, _ = stream.tcm_tiles(blocks, _layout.gene_groups(n_genes, group_size=1 + seed % 3), n_threads=2)
    np.testing.assert_array_equal(T.to_dense(), np.asarray(tcm_ref(A), dtype=np.float64))


def test_fit_streamed_equals_fit_in_memory(atlas):
    path, X = atlas
    params = dict(dim=6, solver="svd", max_iter=0, random_state=0)
    with pytest.warns(Warning, match="co-occur with no gene"):
        mem = GeneGloVe(**params).fit(anndata.read_h5ad(path), layer="counts")
    with pytest.warns(Warning, match="co-occur with no gene"):
        disk = GeneGloVe(**params).fit(path, layer="counts")
    backed = anndata.read_h5ad(path, backed="r")
    with pytest.warns(Warning, match="co-occur with no gene"):
        on_backed = GeneGloVe(**params).fit(backed, layer="counts")
    assert disk.embedding_.tobytes() == mem.embedding_.tobytes() == on_backed.embedding_.tobytes()
    assert list(disk.dropped_genes_) == ["g70", "g71"]
    assert disk.n_samples_fit_ == X.shape[0] and disk.n_features_in_ == X.shape[1]
    assert list(disk.feature_names_in_[:2]) == ["g0", "g1"]
    backed.file.close()


def test_a_streamed_fit_checks_each_chunk_once(atlas, monkeypatch):
    """Validation happens once, at the boundary: the tile pass reads chunks the checking pass has passed."""
    _, X = atlas
    blocks = [X[i:i + 50] for i in range(0, X.shape[0], 50)]   # a list: read twice (check, then tiles)
    real, checked = stream.check_chunk, []
    monkeypatch.setattr(stream, "check_chunk", lambda Xc, k, *a, **kw: (checked.append(k), real(Xc, k, *a, **kw)))
    with pytest.warns(Warning, match="co-occur with no gene"):
        GeneGloVe(dim=4, max_iter=0).fit(blocks)
    assert len(blocks) > 1 and checked == list(range(len(blocks)))   # the checking pass; the tile pass adds none


@pytest.mark.filterwarnings("ignore:GeneGloVe. 2 of 72 genes co-occur")
def test_fit_streamed_checkpoint_resume(atlas, tmp_path):
    path, _ = atlas
    params = dict(dim=4, solver="sgd", max_iter=3, random_state=0, n_jobs=1)
    full = GeneGloVe(**params).fit(path, layer="counts", checkpoint=tmp_path / "ck")
    again = GeneGloVe(**params).fit(path, layer="counts", checkpoint=tmp_path / "ck", resume=True)
    assert again.embedding_.tobytes() == full.embedding_.tobytes()


# ------------------------------------------------------------------------------------ bad input
def test_missing_layer_lists_the_layers(atlas):
    path, _ = atlas
    with pytest.raises(ValueError, match=r"has no layer 'raw'; its layers are: 'counts'\. Pass one of them"):
        GeneGloVe().fit(path, layer="raw")
    backed = anndata.read_h5ad(path, backed="r")
    with pytest.raises(ValueError, match=r"no layer 'raw'; its layers are: 'counts'"):
        training_tiles(backed, _layout.gene_groups(72), layer="raw")
    backed.file.close()


def test_float_data_where_counts_expected(atlas):
    path, _ = atlas
    with pytest.raises(CountsError, match=r"non-integer value\(s\) in chunk 0; the first is .* at chunk 0, "
                                          r"cell c\d+ \(row \d+\), gene g\d+\. .*layer='counts'"):
        GeneGloVe().fit(path)          # X holds counts * 0.5


def test_negative_value_reported_with_chunk_cell_and_gene(tmp_path):
    X = cells(n_cells=100, empty_genes=0)
    X = X.tolil()
    X[77, 5] = -3
    path = tmp_path / "neg.h5ad"
    write_h5ad(path, X.tocsr())
    src = stream.cell_chunks(path, layer="counts", chunk_nnz=40)
    with pytest.raises(CountsError, match=r"negative value\(s\) in chunk \d+; the first is -3 at chunk \d+, "
                                          r"cell c77 \(row 77\), gene g5"):
        dtm_to_tcm(src)


def test_bad_value_in_a_block_iterable(atlas):
    _, X = atlas
    blocks = [X[:100].toarray(), X[100:200].toarray() * 0.5]
    with pytest.raises(CountsError, match=r"in chunk 1; the first is .* at chunk 1, cell row 1\d\d, gene \d+"):
        GeneGloVe().fit(blocks)


def test_truncated_and_non_hdf5_files(atlas, tmp_path):
    path, _ = atlas
    data = path.read_bytes()
    cut = tmp_path / "cut.h5ad"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"cut\.h5ad cannot be opened as HDF5 .*truncated or not an \.h5ad"):
        GeneGloVe().fit(cut, layer="counts")
    text = tmp_path / "counts.h5ad"
    text.write_text("gene\tS1\nTP53\t4\n")
    with pytest.raises(FileFormatError, match=r"counts\.h5ad cannot be opened as HDF5"):
        dtm_to_tcm(text)
    with pytest.raises(FileNotFoundError, match="no such file"):
        dtm_to_tcm(tmp_path / "missing.h5ad")


def test_csc_file_refused_with_the_fix(tmp_path):
    X = cells(n_cells=30, empty_genes=0)
    a = anndata.AnnData(X=X.tocsc())
    a.write_h5ad(tmp_path / "csc.h5ad")
    with pytest.raises(FileFormatError, match=r"stored column by column \(CSC\).*tocsr\(\)"):
        dtm_to_tcm(tmp_path / "csc.h5ad")


def test_chunks_whose_gene_order_disagrees():
    X = cells(n_cells=40, n_genes=5, empty_genes=0, density=0.5)
    genes = ["A", "B", "C", "D", "E"]
    blocks = [anndata.AnnData(X=X[:20], var=pd.DataFrame(index=genes)),
              anndata.AnnData(X=X[20:], var=pd.DataFrame(index=["A", "C", "B", "D", "E"]))]
    with pytest.raises(CountsError, match=r"genes of chunk 1 .* disagree with chunk 0's at column 1 \('C' vs 'B'\)"):
        dtm_to_tcm(blocks)
    with pytest.raises(CountsError, match=r"chunk 1 of the chunk iterable has 4 gene columns, but chunk 0 has 5"):
        dtm_to_tcm([X[:20], X[20:, :4]])


def test_one_shot_iterator_is_fine_for_tiles_but_fit_says_what_to_pass():
    X = cells(n_cells=40, empty_genes=0)
    T = dtm_to_tcm(iter([X[:20], X[20:]]))
    np.testing.assert_array_equal(T, dtm_to_tcm(X.toarray()))
    with pytest.raises(ValueError, match="one-shot iterator. Pass a list of blocks"):
        GeneGloVe().fit(iter([X[:20], X[20:]]))


# ------------------------------------------------------------------------------------ Dask
def test_dask_array_same_bits_on_the_local_scheduler(atlas):
    import dask.array as da

    _, X = atlas
    b = _layout.gene_groups(X.shape[1])
    want = training_tiles(X, b, n_jobs=1)
    D = da.from_array(X.toarray(), chunks=(57, 20))            # column chunks are merged
    got = training_tiles(D, b, n_jobs=2)
    assert got.values.tobytes() == want.values.tobytes()
    blocks = da.from_array(X, chunks=(90, -1))                  # scipy.sparse blocks
    assert training_tiles(blocks, b).values.tobytes() == want.values.tobytes()


def test_fit_on_a_dask_array_equals_fit_in_memory(atlas):
    import dask.array as da

    path, X = atlas
    a = anndata.read_h5ad(path)
    params = dict(dim=5, solver="svd", max_iter=0, random_state=0)
    with pytest.warns(Warning, match="co-occur with no gene"):
        mem = GeneGloVe(**params).fit(a, layer="counts")
    a.layers["counts"] = da.from_array(X, chunks=(64, -1))
    with pytest.warns(Warning, match="co-occur with no gene"):
        lazy = GeneGloVe(**params).fit(a, layer="counts")
    assert lazy.embedding_.tobytes() == mem.embedding_.tobytes()
    assert list(lazy.genes_) == list(mem.genes_) and lazy.n_samples_fit_ == X.shape[0]


def test_dask_unknown_chunk_sizes_and_bad_values():
    import dask.array as da

    X = cells(n_cells=60, empty_genes=0).toarray()
    D = da.from_array(X, chunks=(20, -1))
    unknown = D[D[:, 0] >= 0]
    with pytest.raises(ValueError, match=r"unknown chunk sizes .* X = X\.compute_chunk_sizes\(\)"):
        dtm_to_tcm(unknown)
    bad = X.copy()
    bad[45, 3] = -1
    with pytest.raises(CountsError, match=r"the Dask array has 1 negative value\(s\) in chunk 2; the first is -1 at "
                                          r"chunk 2, cell row 45, gene 3"):
        dtm_to_tcm(da.from_array(bad, chunks=(20, -1)))


def _die_once(block, flag, where, block_info=None):
    """map_blocks step that kills its worker process the first time it sees block ``where``."""
    import os

    if block_info[0]["chunk-location"][0] == where and (flag == "always" or not os.path.exists(flag)):
        if flag != "always":
            open(flag, "w").close()
        os._exit(1)
    return block


@pytest.mark.slow
def test_dask_on_a_two_worker_local_cluster(tmp_path):
    """Same bits on a LocalCluster; a worker killed mid-reduction is replaced and the task rerun; a task that
    keeps killing workers stops the reduction with a clear error, never a partial TCM."""
    import dask
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    X = cells(n_cells=300)
    b = _layout.gene_groups(X.shape[1])
    want = training_tiles(X, b, n_jobs=1)
    D = da.from_array(X.toarray(), chunks=(50, -1))
    flag = str(tmp_path / "died")
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None) as cluster, Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        assert training_tiles(D, b).values.tobytes() == want.values.tobytes()
        dying = D.map_blocks(_die_once, flag, 3, dtype=D.dtype)
        assert training_tiles(dying, b).values.tobytes() == want.values.tobytes()
        assert (tmp_path / "died").exists()
        with pytest.raises(RuntimeError, match=r"Dask workers died while reducing the co-occurrence .* no partial "
                                               r"result is returned\. Give each worker memory"):
            training_tiles(D.map_blocks(_die_once, "always", 4, dtype=D.dtype), b)
