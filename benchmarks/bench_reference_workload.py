"""The full reference workload once: GTEx-like pancreas shape, the study's parameters, both solvers.

Each solver runs in a fresh subprocess so that its peak RSS (VmHWM) is its own. The wall time
includes building the co-occurrence tiles; ``tcm_s`` and ``solver_s`` split it by phase (from the
verbose lines: SGD's epochs, or the closed form with its one exact-loss evaluation). Both report the exact GloVe loss of their final vectors
(``GeneGloVe.loss_``), so the solvers are compared on one number.

    python benchmarks/bench_reference_workload.py                   # 328 x 25,321, dim 100, 50 epochs, 2 threads
    python benchmarks/bench_reference_workload.py --genes 5000      # a smaller rehearsal
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from _harness import HERE, RESULTS, environment  # noqa: F401  (environment: versions, CPU, git SHA)

CHILD = r"""
import contextlib, hashlib, io, json, re, sys, time
import numpy as np
sys.path.insert(0, {here!r})
from _generate import gtex_like_counts
from genevec import GeneGloVe

class Tee(io.StringIO):
    def write(self, s):
        sys.__stderr__.write(s)
        sys.__stderr__.flush()
        return super().write(s)

X = gtex_like_counts({samples}, {genes}, seed=0)
kw = json.loads({params!r})
log = Tee()
t0 = time.perf_counter()
with contextlib.redirect_stderr(log):
    model = GeneGloVe(random_state=0, n_jobs={threads}, verbose=2, **kw).fit(X)
wall = time.perf_counter() - t0
with open("/proc/self/status") as fh:
    hwm = [int(l.split()[1]) for l in fh if l.startswith("VmHWM")][0] * 1024
text = log.getvalue()
# phase times from the verbose lines: the co-occurrence build, and the solver itself (SGD: the sum of its
# epochs; svd: the closed form, which includes one exact-loss evaluation)
tcm = re.search(r"co-occurrence tiles: .*?, ([0-9.]+) s", text)
epochs = [float(x) for x in re.findall(r"^epoch \d+/\d+ .*?([0-9.]+) s$", text, re.M)]
closed = re.search(r"closed-form low-rank fit .*?([0-9.]+) s", text)
solver_s = sum(epochs) if epochs else (float(closed.group(1)) if closed else None)
print(json.dumps({{"wall_s": wall, "tcm_s": float(tcm.group(1)) if tcm else None, "solver_s": solver_s,
                  "peak_rss_gb": hwm / 1e9, "loss": model.loss_,
                  "n_iter": model.n_iter_, "curve_last": model.loss_curve_[-1] if model.loss_curve_ else None,
                  "embedding_sha1": hashlib.sha1(model.embedding_.tobytes()).hexdigest()[:16]}}))
"""


def run(solver_params, *, samples, genes, threads):
    code = CHILD.format(here=str(HERE), samples=samples, genes=genes, threads=threads,
                        params=json.dumps(solver_params))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    sys.stderr.write(out.stderr[-1500:])
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["subprocess_s"] = time.perf_counter() - t0
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=328)
    ap.add_argument("--genes", type=int, default=25321)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--skip-sgd", action="store_true")
    args = ap.parse_args()

    rows = []
    runs = [("svd (closed form)", {"dim": 100, "solver": "svd", "max_iter": 0})]
    if not args.skip_sgd:
        runs.append((f"sgd ({args.epochs} epochs)", {"dim": 100, "max_iter": args.epochs}))
    for name, params in runs:
        print(f"== {name}", file=sys.stderr, flush=True)
        row = run(params, samples=args.samples, genes=args.genes, threads=args.threads)
        row.update(task=f"reference workload: {name}", shape=[args.samples, args.genes, 100],
                   threads=args.threads, params=params, **environment())
        rows.append(row)
        print(json.dumps(row, indent=1), flush=True)
    if len(rows) == 2:
        svd, sgd = rows
        print(f"sgd {sgd['wall_s']:.0f} s loss {sgd['loss']:.4g}; svd {svd['wall_s']:.0f} s loss {svd['loss']:.4g}; "
              f"time ratio sgd/svd {sgd['wall_s'] / svd['wall_s']:.1f} end to end, "
              f"{sgd['solver_s'] / svd['solver_s']:.1f} solver only (co-occurrence build excluded)")
    tag = "" if args.genes == 25321 else f"_{args.genes}"
    (RESULTS / f"reference_workload{tag}.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
