"""Co-occurrence benchmarks: genevec.dtm_to_tcm / training_tiles against BLAS and scipy.sparse.

    python benchmarks/bench_tcm.py            # pancreas shape 328 x 25,321 and sparse 20,000 x 10,000 at 5%
    python benchmarks/bench_tcm.py --quick    # small shapes, a minute

Rows go to benchmarks/results/tcm.json (tcm_quick.json with --quick); the summary is in RESULTS.md.

1. dense: dtm_to_tcm (upper tiles, one single-threaded BLAS call per tile, n_jobs threads) vs ONE
   dgemm of the whole product A^T A (scipy.linalg.blas.dgemm, BLAS at the same thread count).
2. sparse: dtm_to_tcm on CSR vs scipy.sparse ``A.T.tocsr() @ A`` (single-threaded SMMP, no diagonal
   rule, no sorting: the peer does less work than we do).
3. training_tiles: peak RSS in a fresh subprocess at the pancreas shape, a sample of tiles checked
   against a direct computation first.
4. numpy issue 19685: numpy's whole-matrix ``A.T @ A`` (threaded OpenBLAS SYRK) in subprocesses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Bench, blas_threads, gtex_counts, peak_rss, run_python, sparse_counts  # noqa: E402


def check_dense(X):
    colsum = X.sum(axis=0)

    def check(mine, peer):
        n = mine.shape[0]
        assert mine.shape == peer.shape == (n, n)
        ref = peer.T                                  # C-ordered view; peer is Fortran-ordered
        for r0 in range(0, n, 1024):
            r1 = min(n, r0 + 1024)
            want = np.array(ref[r0:r1])
            idx = np.arange(r0, r1)
            want[idx - r0, idx] = (want[idx - r0, idx] - colsum[r0:r1]) / 2
            got = mine[r0:r1]
            exact = np.abs(want) < 2.0**52            # integers: exact below 2^53
            assert np.array_equal(got[exact], want[exact]), f"rows {r0}:{r1} differ from dgemm"
            np.testing.assert_allclose(got[~exact], want[~exact], rtol=1e-12)
    return check


def bench_dense(bench: Bench, shape, threads_list, repeats):
    import scipy.linalg.blas as blas

    from genevec import dtm_to_tcm

    X = gtex_counts(*shape)
    for t in threads_list:
        def ours(t=t):
            return dtm_to_tcm(X, n_jobs=t)

        def peer(t=t):
            with blas_threads(t):
                return blas.dgemm(1.0, X.T, X.T, trans_b=True)   # X^T X, Fortran-ordered, no copies

        bench.compare("dense dtm_to_tcm vs one dgemm", shape, threads=t, contender=ours, peer=peer,
                      check=check_dense(X), repeats=repeats,
                      note="peer computes the full product (2x the flops of our upper triangle), no diagonal rule")


def bench_sparse(bench: Bench, shape, density, threads_list, repeats):
    import scipy.sparse as sp

    from genevec import dtm_to_tcm

    X = sparse_counts(*shape, density)
    colsum = np.asarray(X.sum(axis=0)).ravel()

    def check(mine, peer):
        P = sp.csr_matrix(peer)
        P.setdiag((P.diagonal() - colsum) / 2)
        P.eliminate_zeros()
        P.sort_indices()
        assert np.array_equal(mine.indptr, P.indptr) and np.array_equal(mine.indices, P.indices)
        assert np.array_equal(mine.data, P.data), "sparse values differ from scipy"

    for t in threads_list:
        bench.compare("sparse dtm_to_tcm vs scipy A.T@A", shape + (density,), threads=t,
                      contender=lambda t=t: dtm_to_tcm(X, n_jobs=t), peer=lambda: X.T.tocsr() @ X,
                      check=check, repeats=repeats,
                      note=f"nnz(X)={X.nnz:,}; scipy.sparse is single-threaded; peer skips diagonal rule and sorting")


TILES_CODE = """
import time, numpy as np, psutil
from _harness import gtex_counts
from genevec import _layout
from genevec.tcm import training_tiles, estimate_training_bytes
X = gtex_counts({n_samples}, {n_genes})
base = psutil.Process().memory_info().rss     # resident before (counts loaded)
b = _layout.gene_groups({n_genes})
t0 = time.perf_counter()
tiles = training_tiles(X, b, n_jobs={threads})
elapsed = time.perf_counter() - t0
# check a sample of tiles against a direct product of the two gene blocks
rng = np.random.default_rng(0)
B = b.shape[0] - 1
for g, h in [(0, 0), (B - 1, B - 1), (0, B - 1)] + [tuple(sorted(rng.integers(0, B, 2))) for _ in range(6)]:
    P, Q = X[:, b[g]:b[g + 1]], X[:, b[h]:b[h + 1]]
    T = P.T @ Q
    if g == h:
        T[np.diag_indices_from(T)] = (np.diag(T) - P.sum(0)) / 2
    with np.errstate(divide="ignore"):
        want = np.log(np.maximum(T, 0)).astype(np.float32)
    assert np.array_equal(tiles.tile(g, h), want), (g, h)
print("BASE", base, "TIME", elapsed, "ENTRIES", tiles.n_entries, "NBYTES", tiles.nbytes,
      "ESTIMATE", estimate_training_bytes({n_genes}))
"""


def bench_tiles_memory(bench: Bench, shape, threads):
    peak, out = peak_rss(TILES_CODE.format(n_samples=shape[0], n_genes=shape[1], threads=threads))
    fields = dict(zip(*[iter(next(line for line in out.splitlines() if line.startswith("BASE")).split())] * 2))
    base = int(fields["BASE"])
    bench.record("training_tiles peak RSS (subprocess)", shape, threads=threads,
                 peak_rss_gb=round(peak / 1e9, 3), rss_before_gb=round(base / 1e9, 3),
                 added_gb=round((peak - base) / 1e9, 3), tiles_gb=round(int(fields["NBYTES"]) / 1e9, 3),
                 estimate_gb=round(int(fields["ESTIMATE"]) / 1e9, 3), seconds=round(float(fields["TIME"]), 2),
                 budget_gb=2.0, tiles_checked=9)


CRASH_CODE = """
import numpy as np
A = np.ones((328, {n}))
T = A.T @ A          # numpy detects the transpose and calls (threaded) SYRK
print("OK", T[0, 0], T[-1, -1])
"""


def probe_numpy_syrk(bench: Bench, sizes, threads):
    for n in sizes:
        try:
            rc, out, err = run_python(CRASH_CODE.format(n=n), env={"OPENBLAS_NUM_THREADS": str(threads)},
                                      timeout=600)
            outcome = "ok" if rc == 0 else (f"killed by signal {-rc}" if rc < 0 else f"exit {rc}")
        except Exception as exc:  # a timeout is an outcome too
            outcome, out = f"failed: {exc}", ""
        bench.record("numpy A.T @ A (issue 19685)", (328, n), threads=threads, outcome=outcome,
                     stdout=out.strip()[:80])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes (about a minute)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--skip", nargs="*", default=[], choices=["dense", "sparse", "tiles", "syrk"])
    args = parser.parse_args(argv)
    bench = Bench("tcm", quick=args.quick)
    if args.quick:
        dense_shape, sparse_shape, rep_d, rep_s = (328, 3000), (4000, 2000), 3, 3
    else:
        dense_shape, sparse_shape, rep_d, rep_s = (328, 25321), (20000, 10000), 3, 2
    if args.repeats:
        rep_d = rep_s = args.repeats
    if "dense" not in args.skip:
        bench_dense(bench, dense_shape, (1, 2), rep_d)
    if "sparse" not in args.skip:
        bench_sparse(bench, sparse_shape, 0.05, (1, 2), rep_s)
    if "tiles" not in args.skip:
        bench_tiles_memory(bench, dense_shape, 2)
    if "syrk" not in args.skip:
        probe_numpy_syrk(bench, (2000,) if args.quick else (16000, 16400, 25321), 2)
    bench.save()


if __name__ == "__main__":
    main()
