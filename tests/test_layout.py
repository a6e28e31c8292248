"""Gene groups and tiles of the training layout (genevec._layout)."""

import numpy as np
import pytest

from genevec import _layout


@pytest.mark.parametrize("n", [1, 10, 15, 16, 17, 20, 33, 100, 1000, 3000, 5000, 8191, 25321, 100_000])
def test_automatic_groups_end_on_cache_lines(n):
    b = _layout.gene_groups(n)
    sizes = np.diff(b)
    assert b[0] == 0 and b[-1] == n and (sizes > 0).all()
    assert (b[1:-1] % _layout.GROUP_ALIGN == 0).all()      # no two groups share a 64-byte line
    target = -(-min(128, max(16, -(-n // 64))) // 16) * 16
    assert len(sizes) == max(1, -(-n // target))            # the number of groups is the data's, only
    assert len(sizes) < 2 or np.ptp(sizes[:-1]) <= 16
    assert sizes.max() <= 128 + 15


def test_pancreas_and_demo_shapes():
    b = _layout.gene_groups(25321)
    assert len(b) - 1 == 198 and np.diff(b).max() == 128
    assert _layout.gene_groups(3000)[:4].tolist() == [0, 48, 96, 144]
    assert _layout.gene_groups(20).tolist() == [0, 16, 20]


def test_explicit_group_size_spreads_evenly():
    assert _layout.gene_groups(10, group_size=4).tolist() == [0, 3, 7, 10]
    assert np.ptp(np.diff(_layout.gene_groups(130, 10))) <= 1
    with pytest.raises(ValueError, match="need at least one gene, got 0"):
        _layout.gene_groups(0)


def test_tiles_cover_every_pair_once_per_direction():
    rng = np.random.default_rng(0)
    T = rng.integers(0, 5, size=(37, 37)).astype(float)
    T = T + T.T
    tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(37), dtype=np.float64)
    dense = tiles.to_dense()
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(dense, np.where(T > 0, np.log(T), -np.inf))
    assert tiles.n_entries == int((T > 0).sum())
