"""Loss against wall time: the closed-form low-rank solver (+ weighted ALS) vs AdaGrad SGD, in one run.

Both solvers see the same tiles (``genevec.tcm.training_tiles`` of GTEx-like counts from
``benchmarks/_generate.py``) and are scored by the same exact loss (``genevec.glove.glove_loss``),
evaluated outside the timed region for both: the closed form's time is ``lowrank.svd_fit`` alone, and
the time of that one loss evaluation is printed beside it (``GeneGloVe.fit`` pays one for either
solver). ALS's times include the loss it computes after every sweep (it is part of its stopping rule).
The peer is SGD: ``ratio = SGD seconds / svd seconds`` to reach the loss SGD has after all its epochs
(``null`` when svd never gets there).

Run::

    OMP_NUM_THREADS=2 python benchmarks/bench_solvers.py --genes 5000 --dim 100 --epochs 50 --sweeps 3
    OMP_NUM_THREADS=2 python benchmarks/bench_solvers.py --demo --genes 3000 --epochs 50 --sweeps 10

and it prints a table and writes ``benchmarks/results/solvers.json`` (``solvers_demo.json``).
``--power-iter 1,2,3,4`` adds a closed form per ``n_power_iter`` (the first one is the one compared
with SGD). ``--svd-only`` skips SGD, for the full vocabulary, whose SGD run is the reference workload
(``bench_reference_workload.py``)::

    OMP_NUM_THREADS=2 python benchmarks/bench_solvers.py --genes 25321 --svd-only --sweeps 0 --power-iter 3,2,4

writes ``results/solvers_25321.json`` with the closed form's seconds, loss and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from _harness import cpu_model, git_sha, self_peak_rss  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _generate import gtex_like_counts  # noqa: E402

import genevec  # noqa: E402
from genevec import _layout, glove, lowrank, tcm  # noqa: E402


def run_sgd(tiles, dim, epochs, seed, threads, x_max, alpha, lr, checkpoints):
    rng = np.random.default_rng(seed)
    params = glove.init_params(tiles.n_genes, dim, tiles.values.dtype, rng)
    rows = [("sgd", 0, 0.0, glove.glove_loss(tiles, params, x_max=x_max, alpha=alpha, n_threads=threads))]
    spent = [0.0]                   # seconds spent scoring, taken off the clock
    t0 = time.perf_counter()

    def cb(epoch, _loss, p):
        if epoch in checkpoints:
            s = time.perf_counter()
            elapsed = s - t0 - spent[0]
            loss = glove.glove_loss(tiles, p, x_max=x_max, alpha=alpha, n_threads=threads)
            spent[0] += time.perf_counter() - s
            rows.append(("sgd", epoch, elapsed, loss))
        return False

    glove.fit_glove(tiles, params, x_max=x_max, alpha=alpha, learning_rate=lr, max_iter=epochs, rng=rng,
                    n_threads=threads, callback=cb)
    return rows


def run_svd(tiles, dim, sweeps, seed, threads, x_max, alpha, n_power_iter, repeats):
    """Closed form (after a warm-up, the minimum of ``repeats`` runs), its exact loss (timed apart), then
    ``sweeps`` ALS sweeps. Every run gives the same bits, so the repeats only steady the clock."""
    times = []
    for _ in range(1 + repeats):
        t0 = time.perf_counter()
        W, C, bw, bc = lowrank.svd_fit(tiles, dim, x_max=x_max, alpha=alpha, rng=seed, n_threads=threads,
                                       n_power_iter=n_power_iter)
        times.append(time.perf_counter() - t0)
    t_svd = min(times[1:] or times)
    t1 = time.perf_counter()
    loss = lowrank._glove_loss(tiles, W, C, bw, bc, x_max=x_max, alpha=alpha, n_threads=threads)
    t_loss = time.perf_counter() - t1
    rows = [("svd", 0, t_svd, loss)]
    t1 = time.perf_counter()

    def cb(sweep, loss):
        rows.append(("svd", sweep, t_svd + time.perf_counter() - t1, loss))
        return False

    common = dict(x_max=x_max, alpha=alpha, n_threads=threads)
    loss_fn = lambda *a: lowrank._glove_loss(tiles, *a, **common)  # noqa: E731
    lowrank._sweeps(tiles, W, C, bw, bc, x_max, alpha, sweeps, threads, 1e-6, loss_fn, cb)
    return rows, t_loss


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--genes", type=int, default=5000)
    ap.add_argument("--samples", type=int, default=328)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--sweeps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--demo", action="store_true",
                    help="the embedded GTEx demo (31 samples) with --genes genes instead of GTEx-like counts")
    default_q = inspect.signature(lowrank.svd_fit).parameters["n_power_iter"].default
    ap.add_argument("--power-iter", default=str(default_q),
                    help="comma-separated n_power_iter values of the closed form; the first is compared with SGD "
                         f"(default: svd_fit's, {default_q})")
    ap.add_argument("--repeats", type=int, default=3, help="timed closed forms after a warm-up (minimum kept)")
    ap.add_argument("--svd-only", action="store_true", help="no SGD (for 25,321 genes: see the reference workload)")
    ap.add_argument("--out", default=None, help="default results/solvers.json (solvers_demo.json with --demo, "
                                                 "solvers_<genes>.json with --svd-only)")
    args = ap.parse_args(argv)
    powers = [int(q) for q in args.power_iter.split(",")]
    if args.out is None:
        name = ("solvers_demo" if args.demo else f"solvers_{args.genes}" if args.svd_only else "solvers")
        args.out = str(HERE / "results" / f"{name}.json")
    x_max, alpha, lr = 100.0, 0.75, 0.05
    dtype = np.dtype(args.dtype)

    if args.demo:
        X = genevec.datasets.load_demo(n_genes=args.genes).to_numpy(dtype=np.float64)
        args.samples = X.shape[0]
    else:
        X = gtex_like_counts(args.samples, args.genes, seed=args.seed).astype(np.float64)
    X = X[:, X.sum(axis=0) > 0]
    n = X.shape[1]
    t0 = time.perf_counter()
    tiles = tcm.training_tiles(X, _layout.gene_groups(n), dtype=dtype, n_jobs=args.threads)
    t_tiles = time.perf_counter() - t0
    rss_tiles = self_peak_rss()
    log_xmax = np.float32(np.log(x_max)) if dtype == np.float32 else np.log(x_max)
    below = sum(int(np.count_nonzero((c < log_xmax) & (c > -np.inf))) for c in np.array_split(tiles.values, 64))
    below /= max(sum(int(np.count_nonzero(np.isfinite(c))) for c in np.array_split(tiles.values, 64)), 1)
    print(f"{args.samples} samples x {n:,} genes, dim {args.dim}, {args.threads} thread(s), {dtype.name}; "
          f"tiles {t_tiles:.1f} s, {tiles.n_entries / n ** 2:.4f} of pairs nonzero, "
          f"{below:.3f} of them below x_max; peak RSS {rss_tiles / 2 ** 30:.2f} GiB", flush=True)

    # both solvers are scored by the same function: check it before timing anything
    rng = np.random.default_rng(1)
    Wt, Ct = rng.normal(size=(n, 4)) * 0.1, rng.normal(size=(n, 4)) * 0.1
    a = lowrank.weighted_loss(tiles, Wt, Ct, np.zeros(n), np.zeros(n), x_max=x_max, alpha=alpha,
                              n_threads=args.threads)
    b = lowrank._glove_loss(tiles, Wt, Ct, np.zeros(n), np.zeros(n), x_max=x_max, alpha=alpha,
                            n_threads=args.threads)
    assert abs(a - b) <= 1e-5 * abs(b), (a, b)

    closed = []                     # (n_power_iter, rows, loss seconds)
    for i, q in enumerate(powers):
        rows, t_loss = run_svd(tiles, args.dim, args.sweeps if i == 0 else 0, args.seed, args.threads,
                               x_max, alpha, q, args.repeats)
        closed.append((q, rows, t_loss))
    rss_svd = self_peak_rss()
    svd_rows = closed[0][1]
    sgd_rows = []
    if not args.svd_only:
        checkpoints = {1, 2, 3, 5, 10, 20, 30, 40, args.epochs}
        sgd_rows = run_sgd(tiles, args.dim, args.epochs, args.seed, args.threads, x_max, alpha, lr, checkpoints)

    print(f"{'solver':<6} {'q':>3} {'step':>5} {'seconds':>9} {'loss':>12}")
    for q, rows, t_loss in closed:
        for solver, step, sec, loss in rows:
            print(f"{solver:<6} {q:>3} {step:>5} {sec:>9.3f} {loss:>12.6g}"
                  + (f"   (+{t_loss:.2f} s to evaluate this loss)" if step == 0 else ""))
    for solver, step, sec, loss in sgd_rows:
        print(f"{solver:<6} {'':>3} {step:>5} {sec:>9.2f} {loss:>12.6g}")
    q0, _, t_loss0 = closed[0]
    svd_final = svd_rows[-1][3]
    row = dict(task="loss_vs_time", shape=[args.samples, n], dim=args.dim, threads=args.threads, dtype=dtype.name,
               epochs=None if args.svd_only else args.epochs, sweeps=args.sweeps, n_power_iter=q0,
               fraction_below_x_max=below, tiles_seconds=t_tiles,
               svd_seconds=svd_rows[0][2], svd_loss=svd_rows[0][3], svd_loss_eval_seconds=t_loss0,
               svd_final_loss=svd_final, svd_final_seconds=svd_rows[-1][2],
               peak_rss_bytes_after_tiles=rss_tiles, peak_rss_bytes_after_svd=rss_svd,
               closed_forms=[dict(n_power_iter=q, seconds=rows[0][2], loss=rows[0][3], loss_eval_seconds=t)
                             for q, rows, t in closed])
    if sgd_rows:
        sgd_final_t, sgd_final = sgd_rows[-1][2], sgd_rows[-1][3]
        reach = next((sec for _, _, sec, loss in svd_rows if loss <= sgd_final), None)
        ratio = sgd_final_t / reach if reach else None
        print(f"SGD {args.epochs} epochs: loss {sgd_final:.6g} in {sgd_final_t:.1f} s; svd (n_power_iter={q0}) "
              "reaches it in " + (f"{reach:.3f} s (ratio SGD/svd {ratio:.0f}x)" if reach else "never")
              + f"; svd final loss {svd_final:.6g} ({svd_final / sgd_final:.3f} of SGD's)")
        row.update(sgd_seconds=sgd_final_t, sgd_loss=sgd_final, svd_seconds_to_sgd_loss=reach, ratio=ratio)
    print(f"closed form (n_power_iter={q0}): {svd_rows[0][2]:.3f} s, loss {svd_rows[0][3]:.6g} "
          f"(+{t_loss0:.2f} s for the exact loss); peak RSS {rss_svd / 2 ** 30:.2f} GiB")
    row.update(curve=[dict(solver=s_, step=k, seconds=t, loss=l) for s_, k, t, l in svd_rows + sgd_rows],
               versions=dict(genevec=genevec.__version__, numpy=np.__version__, python=platform.python_version()),
               cpu=cpu_model(), omp_num_threads=os.environ.get("OMP_NUM_THREADS"), git_sha=git_sha())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([row], indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
