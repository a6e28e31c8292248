"""What stability costs, and what the converged closed form costs, at 5,000 and 25,321 genes.

Two comparisons on GTEx-like counts (328 samples, ``_generate.gtex_like_counts``), in one run:

1. ``genevec.stability(X, GeneGloVe(), n_resamples=20)`` against its peer, the same 20 bootstrap fits
   done as a plain loop of ``GeneGloVe().fit`` (``ratio = fits / stability``: the share of the time
   that is fitting; the rest is the neighbour search, support and consensus).
2. The closed form ``svd_fit`` with genevec 0.2's eigensolver (``n_power_iter=7``, ``k = 3 dim``)
   against 0.1's (``n_power_iter=4``, ``k = 2 dim``) on the same tiles, with the seed-to-seed Jaccard
   of the top-10 neighbours of each (``ratio = old / new`` time).

    python benchmarks/bench_stability.py                 # 5,000 and 25,321 genes (~15 min on 2 cores)
    python benchmarks/bench_stability.py --genes 5000

Rows go to ``benchmarks/results/stability.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import RESULTS, environment, gtex_counts, self_peak_rss  # noqa: E402


def _frame(n_genes):
    import pandas as pd

    X = gtex_counts(328, n_genes)
    keep = np.flatnonzero(X.sum(axis=0) > 0)
    return pd.DataFrame(X[:, keep], columns=[f"G{j}" for j in keep])


def _jaccard(A, B):
    from genevec.evaluate import neighbour_indices
    from genevec.postprocess import unit_rows

    na, nb = neighbour_indices(unit_rows(A), 10), neighbour_indices(unit_rows(B), 10)
    return float(np.mean([len(set(a) & set(b)) / len(set(a) | set(b)) for a, b in zip(na, nb)]))


def stability_row(n_genes, n_resamples):
    from sklearn.base import clone

    from genevec import GeneGloVe, stability

    X = _frame(n_genes)
    t0 = time.perf_counter()
    stab = stability(X, GeneGloVe(), n_resamples=n_resamples, random_state=0, verbose=1)
    t_stab = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(n_resamples):
        rows = rng.integers(0, X.shape[0], X.shape[0])
        sample = X.iloc[rows].set_axis([f"r{t}" for t in range(len(rows))], axis=0)
        clone(GeneGloVe()).set_params(random_state=int(rng.integers(2**31))).fit(sample)
    t_fits = time.perf_counter() - t0
    return {"task": "stability", "genes": X.shape[1], "samples": X.shape[0], "n_resamples": n_resamples,
            "stability_s": round(t_stab, 2), "fits_alone_s": round(t_fits, 2), "ratio": round(t_fits / t_stab, 3),
            "mean_jaccard": round(float(stab.jaccard.mean()), 3), "peak_rss_bytes": self_peak_rss()}


def eigensolver_row(n_genes):
    from genevec import _layout, lowrank
    from genevec._validation import effective_n_jobs
    from genevec.tcm import training_tiles

    X = _frame(n_genes).to_numpy(dtype=np.float64)
    threads = effective_n_jobs(None)
    tiles = training_tiles(X, _layout.gene_groups(X.shape[1]), dtype=np.float32, n_jobs=threads)
    out = {"task": "closed form, 0.2 vs 0.1 eigensolver", "genes": X.shape[1], "threads": threads}
    for name, kw in (("old", dict(n_power_iter=4, n_oversamples=100)), ("new", {})):
        lowrank.svd_fit(tiles, 100, rng=0, n_threads=threads, **kw)  # warm-up
        times, vecs = [], []
        for seed in (0, 1, 2):
            t0 = time.perf_counter()
            W, C, _, _ = lowrank.svd_fit(tiles, 100, rng=seed, n_threads=threads, **kw)
            times.append(time.perf_counter() - t0)
            vecs.append(W + C)
        out[f"{name}_s"] = round(min(times), 3)
        out[f"{name}_seed_jaccard"] = round(_jaccard(vecs[0], vecs[1]), 4)
    out["ratio"] = round(out["old_s"] / out["new_s"], 3)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genes", nargs="+", type=int, default=[5000, 25321])
    parser.add_argument("--resamples", type=int, default=20)
    args = parser.parse_args(argv)
    rows = []
    for n in args.genes:
        for row in (eigensolver_row(n), stability_row(n, args.resamples)):
            print(json.dumps(row), flush=True)
            rows.append(row)
    command = " ".join(["python", "benchmarks/bench_stability.py", *(sys.argv[1:] if argv is None else argv)])
    with open(RESULTS / "stability.json", "w") as fh:
        json.dump({"command": command, "environment": environment(), "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
