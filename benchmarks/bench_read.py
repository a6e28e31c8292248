"""Reading one tissue from a full-width GTEx-like GCT: genevec's streaming reader vs pandas.read_csv.

The file has every GTEx v8 sample column (17,382) and ``--genes`` genes (seeded, GTEx-like counts
from ``_generate.py``); a fake attributes file assigns ``--tissue-samples`` of them to "Pancreas".

Contenders, each run in a fresh subprocess so peak RSS (``ru_maxrss``) is its own:

- ``genevec``: ``read_counts(gct, attributes=..., tissue="Pancreas")``: parses only the tissue's columns.
- ``pandas``: ``pandas.read_csv`` of the whole file (the usual way), then the tissue's columns, transposed.

The answers are compared (shape, labels and a hash of the values) before any number is reported.
Peak RSS (VmHWM) is reported as measured and as the increase over the process after its imports.

Usage::

    python benchmarks/bench_read.py                 # 17,382 samples x 5,000 genes, 1 repeat (~1.5 min,
                                                    # plus ~2 min the first time to generate the data)
    python benchmarks/bench_read.py --genes 1000 --repeats 1     # quick look

Generated files go to ``benchmarks/_data/`` (gitignored) and are reused; results to
``benchmarks/results/read.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _harness import cpu_model, git_sha, self_peak_rss  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
RESULTS = HERE / "results"
GTEX_V8_SAMPLES = 17382
TISSUE = "Pancreas"
OTHER_TISSUES = ("Whole Blood", "Muscle", "Skin", "Lung", "Thyroid", "Nerve", "Adipose Tissue", "Artery",
                 "Brain", "Heart", "Colon", "Esophagus", "Breast", "Testis", "Stomach")


# --- data ------------------------------------------------------------------------------------

def dataset_paths(n_samples: int, n_genes: int, seed: int) -> tuple[Path, Path]:
    stem = f"bench_read_{n_samples}x{n_genes}_seed{seed}"
    return DATA / f"{stem}.gct.gz", DATA / f"{stem}_attributes.txt"


def generate(n_samples: int, n_genes: int, n_tissue: int, seed: int) -> tuple[Path, Path]:
    """Write the GCT.gz and attributes once (seeded); later runs reuse them."""
    gct, attrs = dataset_paths(n_samples, n_genes, seed)
    if gct.exists() and attrs.exists():
        return gct, attrs
    sys.path.insert(0, str(HERE))
    from _generate import gtex_like_counts

    DATA.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed + 1)
    samples = [f"GTEX-{i // 20:05X}-{i % 20:04d}-SM-{i:06X}" for i in range(n_samples)]
    tissue_of = np.array(OTHER_TISSUES, dtype=object)[rng.integers(0, len(OTHER_TISSUES), n_samples)]
    tissue_of[rng.choice(n_samples, size=n_tissue, replace=False)] = TISSUE
    tmp = attrs.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        fh.write("SAMPID\tSMTS\tSMTSD\n")
        for s, t in zip(samples, tissue_of):
            fh.write(f"{s}\t{t}\t{t}\n")
    tmp.replace(attrs)

    counts = gtex_like_counts(n_samples=n_samples, n_genes=n_genes, seed=seed, dtype=np.int32)  # samples x genes
    tmp = gct.with_suffix(".tmp")
    with gzip.open(tmp, "wt", compresslevel=1, newline="\n") as fh:
        fh.write(f"#1.2\n{n_genes}\t{n_samples}\n")
        fh.write("Name\tDescription\t" + "\t".join(samples) + "\n")
        for g in range(n_genes):
            fh.write(f"ENSG{g:011d}.1\tGENE{g}\t" + "\t".join(map(str, counts[:, g].tolist())) + "\n")
    del counts
    tmp.replace(gct)
    print(f"generated {gct.name} ({gct.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    return gct, attrs


# --- workers (run in a fresh process) --------------------------------------------------------

def worker(which: str, gct: str, attrs: str) -> dict:
    import hashlib

    import pandas as pd

    import genevec.io  # noqa: F401  (imports are not timed)

    base = self_peak_rss()
    t0 = time.perf_counter()
    if which == "genevec":
        import warnings

        import genevec

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = genevec.read_counts(gct, attributes=attrs, tissue=TISSUE)
        values, samples, genes = df.to_numpy(), list(df.index), list(df.columns)
    else:
        a = pd.read_csv(attrs, sep="\t", index_col="SAMPID")
        wanted = set(a.index[a["SMTS"] == TISSUE])
        table = pd.read_csv(gct, sep="\t", skiprows=2, index_col=0)
        cols = [c for c in table.columns[1:] if c in wanted]
        sub = table[cols].T
        sub.columns = table["Description"].to_numpy()
        values, samples, genes = np.ascontiguousarray(sub.to_numpy(dtype=np.int64)), list(sub.index), list(sub.columns)
        del table
    seconds = time.perf_counter() - t0
    digest = hashlib.sha256(np.ascontiguousarray(values, dtype=np.int64).tobytes()).hexdigest()
    label_digest = hashlib.sha256(("\n".join(samples) + "|" + "\n".join(genes)).encode()).hexdigest()
    return {"seconds": seconds, "peak_rss": self_peak_rss(), "rss_after_imports": base,
            "shape": list(values.shape), "values_sha256": digest, "labels_sha256": label_digest}


def run_worker(which: str, gct: Path, attrs: Path) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--worker", which, "--gct", str(gct), "--attrs", str(attrs)],
                         check=True, capture_output=True, text=True, env=env, cwd=str(HERE.parent))
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- main ------------------------------------------------------------------------------------





def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genes", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=GTEX_V8_SAMPLES)
    parser.add_argument("--tissue-samples", type=int, default=328)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="fresh processes per contender (min time kept)")
    parser.add_argument("--out", type=Path, default=RESULTS / "read.json")
    parser.add_argument("--worker", choices=["genevec", "pandas"], help=argparse.SUPPRESS)
    parser.add_argument("--gct", help=argparse.SUPPRESS)
    parser.add_argument("--attrs", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.gct, args.attrs)))
        return 0

    gct, attrs = generate(args.samples, args.genes, args.tissue_samples, args.seed)
    runs: dict[str, list[dict]] = {"genevec": [], "pandas": []}
    for _ in range(args.repeats):  # alternate, so machine load hits both alike
        for which in runs:
            runs[which].append(run_worker(which, gct, attrs))
    g, p = runs["genevec"], runs["pandas"]
    for key in ("shape", "values_sha256", "labels_sha256"):
        seen = {json.dumps(r[key]) for r in g + p}
        if len(seen) != 1:
            raise SystemExit(f"contenders disagree on {key}: {seen}; no timing reported")

    def summary(rs):
        return {"seconds": min(r["seconds"] for r in rs), "peak_rss_mb": min(r["peak_rss"] for r in rs) / 1e6,
                "rss_increase_mb": min(r["peak_rss"] - r["rss_after_imports"] for r in rs) / 1e6,
                "all_seconds": [round(r["seconds"], 3) for r in rs]}

    sg, sp_ = summary(g), summary(p)
    import pandas as pd

    import genevec

    row = {
        "task": f"read one tissue ({args.tissue_samples} samples) of a GCT.gz with {args.samples:,} samples x "
                f"{args.genes:,} genes",
        "file": gct.name, "file_mb": round(gct.stat().st_size / 1e6, 1),
        "result_shape": g[0]["shape"], "repeats": args.repeats, "threads": 1,
        "genevec": sg, "pandas_read_csv": sp_,
        "ratio_seconds": sp_["seconds"] / sg["seconds"],
        "ratio_peak_rss": sp_["peak_rss_mb"] / sg["peak_rss_mb"],
        "ratio_rss_increase": sp_["rss_increase_mb"] / max(sg["rss_increase_mb"], 1.0),
        "versions": {"genevec": genevec.__version__, "pandas": pd.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "cpu": cpu_model(), "git_sha": git_sha(),
    }
    print(f"\n{row['task']}  ({row['file_mb']} MB gz, result {row['result_shape'][0]} x {row['result_shape'][1]}, "
          f"answers agree)")
    print(f"{'contender':<28}{'seconds':>10}{'peak RSS MB':>14}{'RSS increase MB':>18}")
    print(f"{'genevec.read_counts(tissue)':<28}{sg['seconds']:>10.2f}{sg['peak_rss_mb']:>14.0f}"
          f"{sg['rss_increase_mb']:>18.0f}")
    print(f"{'pandas.read_csv + select':<28}{sp_['seconds']:>10.2f}{sp_['peak_rss_mb']:>14.0f}"
          f"{sp_['rss_increase_mb']:>18.0f}")
    print(f"{'ratio pandas / genevec':<28}{row['ratio_seconds']:>10.2f}{row['ratio_peak_rss']:>14.2f}"
          f"{row['ratio_rss_increase']:>18.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([row], indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
