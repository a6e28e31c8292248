"""Query latency of GeneVectors.most_similar vs gensim's KeyedVectors.most_similar, same vectors, same run.

Random float32 vectors at the study's shape (25,321 genes x 100). The answers of both libraries
are checked equal (genes exactly, scores to 1e-6) before anything is timed; then the queries
alternate between genevec and the peer, one query at a time, after a warm-up, and the median
latency per query is reported with ``ratio = peer / genevec``. gensim is timed with its default
BLAS threads and with BLAS held to one thread (genevec always uses one for a query). The word2vec
text file is also written and read by both. Results go to ``benchmarks/results/similarity.json``.

    python benchmarks/bench_similarity.py               # ~1 minute on 2 busy cores
    python benchmarks/bench_similarity.py --quick       # fewer queries, a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import cpu_model, git_sha  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
import threadpoolctl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import gensim  # noqa: E402
from gensim.models import KeyedVectors  # noqa: E402

import genevec  # noqa: E402
from genevec import GeneVectors, load_vectors  # noqa: E402

N_GENES, DIM = 25321, 100






def make_queries(genes: list[str], n: int, rng: np.random.Generator) -> list[dict]:
    """Half single genes (the nearest-gene table), half analogies a - b + c."""
    picks = rng.choice(len(genes), size=(n, 3), replace=False if n * 3 <= len(genes) else True)
    out = []
    for k, (a, b, c) in enumerate(picks):
        if k % 2 == 0:
            out.append(dict(positive=[genes[a]]))
        else:
            out.append(dict(positive=[genes[a], genes[c]], negative=[genes[b]]))
    return out


def check_equal(gv: GeneVectors, kv: KeyedVectors, queries: list[dict], topn: int) -> float:
    worst = 0.0
    for q in queries:
        ours, theirs = gv.most_similar(topn=topn, **q), kv.most_similar(topn=topn, **q)
        if [g for g, _ in ours] != [g for g, _ in theirs]:
            raise SystemExit(f"answers differ for {q}: {ours[:3]} vs {theirs[:3]}")
        worst = max(worst, max(abs(a[1] - b[1]) for a, b in zip(ours, theirs)))
    if worst > 1e-6:
        raise SystemExit(f"scores differ by {worst:.2e} > 1e-6")
    return worst


def time_alternating(contenders: dict, queries: list[dict], topn: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for q in queries:
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn(q, topn)
            times[name].append(time.perf_counter() - t0)
    return times


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=400, help="timed queries per contender (default 400)")
    ap.add_argument("--topn", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="60 queries and one file round, a smoke run")
    ap.add_argument("--out", default=str(HERE / "results" / "similarity.json"))
    args = ap.parse_args(argv)
    n_queries = 60 if args.quick else args.queries

    rng = np.random.default_rng(0)
    V = rng.standard_normal((N_GENES, DIM)).astype(np.float32)
    genes = [f"G{i:05d}" for i in range(N_GENES)]
    gv = GeneVectors(V, genes)
    kv = KeyedVectors(DIM)
    kv.add_vectors(genes, V)
    queries = make_queries(genes, n_queries, rng)

    worst = check_equal(gv, kv, queries[:50], args.topn)
    print(f"answers agree on 50 queries (max |score diff| {worst:.1e})", file=sys.stderr)

    controller = threadpoolctl.ThreadpoolController()
    blas_threads = max((i["num_threads"] for i in controller.info() if i["user_api"] == "blas"), default=1)

    def gensim_1(q, topn):
        with controller.limit(limits=1, user_api="blas"):
            return kv.most_similar(topn=topn, **q)

    contenders = {
        "genevec": lambda q, topn: gv.most_similar(topn=topn, **q),
        "gensim": lambda q, topn: kv.most_similar(topn=topn, **q),
        "gensim_blas1": gensim_1,
    }
    time_alternating(contenders, queries[:20], args.topn)  # warm-up: norms, caches, BLAS threads
    times = time_alternating(contenders, queries, args.topn)
    med = {k: statistics.median(v) for k, v in times.items()}
    p90 = {k: float(np.quantile(v, 0.9)) for k, v in times.items()}

    common = dict(shape=[N_GENES, DIM], dtype="float32", topn=args.topn, blas_threads_default=blas_threads,
                  versions=dict(genevec=genevec.__version__, gensim=gensim.__version__, numpy=np.__version__,
                                python=platform.python_version()),
                  cpu=cpu_model(), cores=os.cpu_count(), load_average=list(os.getloadavg()), git_sha=git_sha())
    rows = []
    for peer in ("gensim", "gensim_blas1"):
        rows.append(dict(task="most_similar", peer=peer, queries=len(queries),
                         genevec_median_ms=med["genevec"] * 1e3, peer_median_ms=med[peer] * 1e3,
                         genevec_p90_ms=p90["genevec"] * 1e3, peer_p90_ms=p90[peer] * 1e3,
                         ratio=med[peer] / med["genevec"], **common))

    # The word2vec text file: written and read by both (3 rounds, best of each; 1 when --quick).
    repeats = 1 if args.quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = os.path.join(tmp, "ours.txt"), os.path.join(tmp, "gensim.txt")
        gv.save(ours)
        kv.save_word2vec_format(theirs)
        if not np.array_equal(load_vectors(theirs).vectors, V) or \
                not np.array_equal(KeyedVectors.load_word2vec_format(ours).vectors, V):
            raise SystemExit("the two files do not read back to the same vectors")
        t_save = best_of(lambda: gv.save(ours), repeats)
        t_save_peer = best_of(lambda: kv.save_word2vec_format(theirs), repeats)
        t_load = best_of(lambda: load_vectors(ours), repeats)
        t_load_peer = best_of(lambda: KeyedVectors.load_word2vec_format(ours), repeats)
        size = os.path.getsize(ours)
    rows.append(dict(task="save_word2vec_text", peer="gensim", genevec_s=t_save, peer_s=t_save_peer,
                     ratio=t_save_peer / t_save, file_bytes=size, **common))
    rows.append(dict(task="load_word2vec_text", peer="gensim", genevec_s=t_load, peer_s=t_load_peer,
                     ratio=t_load_peer / t_load, file_bytes=size, **common))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from genevec._atomic import atomic_write

    with atomic_write(out) as fh:
        json.dump(rows, fh, indent=1)
        fh.write("\n")

    print(f"most_similar, {N_GENES:,} x {DIM} float32, topn={args.topn}, {len(queries)} queries, "
          f"median (p90) per query:")
    for name in contenders:
        print(f"  {name:13s} {med[name] * 1e3:7.3f} ms ({p90[name] * 1e3:7.3f} ms)")
    print(f"  ratio gensim/genevec {med['gensim'] / med['genevec']:.2f}, "
          f"gensim(1 BLAS thread)/genevec {med['gensim_blas1'] / med['genevec']:.2f}")
    print(f"save: genevec {t_save:.2f} s, gensim {t_save_peer:.2f} s (ratio {t_save_peer / t_save:.2f}); "
          f"load: genevec {t_load:.2f} s, gensim {t_load_peer:.2f} s (ratio {t_load_peer / t_load:.2f})")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
