"""genevec's SGD against mittens (PyPI 0.2, NumPy), the GloVe trainer from PyPI that installs on Python 3.11.

mittens' ``GloVe`` trains the same objective, ``sum over X > 0 of f(X) (w.c + b + b~ - log X)^2`` with
``f = min(1, (X / x_max)^alpha)``, by full-batch AdaGrad on the dense matrix in float64 (three BLAS
products per iteration). Both get the same dense TCM of GTEx-like counts (``genevec.dtm_to_tcm``) and the
study's parameters (dim 100, x_max 100, alpha 0.75, learning rate 0.05).

Before timing, the answers are checked to be on one scale: genevec's exact loss of mittens' final
parameters (``glove.glove_loss``: 0.5 * sum f d^2 / n over the nonzero entries) must equal mittens' own
objective evaluated on them in NumPy, divided by n. Then, alternating, each trainer runs from its own
start: mittens ``--iters`` iterations, giving loss L; genevec epochs until its exact loss is <= L (the
loss evaluations are not timed). Reported: seconds to L for each, their ratio, and the entries per
second of one pass over the data (an iteration for mittens, an epoch for genevec).

    pip install mittens==0.2
    python benchmarks/bench_mittens.py --genes 2000 --iters 200 --threads 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _harness import Bench, blas_threads, gtex_counts

from genevec import _layout, glove, tcm

KW = dict(x_max=100.0, alpha=0.75, learning_rate=0.05)


def mittens_loss(T, W, C, bw, bc, x_max=100.0, alpha=0.75) -> float:
    """mittens' objective (np_mittens._get_gradients_and_error), divided by the number of nonzero entries."""
    mask = T > 0
    logT = np.log(np.where(mask, T, 1.0))
    weights = np.where(mask, np.minimum(1.0, (T / x_max) ** alpha), 0.0)
    diffs = W @ C.T + bw.reshape(-1, 1) + bc.reshape(1, -1) - logT
    return float((0.5 * weights * diffs**2).sum()) / int(mask.sum())


def params_of(m, dtype) -> glove.GloVeParams:
    arr = [glove.aligned_copy(a, dtype) for a in (m.W, m.C, m.bw.ravel(), m.bc.ravel())]
    return glove.GloVeParams(*arr, *(glove.aligned_copy(np.ones_like(a)) for a in arr))


def main() -> None:
    from mittens.np_mittens import GloVe as MittensGloVe

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genes", type=int, default=2000)
    ap.add_argument("--iters", type=int, default=200, help="mittens iterations (its loss is genevec's target)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    X = gtex_counts(328, args.genes)
    X = np.ascontiguousarray(X[:, X.sum(axis=0) > 0])
    n = X.shape[1]
    T = np.asarray(tcm.dtm_to_tcm(X, n_jobs=args.threads), dtype=np.float64)
    tiles = tcm.training_tiles(X, _layout.gene_groups(n), n_jobs=args.threads)
    tiles64 = tcm.training_tiles(X, _layout.gene_groups(n), dtype=np.float64, n_jobs=args.threads)  # the check
    assert tiles.n_entries == int((T > 0).sum())
    print(f"{n:,} genes, {tiles.n_entries:,} nonzero entries", flush=True)
    bench = Bench("mittens", repeats=args.repeats)
    state: dict = {}

    def run_mittens():
        np.random.seed(0)
        m = MittensGloVe(n=100, xmax=KW["x_max"], alpha=KW["alpha"], learning_rate=KW["learning_rate"],
                         max_iter=args.iters, display_progress=0)
        with blas_threads(args.threads):
            t0 = time.perf_counter()
            m.fit(T)
            state["mittens_s"] = time.perf_counter() - t0
        state["mittens"] = m
        return m

    def run_genevec():
        target = glove.glove_loss(tiles, params_of(state["mittens"], np.float32), **{k: KW[k] for k in ("x_max", "alpha")},
                                  n_threads=args.threads)
        rng = np.random.default_rng(0)
        p = glove.init_params(n, 100, np.float32, rng)
        spent, epochs, loss = 0.0, 0, np.inf
        while loss > target and epochs < 1000:
            t0 = time.perf_counter()
            glove.run_epoch(tiles, p, rng=rng, n_threads=args.threads, **KW)
            spent += time.perf_counter() - t0
            epochs += 1
            loss = glove.glove_loss(tiles, p, x_max=KW["x_max"], alpha=KW["alpha"], n_threads=args.threads)
        state.update(genevec_epochs=epochs, genevec_loss=loss, target=target, genevec_train_s=spent)
        return loss

    def same_objective(_, m):
        mine = glove.glove_loss(tiles64, params_of(m, np.float64), x_max=KW["x_max"], alpha=KW["alpha"],
                                n_threads=args.threads)
        theirs = mittens_loss(T, m.W, m.C, m.bw, m.bc, KW["x_max"], KW["alpha"])
        assert np.isclose(mine, theirs, rtol=1e-9), (mine, theirs)

    # mittens first, so that genevec knows its target; both are re-timed alternately inside compare
    run_mittens()
    row = bench.compare(f"time to mittens' loss after {args.iters} iterations", (328, n, 100),
                        threads=args.threads, contender=run_genevec, peer=run_mittens, check=same_objective)
    # compare timed run_genevec including its untimed loss evaluations; report the training time itself
    row.update(genevec_s=state["genevec_train_s"], ratio=state["mittens_s"] / state["genevec_train_s"],
               target_loss=state["target"], genevec_loss=state["genevec_loss"], genevec_epochs=state["genevec_epochs"],
               mittens_iters=args.iters, mittens_s=state["mittens_s"],
               entries_per_s_genevec=tiles.n_entries * state["genevec_epochs"] / state["genevec_train_s"],
               entries_per_s_peer=tiles.n_entries * args.iters / state["mittens_s"],
               note="genevec_s and mittens_s are the last repeat's training times (loss evaluations excluded)")
    print(f"    mittens: {args.iters} iterations in {state['mittens_s']:.1f} s to loss {state['target']:.4g}; "
          f"genevec: {state['genevec_epochs']} epoch(s) in {state['genevec_train_s']:.2f} s to {state['genevec_loss']:.4g}; "
          f"ratio {row['ratio']:.1f}; one pass: mittens {row['entries_per_s_peer'] / 1e6:.1f} M entries/s, "
          f"genevec {row['entries_per_s_genevec'] / 1e6:.1f} M entries/s", flush=True)
    bench.save()


if __name__ == "__main__":
    main()
