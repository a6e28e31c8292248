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


def kept_svgs(cache):
    """(which map, key) of every SVG the cache holds."""
    return {(e.frame.attrs["of"], k) for store in (cache._memory_maps, cache._file_maps) for e in store.values()
            for k in e.svgs}


def test_svgs_are_bounded_across_maps_least_recently_used_first():
    """One bound for the process, not one per map: a tissue collection serves tens of maps, and one SVG of
    25k genes is ~2.6 MB."""
    cache = AppCache()
    vectors = [GeneVectors(np.eye(2), ["A", "B"]) for _ in range(3)]
    models = [d.Model(f"m{i}", "", gv) for i, gv in enumerate(vectors)]
    for i, (model, gv) in enumerate(zip(models, vectors)):
        m = table(gv)
        m.attrs["of"] = i                                       # whose map (for kept_svgs)
        cache.gene_map(model, lambda m=m: m)
    per_map = MAX_SVGS // 2 + 1                                  # 3 maps x 33 > 64
    asked = [(i, k) for i in range(3) for k in range(per_map)]
    for n, (i, k) in enumerate(asked):
        cache.svg(models[i], k, lambda i=i, k=k: f"<svg id='{i}-{k}'/>")
        if n == MAX_SVGS - 1:                                    # the first one used again just before the bound
            assert cache.svg(models[0], 0, lambda: "redrawn") == "<svg id='0-0'/>"
    survivors = {(0, 0)} | set(asked[len(asked) - (MAX_SVGS - 1):])
    assert kept_svgs(cache) == survivors and len(survivors) == MAX_SVGS
    assert cache.svg(models[0], 1, lambda: "redrawn") == "redrawn"               # dropped: drawn again when asked
    assert cache.svg(models[2], per_map - 1, lambda: "redrawn") == f"<svg id='2-{per_map - 1}'/>"
    # a map that goes takes its SVGs along, and its slots go to the maps still served
    gone = sum(1 for i, _ in kept_svgs(cache) if i == 1)
    del models[1], vectors[1]
    gc.collect()
    assert gone > 0 and all(i != 1 for i, _ in kept_svgs(cache))
    for k in range(gone):
        cache.svg(models[0], ("new", k), lambda k=k: f"<svg id='new-{k}'/>")
    assert len(kept_svgs(cache)) == len(cache._svg_order) == MAX_SVGS
