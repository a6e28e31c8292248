"""Atlas scale: the co-occurrence of a backed .h5ad in bounded memory, in-process and on Dask, vs scipy.sparse.

    python benchmarks/bench_scale.py                       # 200,000 cells x 20,000 genes, ~1,500 genes per cell
    python benchmarks/bench_scale.py --cells 20000 --quick # a smaller atlas, a few minutes

The atlas is generated once under benchmarks/_data/ (git-ignored; ``_generate.write_atlas_h5ad``:
counts in ``layers["counts"]``, CSR). Each contender runs in a fresh subprocess, so its peak RSS is
its own; each is run once (a run takes minutes, so there is no warm-up or minimum over repeats).

1. genevec in-process, 2 threads: ``stream.tcm_tiles(path, layer="counts")``: T in packed float64
   tiles, one pass (timed against scipy); then, in another process, ``training_tiles(path, ...,
   layer="counts")``: the float32 training tiles, built in 256 MiB bands (one pass per band), its
   peak RSS against the size of the tiles.
2. genevec on a ``dask.distributed.LocalCluster`` of 2 single-threaded workers (loopback): the same
   tiles from ``anndata.experimental.read_elem_lazy`` blocks of 25,000 cells; peak RSS of each worker
   and of the client. Its tiles must hash to the in-process ones.
3. scipy.sparse: the whole layer read into memory, then ``X.T @ X`` (single-threaded SMMP) timed,
   the diagonal rule applied to the rows checked.
4. ``GeneGloVe(solver="svd", max_iter=0, random_state=0).fit(path, layer="counts")``: end to end, peak RSS;
   and the same on ``anndata.read_h5ad(path, backed="r")`` (anndata reads layers into memory when
   it opens a file backed, so this row includes the layer itself).

Before any ratio is written, 64 fixed rows of genevec's T must equal scipy's exactly.
Rows go to benchmarks/results/scale.json (scale_quick.json with --quick).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import Bench, peak_rss  # noqa: E402

DATA = HERE / "_data"
CHECK_ROWS = 64

COMMON = """
import json, sys, time, hashlib
import numpy as np
sys.path.insert(0, {here!r})
PATH = {path!r}
ROWS = np.linspace(0, {genes} - 1, {rows}).astype(np.int64)
def rows_of(T):
    # dense rows ROWS of the packed symmetric T
    b = T.group_bounds
    g_of = np.searchsorted(b, np.arange(b[-1]), side='right') - 1
    out = np.empty((len(ROWS), b[-1]))
    for k, i in enumerate(ROWS):
        g = g_of[i]
        for h in range(T.n_groups):
            out[k, b[h]:b[h + 1]] = T.tile(g, h)[i - b[g]]
    return out
"""

GENEVEC_T = COMMON + """
from genevec import stream
t0 = time.perf_counter()
T, genes = stream.tcm_tiles(PATH, layer="counts", n_threads={threads})
t_tcm = time.perf_counter() - t0
np.save({rows_file!r}, rows_of(T))
print("RESULT", json.dumps(dict(tcm_s=t_tcm, T_bytes=int(T.values.nbytes))))
"""

GENEVEC_TILES = COMMON + """
from genevec import _layout
from genevec.tcm import training_tiles
t0 = time.perf_counter()
L = training_tiles(PATH, _layout.gene_groups({genes}), layer="counts", n_jobs={threads})
print("RESULT", json.dumps(dict(tiles_s=time.perf_counter() - t0, tiles_bytes=int(L.values.nbytes),
                                n_entries=L.n_entries, sha=hashlib.sha256(L.values.tobytes()).hexdigest()[:16])))
"""

DASK = COMMON + """
import h5py
import dask
from anndata.experimental import read_elem_lazy
from dask.distributed import Client, LocalCluster
from genevec import stream, _layout
from _harness import self_peak_rss
if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                      memory_limit=0) as cluster, Client(cluster) as client:
        f = h5py.File(PATH, "r")
        X = read_elem_lazy(f["layers/counts"], chunks=({block}, -1))
        t0 = time.perf_counter()
        part = stream.dask_partial_tiles(X, _layout.gene_groups(X.shape[1]), genes=np.arange(X.shape[1]).astype(str),
                                         allow_non_integer=False, caller="bench")
        T = part.finish()
        t_tcm = time.perf_counter() - t0
        L = stream.log_tiles(T, np.float32, 1)
        t_all = time.perf_counter() - t0
        workers = client.run(self_peak_rss)
    print("RESULT", json.dumps(dict(tcm_s=t_tcm, tiles_s=t_all, worker_peak_rss=sorted(workers.values()),
                                    sha=hashlib.sha256(L.values.tobytes()).hexdigest()[:16])))
"""

SCIPY = COMMON + """
import anndata, scipy.sparse as sp
from anndata.io import read_elem
import h5py
with h5py.File(PATH, "r") as f:
    X = read_elem(f["layers/counts"]).astype(np.float64)
t0 = time.perf_counter()
P = X.T @ X
t = time.perf_counter() - t0
R = P[ROWS].toarray()
R[np.arange(len(ROWS)), ROWS] = (R[np.arange(len(ROWS)), ROWS] - np.asarray(X.sum(axis=0)).ravel()[ROWS]) * 0.5
same = bool(np.array_equal(R, np.load({rows_file!r})))
print("RESULT", json.dumps(dict(tcm_s=t, nnz=int(X.nnz), product_nnz=int(P.nnz), rows_equal=same)))
"""

FIT = COMMON + """
import anndata
from genevec import GeneGloVe
t0 = time.perf_counter()
X = {fit_input}
m = GeneGloVe(solver="svd", max_iter=0, random_state=0, n_jobs={threads}).fit(X, layer="counts")
print("RESULT", json.dumps(dict(fit_s=time.perf_counter() - t0, n_genes=len(m.genes_), loss=m.loss_,
                                sha=hashlib.sha256(m.embedding_.tobytes()).hexdigest()[:16])))
"""


def run(code: str, **fmt) -> tuple[dict, int]:
    rss, out = peak_rss(code.format(**fmt), timeout=4 * 3600)
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    return json.loads(line.split(" ", 1)[1]), rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=200_000)
    ap.add_argument("--genes", type=int, default=20_000)
    ap.add_argument("--per-cell", type=int, default=1_500)
    ap.add_argument("--block", type=int, default=25_000, help="cells per Dask block")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="write results/scale_quick.json")
    ap.add_argument("--skip", default="", help="comma-separated steps to skip: t,tiles,dask,scipy,fit,fit_backed")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    DATA.mkdir(exist_ok=True)
    path = DATA / f"atlas_{args.cells}x{args.genes}_{args.per_cell}.h5ad"
    if not path.exists():
        from _generate import write_atlas_h5ad

        t0 = time.perf_counter()
        tmp = path.with_suffix(".tmp")
        nnz = write_atlas_h5ad(tmp, args.cells, args.genes, args.per_cell)
        tmp.rename(path)
        print(f"generated {path.name}: {nnz:,} nonzeros in {time.perf_counter() - t0:.0f} s", flush=True)
    shape = (args.cells, args.genes)
    rows_file = str(DATA / f"rows_{args.cells}x{args.genes}.npy")
    fmt = dict(here=str(HERE), path=str(path), genes=args.genes, rows=CHECK_ROWS, rows_file=rows_file,
               threads=args.threads, block=args.block)
    bench = Bench("scale", quick=args.quick)

    if "t" not in skip:
        ours, ours_rss = run(GENEVEC_T, **fmt)
        bench.record("T_float64_from_backed_h5ad", shape, threads=args.threads, peak_rss_bytes=ours_rss, **ours)
    if "tiles" not in skip:
        tiles, tiles_rss = run(GENEVEC_TILES, **fmt)
        bench.record("training_tiles_float32_from_h5ad", shape, threads=args.threads, peak_rss_bytes=tiles_rss,
                     peak_over_tiles_bytes=tiles_rss - tiles["tiles_bytes"], **tiles)
    if "dask" not in skip and "tiles" not in skip:
        dsk, dsk_rss = run(DASK, **fmt)
        bench.record("tiles_dask_localcluster_2x1", shape, threads=1, client_peak_rss_bytes=dsk_rss,
                     same_tiles=dsk["sha"] == tiles["sha"], **dsk)
        assert dsk["sha"] == tiles["sha"], "Dask tiles differ from the in-process tiles"
    if "scipy" not in skip and "t" not in skip:
        peer, peer_rss = run(SCIPY, **fmt)
        assert peer["rows_equal"], "genevec's T differs from scipy's X.T @ X on the checked rows"
        bench.record("tcm_vs_scipy_XtX", shape, threads=args.threads, genevec_s=ours["tcm_s"],
                     peer_s=peer["tcm_s"], ratio=peer["tcm_s"] / ours["tcm_s"], genevec_peak_rss_bytes=ours_rss,
                     peer_peak_rss_bytes=peer_rss, note="peer: scipy.sparse X.T @ X in memory (single-threaded); "
                     "genevec: backed .h5ad, chunks of 2^22 nonzeros", **{k: peer[k] for k in ("nnz", "product_nnz")})
    for step, task, fit_input in (("fit", "GeneGloVe_svd_fit_h5ad_path", "PATH"),
                                  ("fit_backed", "GeneGloVe_svd_fit_backed_anndata",
                                   'anndata.read_h5ad(PATH, backed="r")')):
        if step not in skip:
            fit, fit_rss = run(FIT, **fmt, fit_input=fit_input)
            bench.record(task, shape, threads=args.threads, peak_rss_bytes=fit_rss, **fit)
    bench.save()


if __name__ == "__main__":
    main()
