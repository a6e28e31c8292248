"""The app's one cache (genevec.app._cache): what it keeps, and for how long."""

import gc
import os

import numpy as np
import pandas as pd

from genevec import GeneVectors
from genevec.app import _data as d
from genevec.app._cache import MAX_SVGS, AppCache


def table(gv, cluster=1):
    return pd.DataFrame({"gene": gv.genes, "x": 0.0, "y": 0.0, "cluster": cluster})


def test_in_memory_vectors_entries_go_with_the_vectors():
    cache = AppCache()
    gv = GeneVectors(np.eye(3), ["A", "B", "C"])
    model = d.Model("t", "", gv, kind="tissue")
    calls = []
    m = cache.gene_map(model, lambda: calls.append(1) or table(gv))
    assert cache.gene_map(model, lambda: calls.append(1) or table(gv)) is m and calls == [1]
    assert cache.index(gv, lambda v: ["index"]) is cache.index(gv, lambda v: ["other"])
    assert cache.svg(model, "cluster", lambda: "<svg/>") == "<svg/>" == cache.svg(model, "cluster", lambda: "x")
    assert len(cache._memory_maps) == 1 and len(cache._indexes) == 1
    del model, gv, m
    gc.collect()
    assert len(cache._memory_maps) == 0 and len(cache._indexes) == 0 and len(cache._memory_locks) == 0


def test_a_file_entry_is_replaced_by_the_reloaded_vectors_and_clear_empties(tmp_path):
    """A file's map is its loaded vectors': the file changing alone keeps it; vectors read again replace it."""
    cache = AppCache()
    path = str(tmp_path / "v.txt")
    GeneVectors(np.eye(2), ["A", "B"]).save(path)
    loads = []
    gv, stamp1 = cache.stamped_vectors(path, lambda p: loads.append(p) or GeneVectors(np.eye(2), ["A", "B"]))
    assert cache.vectors(path, lambda p: loads.append(p)) is gv and len(loads) == 1
    model = d.Model("v.txt", path, gv, stamp=stamp1)
    first = cache.gene_map(model, lambda: table(gv))
    assert cache.has_map(model)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))                # the file changed
    assert cache.has_map(model) and cache.gene_map(model, lambda: table(gv, cluster=9)) is first   # gv's map
    gv2, stamp2 = cache.stamped_vectors(path, lambda p: loads.append(p) or GeneVectors(np.eye(2), ["A", "B"]))
    assert len(loads) == 2 and gv2 is not gv and stamp2 == (st.st_mtime_ns + 10**9, st.st_size)
    reloaded = d.Model("v.txt", path, gv2, stamp=stamp2)
    assert not cache.has_map(reloaded)
    second = cache.gene_map(reloaded, lambda: table(gv2, cluster=2))
    assert second is not first and len(cache._file_maps) == 1                  # replaced, not added
    assert not cache.has_map(model)
    cache.clear()
    assert not cache.has_map(reloaded) and cache._vectors == {}


def test_svgs_are_bounded_per_map():
    cache = AppCache()
    gv = GeneVectors(np.eye(2), ["A", "B"])
    model = d.Model("t", "", gv)
    cache.gene_map(model, lambda: table(gv))
    for k in range(MAX_SVGS + 5):
        cache.svg(model, k, lambda k=k: f"<svg id='{k}'/>")
    entry = cache._memory_maps[gv]
    assert 0 < len(entry.svgs) <= MAX_SVGS
    assert cache.svg(model, MAX_SVGS + 4, lambda: "redrawn") == f"<svg id='{MAX_SVGS + 4}'/>"
