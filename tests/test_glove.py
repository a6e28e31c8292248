"""GloVe SGD kernel and driver: against the brute-force reference, across thread counts, on planted modules."""

import numpy as np
import pytest
from _reference import planted_modules, tcm_ref
from _reference_glove import glove_epoch_ref, glove_epoch_vectorised, glove_loss_ref

from genevec import _glove, _layout, glove
from genevec.exceptions import TrainingDivergedError, TrainingInterrupted

FIELDS = ["W", "C", "bw", "bc", "gW", "gC", "gbw", "gbc"]


def small_tcm(n=30, seed=1):
    """Symmetric TCM with zeros (-inf in the tiles) and a corner below x_max (f < 1)."""
    rng = np.random.default_rng(seed)
    X = rng.poisson(3.0, size=(40, n)).astype(float)
    T = X.T @ X
    T[rng.random((n, n)) < 0.15] = 0
    T = np.triu(T) + np.triu(T, 1).T
    T[: n // 5, : n // 5] *= 0.01
    assert (T == 0).any() and ((T > 0) & (T < 100)).any() and (T > 100).any()
    return T


@pytest.fixture(params=["auto", "generic"])
def isa(request):
    used = _glove.set_isa(request.param)
    yield used
    _glove.set_isa("auto")


@pytest.mark.parametrize("rows,cols", [(1, 1), (1, 2), (3, 1), (17, 5), (128, 128), (100, 37), (79, 80),
                                       (8, 8), (121, 128)])
def test_block_order_matches_layout(rows, cols):
    rng = np.random.default_rng(rows * 1000 + cols)
    for _ in range(3):
        keys = rng.integers(0, 2**32, size=4, dtype=np.uint32)
        got = _glove.block_order(rows, cols, keys)
        np.testing.assert_array_equal(got, _layout.block_order(rows, cols, keys))
        assert np.array_equal(np.sort(got), np.arange(rows * cols))


def test_block_order_is_local_and_pairs_disjoint():
    """Slots come 64 at a time from one 8 x 8 sub-block, and consecutive slots of a sub-block never share
    a row or a column (so the float32 path can run them in pairs)."""
    keys = np.array([11, 22, 33, 44], np.uint32)
    order = _layout.block_order(64, 48, keys)
    r, c = np.divmod(order, 48)
    sub = (r // 8) * 6 + c // 8
    assert all(len(set(sub[i:i + 64])) == 1 for i in range(0, order.size, 64))
    assert len(set(sub[::64])) == 8 * 6                      # every sub-block once
    same = (r[1:] == r[:-1]) | (c[1:] == c[:-1])
    inner = np.arange(1, order.size) % 64 != 0               # pairs inside one sub-block
    assert not same[inner].any()
    # the sub-block order is a keyed permutation, not the storage order
    assert not np.array_equal(sub[::64], np.sort(sub[::64]))


def test_block_order_depends_on_keys():
    a = _glove.block_order(50, 10, np.array([1, 2, 3, 4], np.uint32))
    b = _glove.block_order(50, 10, np.array([1, 2, 3, 5], np.uint32))
    c = _glove.block_order(50, 10, np.array([9, 2, 3, 4], np.uint32))
    assert not np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(ValueError, match=r"block_order needs 4 uint32 keys, got 3"):
        _glove.block_order(10, 1, np.array([1, 2, 3], np.uint32))
    with pytest.raises(ValueError, match=r"block_order needs 4 uint32 keys, got 3"):
        _layout.block_order(10, 1, [1, 2, 3])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_parameters_are_cache_line_aligned(dtype):
    p = glove.init_params(1001, 37, dtype, np.random.default_rng(0))
    for f in FIELDS:
        a = getattr(p, f)
        assert a.ctypes.data % glove.ALIGNMENT == 0, f
        assert a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
    q = p.copy()
    for f in FIELDS:
        assert getattr(q, f).ctypes.data % glove.ALIGNMENT == 0
        np.testing.assert_array_equal(getattr(q, f), getattr(p, f))
        assert not np.shares_memory(getattr(q, f), getattr(p, f))
    # the same values as the plain allocation it replaced
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(p.W, rng.uniform(-0.5, 0.5, size=(1001, 37)).astype(dtype))
    np.testing.assert_array_equal(p.bw, rng.uniform(-0.5, 0.5, size=1001).astype(dtype))


def test_aligned_copy_casts_and_keeps_shape():
    a = np.arange(12.0).reshape(3, 4)[:, ::2]                # not contiguous
    b = glove.aligned_copy(a, np.float32)
    assert b.dtype == np.float32 and b.shape == (3, 2) and b.flags.c_contiguous
    assert b.ctypes.data % 64 == 0 and b.tolist() == a.tolist()
    assert glove.aligned_copy(np.empty((0, 5))).shape == (0, 5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("dim", [5, 12, 37])
def test_epoch_matches_reference(dtype, dim, isa):
    T = small_tcm()
    n = T.shape[0]
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(n, 8), dtype=dtype)
    assert tiles.n_groups == 4
    p = glove.init_params(n, dim, dtype, np.random.default_rng(0))
    q = p.copy()
    r_kernel, r_ref = np.random.default_rng(5), np.random.default_rng(5)
    epochs = 2 if dtype == np.float64 else 1
    for _ in range(epochs):
        loss = glove.run_epoch(tiles, p, rng=r_kernel, n_threads=2)
        strata, keys = glove.draw_epoch_plan(r_ref, tiles.n_groups)
        loss_ref = glove_epoch_ref(tiles, q, strata, keys)
    rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (1e-5, 1e-6)
    assert loss == pytest.approx(loss_ref, rel=rtol)
    for f in FIELDS:
        np.testing.assert_allclose(getattr(p, f), getattr(q, f), rtol=rtol, atol=atol, err_msg=f)
    assert not np.array_equal(p.W, glove.init_params(n, dim, dtype, np.random.default_rng(0)).W)


def test_large_blocks_match_reference():
    """Blocks of 65 x 65 genes: 9 x 9 sub-blocks (a filtered 2^8 Feistel domain), cut ones at the edges."""
    T = small_tcm(130, seed=5)
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(130, 65), dtype=np.float32)
    assert tiles.n_groups == 2
    p = glove.init_params(130, 19, np.float32, np.random.default_rng(0))
    q = p.copy()
    strata, keys = glove.draw_epoch_plan(np.random.default_rng(9), tiles.n_groups)
    loss, count = np.zeros((1, 2)), np.zeros((1, 2), dtype=np.int64)
    _glove.sgd_strata(tiles.values, tiles.tile_ptr, tiles.group_bounds, strata[:1].astype(np.int64), keys[:1],
                      p.W, p.C, p.bw, p.bc, p.gW, p.gC, p.gbw, p.gbc, np.log(100.0), 0.75, 0.05, 100.0,
                      loss, count, 2)
    half_sum, n_ref = glove_epoch_vectorised(tiles, q, strata, keys, n_strata=1)
    assert count.sum() == n_ref > 4000
    assert 0.5 * loss.sum() == pytest.approx(half_sum, rel=1e-5)
    for f in FIELDS:
        np.testing.assert_allclose(getattr(p, f), getattr(q, f), rtol=1e-4, atol=1e-5, err_msg=f)


def test_vectorised_reference_matches_loop():
    T = small_tcm(24, seed=3)
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(24, 8), dtype=np.float64)
    p = glove.init_params(24, 6, np.float64, np.random.default_rng(1))
    q = p.copy()
    strata, keys = glove.draw_epoch_plan(np.random.default_rng(2), tiles.n_groups)
    loss = glove_epoch_ref(tiles, p, strata, keys)
    half_sum, count = glove_epoch_vectorised(tiles, q, strata, keys)
    assert count == tiles.n_entries
    assert half_sum / count == pytest.approx(loss, rel=1e-12)
    for f in FIELDS:
        np.testing.assert_allclose(getattr(q, f), getattr(p, f), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bit_identical_for_any_thread_count(dtype):
    T = small_tcm(100, seed=4)
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(100, 16), dtype=dtype)
    assert tiles.n_groups >= 6
    results = []
    for n_threads in (1, 2, 3, 4):
        rng = np.random.default_rng(7)
        p = glove.init_params(100, 37, dtype, rng)
        curve = glove.fit_glove(tiles, p, max_iter=2, rng=rng, n_threads=n_threads)
        results.append((p, curve))
    p0, c0 = results[0]
    for p, c in results[1:]:
        assert c == c0
        for f in FIELDS:
            assert np.array_equal(getattr(p, f), getattr(p0, f)), f


def _run_strata(tiles, p, strata, keys, per_call, n_threads):
    B = tiles.n_groups
    losses = np.zeros((B, B))
    counts = np.zeros((B, B), dtype=np.int64)
    for k0 in range(0, B, per_call):
        k1 = min(B, k0 + per_call)
        _glove.sgd_strata(tiles.values, tiles.tile_ptr, tiles.group_bounds, strata[k0:k1], keys[k0:k1],
                          p.W, p.C, p.bw, p.bc, p.gW, p.gC, p.gbw, p.gbc, np.log(100.0), 0.75, 0.05, 100.0,
                          losses[k0:k1], counts[k0:k1], n_threads)
    return losses, counts


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_strata_without_barriers_equal_one_stratum_at_a_time(dtype):
    """Blocks of the next strata start before a stratum ends: same bits as a barrier after each stratum."""
    T = small_tcm(120, seed=3)
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(120, 10), dtype=dtype)
    B = tiles.n_groups
    assert B == 12
    strata, keys = glove.draw_epoch_plan(np.random.default_rng(4), B)
    strata = strata.astype(np.int64)
    p0 = glove.init_params(120, 19, dtype, np.random.default_rng(2))
    start = p0.copy()
    loss0, count0 = _run_strata(tiles, p0, strata, keys, per_call=1, n_threads=1)
    assert count0.sum() == tiles.n_entries
    for per_call in (B, 5):
        for n_threads in (1, 2, 3, 4):
            p = start.copy()
            loss, count = _run_strata(tiles, p, strata, keys, per_call, n_threads)
            assert np.array_equal(loss, loss0) and np.array_equal(count, count0), (per_call, n_threads)
            for f in FIELDS:
                assert np.array_equal(getattr(p, f), getattr(p0, f)), (f, per_call, n_threads)


def test_sgd_strata_refuses_mismatched_shapes():
    T = small_tcm()
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(30, 8), dtype=np.float64)
    p = glove.init_params(30, 5, np.float64, np.random.default_rng(0))
    strata, keys = glove.draw_epoch_plan(np.random.default_rng(1), 4)
    strata = strata.astype(np.int64)
    out = np.zeros((2, 4)), np.zeros((2, 4), dtype=np.int64)
    args = (p.W, p.C, p.bw, p.bc, p.gW, p.gC, p.gbw, p.gbc, np.log(100.0), 0.75, 0.05, 100.0)
    with pytest.raises(ValueError, match=r"keys must have shape \(2, 4, 4\), got \(3, 4, 4\)"):
        _glove.sgd_strata(tiles.values, tiles.tile_ptr, tiles.group_bounds, strata[:2], keys[:3], *args, *out, 1)
    with pytest.raises(ValueError, match=r"block_loss and block_count must have shape \(3, 4\)"):
        _glove.sgd_strata(tiles.values, tiles.tile_ptr, tiles.group_bounds, strata[:3], keys[:3], *args, *out, 1)
    bad = strata[:2].copy()
    bad[1] = 4
    with pytest.raises(ValueError, match=r"shifts must lie in \[0, 4\), got 4"):
        _glove.sgd_strata(tiles.values, tiles.tile_ptr, tiles.group_bounds, bad, keys[:2], *args, *out, 1)


def test_strata_per_call_targets_about_a_second_of_work():
    small = _layout.tiles_from_dense_tcm(small_tcm(), _layout.gene_groups(30, 8), dtype=np.float32)
    assert glove.strata_per_call(small) == small.n_groups  # tiny data: the whole epoch in one call
    big = _layout.TrainingTiles(np.array([0, 128, 256], np.int64), np.zeros(4, np.int64), np.zeros(0, np.float32),
                                n_entries=2 * glove.ENTRIES_PER_CALL)
    assert glove.strata_per_call(big) == 1


def test_every_entry_visited_once_per_epoch():
    T = small_tcm()
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(30, 8), dtype=np.float64)
    p = glove.init_params(30, 4, np.float64, np.random.default_rng(0))
    # learning_rate tiny: the epoch loss is then the loss at the start, which counts every entry once
    start = glove.glove_loss(tiles, p)
    loss = glove.run_epoch(tiles, p, learning_rate=1e-12, rng=np.random.default_rng(0))
    assert loss == pytest.approx(start, rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_glove_loss_matches_dense_reference(dtype):
    T = small_tcm()
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(30, 8), dtype=dtype)
    p = glove.init_params(30, 9, dtype, np.random.default_rng(3))
    rel = 1e-12 if dtype == np.float64 else 1e-5
    assert glove.glove_loss(tiles, p, n_threads=2) == pytest.approx(glove_loss_ref(T, p), rel=rel)
    shifted = glove.glove_loss(tiles, p, log_shift=0.7)
    assert shifted == pytest.approx(glove_loss_ref(T * np.exp(0.7), p), rel=rel)
    assert shifted != pytest.approx(glove.glove_loss(tiles, p), rel=1e-3)


def test_loss_falls_and_planted_modules_are_recovered():
    counts = planted_modules(n_samples=60, genes_per_module=12, seed=0)
    T = np.asarray(tcm_ref(counts.to_numpy()), dtype=np.float64)
    n = T.shape[0]
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(n, 8), dtype=np.float32)
    rng = np.random.default_rng(0)
    p = glove.init_params(n, 8, np.float32, rng)
    # log T is 11..16 here: the biases travel ~7 units under AdaGrad at lr 0.05, so 100 epochs (30 give ~0.77)
    curve = glove.fit_glove(tiles, p, max_iter=100, rng=rng, n_threads=2)
    assert curve[-1] < 0.01 * curve[0]
    assert all(b <= a * 1.05 for a, b in zip(curve, curve[1:]))
    E = (p.W + p.C).astype(np.float64)
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    S = E @ E.T
    np.fill_diagonal(S, -np.inf)
    module = np.array([c.split("_")[0] for c in counts.columns])
    top5 = np.argsort(-S, axis=1)[:, :5]
    own = (module[top5] == module[:, None]).mean(axis=1)
    assert own.min() >= 0.9, own


def test_non_finite_loss_raises_and_restores():
    T = small_tcm()
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(30, 8), dtype=np.float32)
    rng = np.random.default_rng(0)
    p = glove.init_params(30, 5, np.float32, rng)
    start = p.copy()
    with pytest.raises(TrainingDivergedError, match=r"loss became nan in epoch 1 \(learning_rate=1e\+30\).*"
                       r"restored\. Try a smaller learning rate, e\.g\. learning_rate=1e\+29"):
        glove.fit_glove(tiles, p, learning_rate=1e30, max_iter=3, rng=rng)
    for f in FIELDS:
        assert np.array_equal(getattr(p, f), getattr(start, f)), f
    assert issubclass(TrainingDivergedError, FloatingPointError)


def test_ctrl_c_raises_training_interrupted_holding_the_partial_model():
    T = small_tcm()
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(30, 8), dtype=np.float64)
    rng = np.random.default_rng(0)
    p = glove.init_params(30, 5, np.float64, rng)

    def cb(epoch, loss, params):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted) as info:
        glove.fit_glove(tiles, p, max_iter=10, rng=rng, callback=cb)
    assert info.value.params is p and len(info.value.curve) == 2
    assert isinstance(info.value, KeyboardInterrupt)


def test_callback_stops_and_sees_each_epoch():
    T = small_tcm()
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(30, 8), dtype=np.float64)
    rng = np.random.default_rng(0)
    p = glove.init_params(30, 5, np.float64, rng)
    seen = []

    def cb(epoch, loss, params):
        seen.append((epoch, loss, params is p))
        return epoch == 3

    curve = glove.fit_glove(tiles, p, max_iter=10, rng=rng, callback=cb)
    assert len(curve) == 3
    assert [e for e, _, _ in seen] == [1, 2, 3] and all(same for _, _, same in seen)
    assert [l for _, l, _ in seen] == curve


def test_tol_stops_early_and_zero_runs_all():
    T = small_tcm()
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(30, 8), dtype=np.float64)
    rng = np.random.default_rng(0)
    curve = glove.fit_glove(tiles, glove.init_params(30, 5, np.float64, rng), max_iter=200, tol=0.01, rng=rng)
    assert 1 < len(curve) < 200
    assert curve[-2] / curve[-1] - 1 < 0.01
    assert all(a / b - 1 >= 0.01 for a, b in zip(curve[:-2], curve[1:-1]))
    rng = np.random.default_rng(0)
    assert len(glove.fit_glove(tiles, glove.init_params(30, 5, np.float64, rng), max_iter=4, rng=rng)) == 4


def test_verbose_prints_epochs_to_stderr(capsys):
    T = small_tcm()
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(30, 8), dtype=np.float64)
    rng = np.random.default_rng(0)
    glove.fit_glove(tiles, glove.init_params(30, 5, np.float64, rng), max_iter=2, rng=rng, verbose=1)
    out, err = capsys.readouterr()
    assert out == ""
    assert "epoch 1/2  loss " in err and "epoch 2/2  loss " in err and err.strip().endswith(" s")


def test_init_params_follows_text2vec():
    p = glove.init_params(50, 20, np.float32, np.random.default_rng(0))
    assert p.W.dtype == np.float32 and p.W.flags.c_contiguous
    for a in (p.W, p.C, p.bw, p.bc):
        assert a.min() >= -0.5 and a.max() <= 0.5 and a.std() > 0.25
    for a in (p.gW, p.gC, p.gbw, p.gbc):
        assert (a == 1).all()
    assert not np.array_equal(p.W, p.C)


def test_input_errors_are_explained():
    T = small_tcm()
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(30, 8), dtype=np.float32)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"the tiles hold float32 but the parameters are float64.*dtype=np\.float64"):
        glove.run_epoch(tiles, glove.init_params(30, 5, np.float64, rng), rng=rng)
    with pytest.raises(ValueError, match=r"the tiles cover 30 genes but the parameters have 29 rows"):
        glove.run_epoch(tiles, glove.init_params(29, 5, np.float32, rng), rng=rng)
    with pytest.raises(ValueError, match=r"run_epoch: learning_rate must be a positive finite number, got -1"):
        glove.run_epoch(tiles, glove.init_params(30, 5, np.float32, rng), learning_rate=-1, rng=rng)
    with pytest.raises(ValueError, match=r"run_epoch: n_threads must be an int >= 1, got 0\. .*effective_n_jobs"):
        glove.run_epoch(tiles, glove.init_params(30, 5, np.float32, rng), rng=rng, n_threads=0)
    with pytest.raises(ValueError, match=r"glove_loss: n_threads must be an int >= 1, got 1\.5"):
        glove.glove_loss(tiles, glove.init_params(30, 5, np.float32, rng), n_threads=1.5)
    with pytest.raises(ValueError, match=r"init_params: dtype must be float32 or float64, got int64"):
        glove.init_params(3, 2, np.int64, rng)
    p = glove.init_params(30, 5, np.float32, rng)
    p.W = np.asfortranarray(p.W)
    with pytest.raises(ValueError, match=r"params\.W must be a writeable C-contiguous float32 array"):
        glove.run_epoch(tiles, p, rng=rng)
    with pytest.raises(ValueError, match=r"fit_glove: tol must be >= 0"):
        glove.fit_glove(tiles, glove.init_params(30, 5, np.float32, rng), tol=-1.0, rng=rng)
    for max_iter in (-1, 2.5, True):                  # not silently rounded to 2 epochs, or 1
        with pytest.raises(ValueError, match=rf"fit_glove: max_iter must be an int >= 0, got {max_iter!r}\."):
            glove.fit_glove(tiles, glove.init_params(30, 5, np.float32, rng), max_iter=max_iter, rng=rng)
    with pytest.raises(ValueError, match=r"set_isa: name must be 'generic' or 'auto'"):
        _glove.set_isa("avx9")


def test_read_only_tiles_work():
    T = small_tcm()
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(30, 8), dtype=np.float64)
    tiles.values.setflags(write=False)
    rng = np.random.default_rng(0)
    p = glove.init_params(30, 5, np.float64, rng)
    assert np.isfinite(glove.run_epoch(tiles, p, rng=rng))
    assert np.isfinite(glove.glove_loss(tiles, p))
