"""GloVe epoch time of this checkout against an earlier revision, epochs alternating in one run.

The earlier revision is checked out with ``git worktree`` into ``benchmarks/_build/wt-<sha>`` and built
in place; each side runs in its own child process with its own copy of the data (GTEx-like counts,
``tcm.training_tiles``, float32, dim 100, the study's parameters) and a warm-up epoch. The parent then
asks them for one epoch at a time, alternating which goes first, so that both see the same machine.
Reported: every epoch time, and the ratio of the minima (and of the medians), ``old / new``.

    python benchmarks/bench_versions.py --old e56177e --genes 25321 --threads 2 --repeats 6
    python benchmarks/bench_versions.py --old 8d96e30 --solver svd --genes 5000 --threads 2 --repeats 8

``--dtype float64`` times float64 tiles and parameters (default float32). ``--solver svd`` times the
closed-form solver instead (``lowrank.fit_lowrank``: the closed form, its exact
loss and up to 2 ALS sweeps), one fit per request, alternating the same way.

The two sides train different bits when the visiting order changed between the revisions; the row
records both hashes of ``W + C`` after the warm-up epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from _harness import HERE, REPO, RESULTS, EpochChild, environment

def worktree(rev: str) -> str:
    """Check out and build ``rev`` once; return its directory."""
    sha = subprocess.run(["git", "rev-parse", rev], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    path = HERE / "_build" / f"wt-{sha[:12]}"
    if not (path / "genevec").exists():
        path.parent.mkdir(exist_ok=True)
        subprocess.run(["git", "worktree", "add", "--detach", "-f", str(path), sha], cwd=REPO, check=True,
                       capture_output=True)
    if not list((path / "genevec").glob("_glove*.so")):
        out = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=path, capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise SystemExit(f"building {rev} in {path} failed:\n{out.stderr[-3000:]}")
    return str(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="the earlier revision (any git name)")
    ap.add_argument("--genes", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=6)
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--solver", choices=("sgd", "svd"), default="sgd",
                    help="sgd: one GloVe epoch per request (default); svd: one closed-form fit")
    args = ap.parse_args()
    roots = {"old": worktree(args.old), "new": str(REPO)}
    serve = "serve_glove_epochs" if args.solver == "sgd" else "serve_svd_fits"
    kids = {name: EpochChild(args.genes, args.threads, env={**os.environ, "PYTHONPATH": root}, root=root,
                             cwd=str(HERE / "_build"), serve=serve, dtype=args.dtype)
            for name, root in roots.items()}
    hashes = {name: k.ready[0] for name, k in kids.items()}
    n_entries = int(kids["new"].ready[1])
    times: dict[str, list[float]] = {"old": [], "new": []}
    try:
        for r in range(args.repeats):
            for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
                kids[name].start()
                times[name].append(kids[name].seconds())
    finally:
        for k in kids.values():
            k.close()
    old, new = times["old"], times["new"]
    what = "epoch" if args.solver == "sgd" else "svd fit"
    what = what if args.dtype == "float32" else f"{what} ({args.dtype})"
    row = {"task": f"{what}: this checkout vs {args.old}", "shape": [328, args.genes, 100], "threads": args.threads,
           "genevec_s": min(new), "peer_s": min(old), "ratio": min(old) / min(new),
           "ratio_median": statistics.median(old) / statistics.median(new), "repeats": args.repeats,
           "genevec_all_s": new, "peer_all_s": old, "entries": n_entries, "hash_new": hashes["new"],
           "hash_old": hashes["old"], "old_revision": args.old, **environment()}
    print(f"{args.genes:,} genes, {args.threads} thread(s): old {min(old):.2f} s, new {min(new):.2f} s per {what} "
          f"(minima of {args.repeats}); old / new = {row['ratio']:.3f} (medians {row['ratio_median']:.3f}); "
          f"{n_entries / min(new) / 1e6:.1f} M entries/s new", flush=True)
    path = RESULTS / "versions.json"
    rows = json.loads(path.read_text()) if path.exists() else []
    key = (row["task"], tuple(row["shape"]), row["threads"])
    rows = [r for r in rows if (r["task"], tuple(r["shape"]), r["threads"]) != key] + [row]
    path.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
