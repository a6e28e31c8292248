"""GloVe epoch throughput (TCM entries per second) against peers timed in the same run.

Peers:
- ``plain C``: ``baseline/plain_glove.c``, the same update one entry at a time in row-major order, no
  blocking, no threads, built here with ``gcc -O3 -march=native`` into ``benchmarks/_build/``; called via
  ctypes. Before timing, it must match a Python loop in the same row-major order on small data (rtol
  1e-5); in the timed run both sides do one full epoch over the same entries (in different orders, so
  their losses differ: row-major order lets each word bias settle within its row).
- ``NumPy``: ``tests/_reference_glove.glove_epoch_vectorised`` (step k of all blocks of a stratum at
  once). Both sides run the same first strata of the same plan; the parameters must agree to 1e-4.
- ``1 thread``: genevec with 2 threads against itself with 1; W + C must hash equal.
- ``host``: what the machine itself allows two cores, for reading the row above. Two processes, each
  running one-thread epochs on its own copy of the data, start together; their epoch times are compared
  with one such process alone, in the same rounds as the thread row (after each 2-thread / 1-thread
  pair). ``ratio`` is the combined throughput of the two over one alone: 2.0 if the cores do not slow
  each other down (shared caches, memory, the host's clock and its other tenants), and the ceiling for
  genevec's own 2-thread speed-up.

Usage: ``python benchmarks/bench_fit.py [--genes 5000] [--full] [--quick] [--no-host]`` (``--full`` adds
25,321 genes, whose tiles take 1.3 GB in float32; the host row at that size holds them twice).
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import os
import subprocess
import sys
import time

import numpy as np
from _harness import HERE, REPO, Bench, EpochChild, gtex_counts

sys.path.insert(0, str(REPO / "tests"))

from _reference_glove import glove_epoch_vectorised  # noqa: E402

from genevec import _glove, _layout, glove  # noqa: E402

BUILD = HERE / "_build"
DIM = 100
KW = dict(x_max=100.0, alpha=0.75, learning_rate=0.05, clip=100.0)


def build_plain() -> ctypes.CDLL:
    """Compile baseline/plain_glove.c with gcc -O3 -march=native (the peer may use every ISA)."""
    BUILD.mkdir(exist_ok=True)
    src, lib = HERE / "baseline" / "plain_glove.c", BUILD / "plain_glove.so"
    if not lib.exists() or lib.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["gcc", "-O3", "-march=native", "-shared", "-fPIC", str(src), "-o", str(lib), "-lm"],
                       check=True)
    dll = ctypes.CDLL(str(lib))
    fn = dll.plain_glove_epoch
    fn.restype = ctypes.c_double
    P = ctypes.c_void_p
    fn.argtypes = [P, P, P, ctypes.c_int64] + [P] * 8 + [ctypes.c_int, ctypes.c_float, ctypes.c_float,
                                                           ctypes.c_float, ctypes.c_float]
    return dll


def check_plain(plain) -> None:
    """The plain C peer does genevec's update: compare it with a Python loop in row-major order."""
    rng = np.random.default_rng(0)
    X = rng.poisson(3.0, size=(30, 12)).astype(float)
    tiles = tiles_from_counts(X)
    r, c, lx = row_major_entries(tiles)
    p = glove.init_params(12, 5, np.float32, rng)
    q = p.copy()
    ptr = [a.ctypes.data for a in (p.W, p.C, p.bw, p.bc, p.gW, p.gC, p.gbw, p.gbc)]
    plain.plain_glove_epoch(r.ctypes.data, c.ctypes.data, lx.ctypes.data, len(r), *ptr, 5, 100.0, 0.75, 0.05, 100.0)
    f32 = np.float32
    for i, j, x in zip(r, c, lx):
        diff = np.clip(f32(np.dot(q.W[i], q.C[j])) + q.bw[i] + q.bc[j] - x, -100, 100)
        fd = f32(1.0 if x >= np.log(100.0) else np.exp(0.75 * (x - np.log(100.0)))) * diff
        gw, gc = fd * q.C[j], fd * q.W[i]
        q.W[i] -= f32(0.05) * gw / np.sqrt(q.gW[i])
        q.C[j] -= f32(0.05) * gc / np.sqrt(q.gC[j])
        q.gW[i] += gw * gw
        q.gC[j] += gc * gc
        q.bw[i] -= f32(0.05) * fd / np.sqrt(q.gbw[i])
        q.bc[j] -= f32(0.05) * fd / np.sqrt(q.gbc[j])
        q.gbw[i] += fd * fd
        q.gbc[j] += fd * fd
    for f in ("W", "C", "bw", "bc", "gW", "gC"):
        np.testing.assert_allclose(getattr(p, f), getattr(q, f), rtol=1e-5, atol=1e-6, err_msg=f)


def tiles_from_counts(X: np.ndarray, dtype=np.float32) -> _layout.TrainingTiles:
    """log(A^T A) tiles with quanteda's diagonal rule, one tile at a time (no dense n x n matrix)."""
    b = _layout.gene_groups(X.shape[1])
    ptr = _layout.tile_sizes(b)
    values = np.empty(ptr[-1], dtype=dtype)
    colsum = X.sum(axis=0)
    B = len(b) - 1
    n_entries = 0
    for g in range(B):
        Xg = X[:, b[g]:b[g + 1]]
        for h in range(g, B):
            T = Xg.T @ X[:, b[h]:b[h + 1]]
            if g == h:
                d = np.arange(T.shape[0])
                T[d, d] = (T[d, d] - colsum[b[g]:b[g + 1]]) / 2
            pos = T > 0
            n_entries += int(pos.sum()) * (1 if g == h else 2)
            with np.errstate(divide="ignore"):
                logT = np.where(pos, np.log(np.where(pos, T, 1.0)), -np.inf)
            t = _layout.tile_index(g, h, B)
            values[ptr[t]:ptr[t + 1]] = logT.ravel()
    return _layout.TrainingTiles(group_bounds=b, tile_ptr=ptr, values=values, n_entries=n_entries)


def row_major_entries(tiles: _layout.TrainingTiles):
    """(row, col, log T) of every stored entry in row-major order, for the plain C peer."""
    rows, cols, logs = [], [], []
    b = tiles.group_bounds
    for g in range(tiles.n_groups):
        block = np.hstack([tiles.tile(g, h) for h in range(tiles.n_groups)])  # genes of group g x all genes
        r, c = np.nonzero(np.isfinite(block))
        rows.append((r + b[g]).astype(np.int32))
        cols.append(c.astype(np.int32))
        logs.append(block[r, c].astype(np.float32))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(logs)


def embedding_hash(p: glove.GloVeParams) -> str:
    return hashlib.sha256(np.ascontiguousarray(p.W + p.C).tobytes()).hexdigest()[:16]


def run_strata(tiles, params, strata, keys, n_strata, n_threads):
    """genevec's kernel on the first ``n_strata`` strata of a plan (the NumPy peer's workload)."""
    B = tiles.n_groups
    loss, count = np.zeros((n_strata, B)), np.zeros((n_strata, B), dtype=np.int64)
    p = params
    _glove.sgd_strata(tiles.values, tiles.tile_ptr, tiles.group_bounds, np.asarray(strata[:n_strata], np.int64),
                      keys[:n_strata], p.W, p.C, p.bw, p.bc, p.gW, p.gC, p.gbw, p.gbc, float(np.log(KW["x_max"])),
                      KW["alpha"], KW["learning_rate"], KW["clip"], loss, count, n_threads)
    return 0.5 * float(loss.sum()), int(count.sum())


class HostPeers:
    """Two child processes, each with its own copy of the data, running one-thread epochs on demand.

    ``round()`` times an epoch of one child while the other waits, then one epoch of each, started at
    once. ``summary()`` keeps the minimum of each and ``ratio = alone / child_a + alone / child_b``: the
    combined throughput of two independent one-thread trainers over one alone, the most two threads could
    gain on this machine at that time.
    """

    def __init__(self, n_genes: int):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        self.kids = [EpochChild(n_genes, 1, env=env) for _ in range(2)]
        self.alone_s: list[float] = []
        self.together_s: list[list[float]] = []

    @staticmethod
    def _run(which) -> list[float]:
        for k in which:
            k.start()
        return [k.seconds() for k in which]

    def round(self) -> None:
        self.alone_s.append(self._run(self.kids[:1])[0])
        self.together_s.append(self._run(self.kids))

    def close(self) -> None:
        for k in self.kids:
            k.close()

    def summary(self) -> dict:
        a = min(self.alone_s)
        ta, tb = min(p[0] for p in self.together_s), min(p[1] for p in self.together_s)
        return {"alone_s": a, "together_s": max(ta, tb), "ratio": a / ta + a / tb, "repeats": len(self.alone_s),
                "alone_all_s": self.alone_s, "together_all_s": self.together_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genes", type=int, default=5000)
    ap.add_argument("--full", action="store_true", help="also 25,321 genes (1.3 GB of tiles)")
    ap.add_argument("--quick", action="store_true", help="1 repeat, results/fit_quick.json")
    ap.add_argument("--no-host", action="store_true", help="skip the two-process host ceiling rows")
    args = ap.parse_args()
    bench = Bench("fit", repeats=1 if args.quick else 3, quick=args.quick)
    print(f"genevec GloVe kernel path: {_glove.isa()}", flush=True)
    plain = build_plain()
    check_plain(plain)
    sizes = [args.genes] + ([25321] if args.full else [])
    for n_genes in sizes:
        X = gtex_counts(328, n_genes)
        X = np.ascontiguousarray(X[:, X.sum(axis=0) > 0])
        t0 = time.perf_counter()
        tiles = tiles_from_counts(X)
        n = tiles.n_genes
        print(f"{n:,} genes: {tiles.n_entries:,} entries, B={tiles.n_groups}, tiles {tiles.nbytes / 1e9:.2f} GB, "
              f"built in {time.perf_counter() - t0:.1f} s", flush=True)
        shape = (328, n, DIM)
        start = glove.init_params(n, DIM, np.float32, np.random.default_rng(0))

        # --- 1 and 2 threads: same bits (checked after the warm-up epoch, before timing), and the speed-up
        state = {th: (start.copy(), np.random.default_rng(2)) for th in (1, 2)}
        hashes: dict[int, str] = {}

        def epoch(th):
            p, rng = state[th]
            loss = glove.run_epoch(tiles, p, rng=rng, n_threads=th, **KW)
            hashes.setdefault(th, embedding_hash(p))
            return loss

        def same_bits(a, b):
            assert a == b and hashes[1] == hashes[2], (a, b, hashes)

        # ~1 s epochs at 5,000 genes: 7 repeats against the host's noise; ~25-50 s epochs at 25,321: 3.
        # The host ceiling is measured in the same rounds, between them, so that it sees the same machine.
        host = None if args.no_host else HostPeers(n_genes)
        try:
            row = bench.compare(
                "epoch: 2 threads vs 1 thread", shape, threads=2, contender=lambda: epoch(2),
                peer=lambda: epoch(1), check=same_bits, repeats=1 if args.quick else (3 if n_genes > 5000 else 7),
                between=None if host is None else host.round)
        finally:
            if host is not None:
                host.close()
        row["note"] = f"W + C sha256[:16] after 1 epoch, 1 and 2 threads: {hashes[1]} / {hashes[2]}"
        row["entries_per_s_genevec"] = tiles.n_entries / row["genevec_s"]
        row["entries_per_s_peer"] = tiles.n_entries / row["peer_s"]
        print(f"    2 threads {row['entries_per_s_genevec'] / 1e6:.1f} M entries/s, "
              f"1 thread {row['entries_per_s_peer'] / 1e6:.1f} M entries/s, hash {hashes[1]}", flush=True)
        del state
        if host is not None:
            h = host.summary()
            bench.record("host: two 1-thread processes at once vs one alone", shape, threads=2,
                         genevec_s=h["together_s"], peer_s=h["alone_s"],
                         **{k: v for k, v in h.items() if k not in ("alone_s", "together_s")})
            print(f"    host ceiling {h['ratio']:.2f}x; genevec 2 threads / 1 thread {row['ratio']:.2f}x "
                  f"({row['ratio'] / h['ratio']:.0%} of the ceiling)", flush=True)
        if n_genes > 5000:
            del tiles
            continue  # the row-major copy for plain C would take ~8 GB; NumPy would take hours

        # --- plain C (one thread, row-major, -march=native)
        r, c, lx = row_major_entries(tiles)
        assert len(r) == tiles.n_entries
        pc = {"mine": start.copy(), "peer": start.copy()}
        rng_c = np.random.default_rng(3)

        def plain_epoch():
            q = pc["peer"]
            ptr = [a.ctypes.data for a in (q.W, q.C, q.bw, q.bc, q.gW, q.gC, q.gbw, q.gbc)]
            return plain.plain_glove_epoch(r.ctypes.data, c.ctypes.data, lx.ctypes.data, len(r), *ptr, DIM,
                                           KW["x_max"], KW["alpha"], KW["learning_rate"], KW["clip"])

        def close_losses(a, b):
            assert np.isfinite(a) and np.isfinite(b), (a, b)

        for th in (1, 2):
            row = bench.compare(
                "epoch vs plain C (1 thread, -march=native)", shape, threads=th,
                contender=lambda th=th: glove.run_epoch(tiles, pc["mine"], rng=rng_c, n_threads=th, **KW),
                peer=plain_epoch, check=close_losses)
            row["entries_per_s_genevec"] = tiles.n_entries / row["genevec_s"]
            row["entries_per_s_peer"] = tiles.n_entries / row["peer_s"]
            print(f"    genevec {row['entries_per_s_genevec'] / 1e6:.1f} M entries/s, plain C "
                  f"{row['entries_per_s_peer'] / 1e6:.1f} M entries/s", flush=True)
            pc["mine"], pc["peer"] = start.copy(), start.copy()  # same start for the next row's check
        del r, c, lx

        # --- NumPy vectorised reference on the first stratum of one plan
        strata, keys = glove.draw_epoch_plan(np.random.default_rng(4), tiles.n_groups)
        n_strata = 1
        box = {}

        def mine():
            box["mine"] = start.copy()
            return box["mine"], run_strata(tiles, box["mine"], strata, keys, n_strata, 1)

        def peer():
            q = start.copy()
            return q, glove_epoch_vectorised(tiles, q, strata, keys, n_strata=n_strata, **KW)

        def same(a, b):
            assert a[1][1] == b[1][1]
            for f in ("W", "C", "bw", "bc"):
                np.testing.assert_allclose(getattr(a[0], f), getattr(b[0], f), rtol=1e-4, atol=1e-5)

        row = bench.compare("strata vs NumPy vectorised reference", shape, threads=1,
                            contender=mine, peer=peer, check=same, repeats=1,
                            note=f"{n_strata} of {tiles.n_groups} strata of one epoch")
        done = run_strata(tiles, start.copy(), strata, keys, n_strata, 1)[1]
        row["entries_per_s_genevec"] = done / row["genevec_s"]
        row["entries_per_s_peer"] = done / row["peer_s"]
        print(f"    genevec {row['entries_per_s_genevec'] / 1e6:.2f} M entries/s, NumPy "
              f"{row['entries_per_s_peer'] / 1e6:.3f} M entries/s", flush=True)
        del tiles
    for row in bench.rows:
        row["kernel_path"] = _glove.isa()
    bench.save()


if __name__ == "__main__":
    main()
