"""t-SNE for gene maps: openTSNE (FFT gradients) vs scikit-learn (Barnes-Hut), same data, same run.

Both contenders go through genevec.maps's own paths (``_tsne_opentsne`` / ``_tsne_sklearn``) on
the same unit-length vectors: ``--genes`` (default 25,321, the pancreas vocabulary) x 100 dims,
drawn around 40 planted cluster centres with gene-specific norms, like GloVe vectors. Before a
time is reported, both maps must keep the planted structure (10-NN cluster purity in 2-d >= 0.8).
The openTSNE time includes the exact neighbour search it needs; scikit-learn does its own.

    python benchmarks/bench_map.py                 # full size, ~5 min on 2 cores
    python benchmarks/bench_map.py --genes 5000    # quick look

Writes benchmarks/results/bench_map.json (ratio = sklearn / openTSNE).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def structured_vectors(n_genes: int, dim: int = 100, n_centres: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_centres, dim))
    labels = rng.integers(0, n_centres, size=n_genes)
    X = centres[labels] + rng.normal(scale=0.9, size=(n_genes, dim))
    X *= rng.lognormal(0.0, 0.5, size=(n_genes, 1))                 # GloVe-like spread of norms
    return X, labels


def purity(emb: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    from sklearn.neighbors import NearestNeighbors

    idx = NearestNeighbors(n_neighbors=k + 1).fit(emb).kneighbors(emb, return_distance=False)[:, 1:]
    return float((labels[idx] == labels[:, None]).mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genes", type=int, default=25321)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--perplexity", type=float, default=30)
    ap.add_argument("--out", default=str(HERE / "results" / "bench_map.json"))
    args = ap.parse_args(argv)

    from threadpoolctl import threadpool_limits

    import genevec
    from genevec.maps import _kmeans, _tsne_opentsne, _tsne_sklearn
    from genevec.postprocess import unit_rows

    X, labels = structured_vectors(args.genes, args.dim)
    Y = unit_rows(X)
    rows = {}
    with threadpool_limits(limits=args.threads):
        t0 = time.perf_counter()
        _kmeans(Y, 15, 0, args.threads)
        t_km = time.perf_counter() - t0
        for name, fn in (("openTSNE", _tsne_opentsne), ("sklearn", _tsne_sklearn)):
            t0 = time.perf_counter()
            emb = fn(Y, args.perplexity, 42, args.threads)
            dt = time.perf_counter() - t0
            p = purity(emb, labels)
            print(f"{name:9s} {dt:7.1f} s   10-NN cluster purity {p:.3f}", flush=True)
            assert p >= 0.8, f"{name} lost the planted clusters (purity {p:.3f}); timing not reported"
            rows[name] = {"seconds": dt, "purity": p}
    ratio = rows["sklearn"]["seconds"] / rows["openTSNE"]["seconds"]
    print(f"k-means (n_init=10, 15 clusters) {t_km:.1f} s")
    print(f"ratio sklearn / openTSNE = {ratio:.2f}  (openTSNE {'faster' if ratio > 1 else 'slower'})")

    import openTSNE
    import sklearn

    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                             text=True).stdout.strip()
    except OSError:
        sha = ""
    result = {
        "task": "t-SNE 2-d map (250 exaggerated + 500 iterations)", "shape": [args.genes, args.dim],
        "perplexity": args.perplexity, "threads": args.threads,
        "genevec_opentsne_s": rows["openTSNE"]["seconds"], "peer_sklearn_s": rows["sklearn"]["seconds"],
        "ratio": ratio, "purity": {k: v["purity"] for k, v in rows.items()}, "kmeans_s": t_km,
        "versions": {"genevec": genevec.__version__, "openTSNE": openTSNE.__version__,
                     "sklearn": sklearn.__version__, "numpy": np.__version__},
        "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "git": sha,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
