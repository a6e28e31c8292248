"""Single cells vs pseudobulk: pathway quality (genevec.evaluate) of vectors trained on real PBMC counts.

    python benchmarks/bench_pseudobulk.py --h5ad PATH/10x_pbmc68k_reduced.h5ad

The data: scanpy's bundled ``10x_pbmc68k_reduced.h5ad`` (700 PBMCs from 10x Genomics' 68k PBMC
dataset, Zheng et al. 2017, with 10 cell-type labels in ``obs["bulk_labels"]``; BSD-3 package).
Get it without installing scanpy: ``pip download --no-deps scanpy==1.11.5`` and
``unzip -j scanpy-1.11.5-py3-none-any.whl scanpy/datasets/10x_pbmc68k_reduced.h5ad``; with scanpy
installed, ``--h5ad`` may be left out. Its ``raw.X`` holds ``log1p(counts / n_counts * 1e4)`` over
765 highly variable genes, so the UMI counts are ``expm1(raw.X) * n_counts / 1e4``: the script
rounds them and refuses to go on unless every value was within 0.1 of a whole number.

For single cells and for pseudobulks of k = 5, 10, 25 and 50 cells within each cell type (and
one pseudobulk per cell type; random groups drawn with 3 seeds, mean and range), it fits ``GeneGloVe(solver="svd", max_iter=0, random_state=0)``
(dim 100, as the package default) and reports ``genevec.evaluate`` against GO-BP: neighbour
precision@10, its random expectation and pathway-pair AUROC, for the vectors and for the
Pearson-of-log1p(CPM) baseline on the same counts. Rows go to benchmarks/results/pseudobulk.json.

With ``--zarr PATH/10x-10k-subset.zarr`` (in scanpy's source distribution, ``tests/_data/``: 10,000
mouse brain cells x the first 1,000 genes of 10x Genomics' 1.3M-cell dataset, raw UMI counts, no
labels) the same is measured with random groups of k cells; mouse symbols are upper-cased to meet
the human GO-BP sets (an approximation: most one-to-one orthologs share the symbol), and genes
detected in fewer than 10 cells are dropped.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import RESULTS, environment  # noqa: E402

SIZES = [5, 10, 25, 50]


def pbmc_counts(path: Path):
    """The 700 x 765 UMI counts (AnnData, CSR in X) and the largest distance to a whole number before rounding."""
    import anndata
    import pandas as pd
    import scipy.sparse as sp

    a = anndata.read_h5ad(path)
    raw = a.raw.X.toarray() if sp.issparse(a.raw.X) else np.asarray(a.raw.X)
    scaled = np.expm1(raw.astype(np.float64)) * a.obs["n_counts"].to_numpy()[:, None] / 1e4
    counts = np.round(scaled)
    off = float(np.abs(scaled - counts).max())
    if off > 0.1:
        raise SystemExit(f"{path}: raw.X does not hold log1p(counts / n_counts * 1e4): a value is {off:.3f} "
                         "from a whole number. Is this scanpy's 10x_pbmc68k_reduced.h5ad?")
    out = anndata.AnnData(X=sp.csr_matrix(counts), obs=a.obs[["bulk_labels"]].copy(),
                          var=pd.DataFrame(index=[str(g) for g in a.raw.var_names]))
    return out, off


def brain_counts(path: Path):
    """The 10,000 x ~500 mouse brain UMI counts (genes in >= 10 cells; symbols upper-cased, first kept)."""
    import anndata
    import pandas as pd
    import scipy.sparse as sp
    import zarr

    z = zarr.open_group(str(path), mode="r")
    X = sp.csr_matrix(np.asarray(z["X"][:], dtype=np.float64))
    symbols = [row[0].decode().upper() for row in z["var"][:]]
    first = sorted({s: j for j, s in reversed(list(enumerate(symbols)))}.values())
    X = X[:, first]
    keep = np.flatnonzero(np.asarray((X > 0).sum(axis=0)).ravel() >= 10)
    return anndata.AnnData(X=X[:, keep], var=pd.DataFrame(index=[symbols[first[j]] for j in keep]))


def default_path() -> Path | None:
    spec = importlib.util.find_spec("scanpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "10x_pbmc68k_reduced.h5ad"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--h5ad", type=Path, default=default_path())
    ap.add_argument("--zarr", type=Path, default=None, help="scanpy's tests/_data/10x-10k-subset.zarr")
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=3, help="pseudobulk random_state 0 .. seeds - 1 (mean and range)")
    args = ap.parse_args()
    if args.h5ad is None or not args.h5ad.exists():
        raise SystemExit("pass --h5ad PATH/10x_pbmc68k_reduced.h5ad (see this script's docstring for how to get it)")

    import genevec
    from genevec import GeneGloVe, evaluate, pseudobulk

    adata, off = pbmc_counts(args.h5ad)
    X = adata.X
    print(f"{adata.n_obs} cells x {adata.n_vars} genes, {X.nnz / adata.n_obs:.0f} genes detected per cell, "
          f"median {np.median(np.asarray(X.sum(axis=1)).ravel()):.0f} UMIs over these genes; counts within "
          f"{off:.3g} of whole numbers before rounding", flush=True)
    seeds = range(args.seeds)
    inputs = [("PBMC", "single cells", 1, [adata])]
    for k in SIZES:
        inputs.append(("PBMC", f"pseudobulk k={k} within cell type", k,
                       [pseudobulk(adata, groupby="bulk_labels", cells_per_group=k, layer=None, random_state=r)
                        for r in seeds]))
    inputs.append(("PBMC", "pseudobulk per cell type", None,
                   [pseudobulk(adata, groupby="bulk_labels", cells_per_group=None, layer=None)]))
    if args.zarr is not None:
        brain = brain_counts(args.zarr)
        print(f"brain: {brain.n_obs} cells x {brain.n_vars} genes, {brain.X.nnz / brain.n_obs:.0f} genes per cell",
              flush=True)
        inputs.append(("brain", "single cells", 1, [brain]))
        for k in (10, 50, 200):
            inputs.append(("brain", f"pseudobulk k={k} random", k,
                           [pseudobulk(brain, cells_per_group=k, layer=None, random_state=r) for r in seeds]))
    rows = []
    for dataset, name, k, datas in inputs:
        t0 = time.perf_counter()
        found = []
        for data in datas:  # one per pseudobulk seed: the spread says how much of a difference is noise
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", genevec.exceptions.GeneVecWarning)
                model = GeneGloVe(dim=args.dim, solver="svd", max_iter=0, random_state=0).fit(data, layer=None)
            t = evaluate(model, gene_sets="go_bp", counts=data).table
            found.append((t.loc[("go_bp", "vectors")], t.loc[("go_bp", "pearson")]))
        vec, pea = found[0]
        prec = [v["precision"] for v, _ in found]
        row = dict(dataset=dataset, input=name, k=k, n_samples=int(datas[0].n_obs),
                   genes_per_sample=float(datas[0].X.nnz / datas[0].n_obs), n_genes=int(len(model.genes_)),
                   n_annotated=int(vec["n_annotated"]), seeds=len(datas),
                   precision_at_10=float(np.mean(prec)), precision_min=float(min(prec)), precision_max=float(max(prec)),
                   random=float(vec["random_precision"]), auroc=float(np.mean([v["auroc"] for v, _ in found])),
                   pearson_precision_at_10=float(np.mean([p["precision"] for _, p in found])),
                   pearson_auroc=float(np.mean([p["auroc"] for _, p in found])), seconds=time.perf_counter() - t0)
        rows.append(row)
        spread = f" [{row['precision_min']:.3f}-{row['precision_max']:.3f}]" if len(datas) > 1 else " " * 14
        print(f"{dataset:<6} {name:<34} samples {row['n_samples']:>5}  genes/sample {row['genes_per_sample']:5.0f}  "
              f"annotated {row['n_annotated']}  precision@10 {row['precision_at_10']:.3f}{spread} (random "
              f"{row['random']:.3f})  AUROC {row['auroc']:.3f}  | Pearson {row['pearson_precision_at_10']:.3f} / "
              f"{row['pearson_auroc']:.3f}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "pseudobulk.json"
    env = environment()
    out.write_text(json.dumps([{**r, "data": {"PBMC": "scanpy 10x_pbmc68k_reduced.h5ad (raw counts reconstructed)",
                                              "brain": "scanpy tests/_data/10x-10k-subset.zarr"}[r["dataset"]],
                                "estimator": f"GeneGloVe(dim={args.dim}, solver='svd', max_iter=0, random_state=0)",
                                **env} for r in rows], indent=1) + "\n")
    print(f"wrote {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
