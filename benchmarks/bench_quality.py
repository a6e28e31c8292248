"""How good are the vectors? Every method on the three real shared cohorts, measured with genevec.evaluate.

For each cohort (``../shared/data``, or ``GENEVEC_SHARED_DATA``) the genes are the 5,000 of highest
mean CPM among genes with >= 10 reads in >= 50% of samples (all 1,066 that pass in the whole-blood
file). Each method gives gene vectors; ``genevec.evaluate`` scores them against GO biological
processes (shipped), Reactome (shipped) and MSigDB Hallmark (read from the shared folder, not
shipped) with the same pairs for every method. Seed stability is the mean Jaccard index of a gene's
top-10 neighbour sets between ``random_state=0`` and ``random_state=1`` (over all genes); the mean
cosine is the average cosine of two different genes (near 1: every vector points one way). Seconds
are one fit on the machine's threads. The consensus rows also record ``bootstrap_jaccard``, the mean over
genes of ``genevec.stability``'s Jaccard between bootstrap fits of their estimator.

    python benchmarks/bench_quality.py                      # all cohorts, all methods (~15 min on 2 cores)
    python benchmarks/bench_quality.py --cohorts lcl --methods pearson default

Writes ``benchmarks/results/quality.json`` and prints the Markdown table of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import RESULTS, environment  # noqa: E402

SHARED = Path(os.environ.get("GENEVEC_SHARED_DATA") or HERE.parent.parent / "shared" / "data")
COHORTS = {
    "gtex_skin_bladder": ("GTEx v6 skin/bladder, 31 samples",
                          "gtex_v6_skin_bladder/gtex_v6_skin_bladder_gene_reads.gct.gz"),
    "lcl": ("LCL Montgomery/Pickrell, 129 samples", "lcl_montpick/montpick_gene_reads.gct.gz"),
    "whole_blood": ("GTEx v8 whole blood, 755 samples",
                    "gtex_v8_whole_blood_3000/gtex_v8_whole_blood_3000genes_gene_reads.gct.gz"),
}
HALLMARK = "genesets/h.all.v7.0.symbols.gmt"
K = 10


def cohort_counts(name: str, n_top: int = 5000):
    """The cohort's counts restricted to the benchmark genes (samples x genes DataFrame)."""
    import genevec

    X = genevec.read_counts(SHARED / COHORTS[name][1], gene_names="symbol", duplicates="sum")
    v = X.to_numpy(dtype=np.float64)
    expressed = (v >= 10).mean(axis=0) >= 0.5
    cpm = v / v.sum(axis=1, keepdims=True) * 1e6
    idx = np.flatnonzero(expressed)
    idx = idx[np.argsort(-cpm.mean(axis=0)[idx], kind="stable")[:n_top]]
    return X.iloc[:, np.sort(idx)]


# ---------------------------------------------------------------------------------------- methods
# Each method: (label, function(counts, seed) -> (genes, vectors), seeded?)

def _log_cpm(X):
    v = X.to_numpy(dtype=np.float64)
    return np.log1p(v / v.sum(axis=1, keepdims=True) * 1e6)


def m_random(X, seed):
    return list(X.columns), np.random.default_rng(seed).normal(size=(X.shape[1], 100))


def m_pearson(X, seed):
    from genevec.evaluate import pearson_vectors

    return pearson_vectors(X)


def m_pca(X, seed):
    L = _log_cpm(X).T
    L = (L - L.mean(axis=1, keepdims=True)) / np.maximum(L.std(axis=1, keepdims=True), 1e-12)
    U, S, _ = np.linalg.svd(L, full_matrices=False)
    d = min(100, U.shape[1] - 1)
    return list(X.columns), U[:, :d] * S[:d]


def _estimator(**params):
    def fit(X, seed):
        from genevec import GeneGloVe

        m = GeneGloVe(random_state=seed, **params).fit(X)
        return list(m.genes_), m.embedding_

    return fit


def _exp2vec(X, seed):
    from genevec import GeneGloVe

    m = GeneGloVe.exp2vec(random_state=seed).fit(X)
    return list(m.genes_), m.embedding_


def _closed_form_v01(X, seed):
    """The closed form as genevec 0.1 ran it: Krylov space of 2 dim in 5 blocks, the vectors W + C."""
    from genevec import _layout, lowrank
    from genevec.tcm import training_tiles

    A = X.to_numpy(dtype=np.float64)
    tiles = training_tiles(A, _layout.gene_groups(A.shape[1]), dtype=np.float32)
    W, C, _, _ = lowrank.svd_fit(tiles, 100, rng=seed, n_power_iter=4, n_oversamples=100)
    return list(X.columns), W + C


def _consensus(eigen_power):
    def fit(X, seed):
        from genevec import GeneGloVe, stability

        s = stability(X, GeneGloVe(eigen_power=eigen_power), n_resamples=20, random_state=seed)
        return s.genes, s.consensus_vectors.vectors, {"bootstrap_jaccard": round(float(s.jaccard.mean()), 3)}

    return fit


def _sgd_start(start):
    """SGD (50 epochs, vectors as trained) from a start GeneGloVe does not offer: the diagnosis of the study's
    noise. ``start``: 'scaled' (vectors / dim, text2vec's random biases), 'unscaled_centred' (text2vec's
    vectors, centred biases), 'scaled_mean' (vectors / dim, both biases at half the grand mean of log T)."""
    def fit(X, seed):
        from genevec import _layout, glove, lowrank
        from genevec.tcm import training_tiles

        A = X.to_numpy(dtype=np.float64)
        tiles = training_tiles(A, _layout.gene_groups(A.shape[1]), dtype=np.float32)
        rng = np.random.default_rng(seed)
        params = glove.init_params(A.shape[1], 100, np.float32, rng, scale=1.0 if start == "unscaled_centred"
                                   else 0.01)
        if start in ("unscaled_centred", "scaled_mean"):
            b = lowrank.centred_biases(tiles)
            if start == "scaled_mean":
                sums, counts = np.empty(A.shape[1]), np.empty(A.shape[1], dtype=np.int64)
                lowrank._kernels().tiles_row_sums(tiles.values, tiles.tile_ptr, tiles.group_bounds, sums, counts, 1)
                b = np.full(A.shape[1], sums.sum() / counts.sum() / 2)
            params.bw[...] = params.bc[...] = b
        glove.fit_glove(tiles, params, max_iter=50, rng=rng, n_threads=os.cpu_count() or 1)
        return list(X.columns), params.W + params.C

    return fit


def _cpm_input(X, seed):
    """The default estimator on counts scaled to the median library size (co-occurrence of CPM-like counts)."""
    from genevec import GeneGloVe

    v = X.to_numpy(dtype=np.float64)
    lib = v.sum(axis=1, keepdims=True)
    scaled = X.copy().astype(np.float64)
    scaled[:] = v / lib * np.median(lib)
    m = GeneGloVe(random_state=seed, allow_non_integer=True).fit(scaled)
    return list(m.genes_), m.embedding_


def _drop_first(X, seed):
    """Whitened closed form without its first direction (the tissue/batch axis), an idea that did not win."""
    from genevec import GeneGloVe

    m = GeneGloVe(eigen_power=None, random_state=seed).fit(X)  # the trained vectors: directions by weight
    U, S, _ = np.linalg.svd(m.embedding_.astype(np.float64), full_matrices=False)
    keep = S > S[0] * max(U.shape) * np.finfo(np.float32).eps
    return list(m.genes_), U[:, keep][:, 1:]


def _negative_power(X, seed):
    """The closed form with the eigenvalue weight -0.25 (the small directions outweigh the large)."""
    from genevec import GeneGloVe

    m = GeneGloVe(eigen_power=None, random_state=seed).fit(X)
    U, S, Vt = np.linalg.svd(m.embedding_.astype(np.float64), full_matrices=False)
    keep = S > S[0] * max(U.shape) * np.finfo(np.float32).eps
    return list(m.genes_), U[:, keep] * (S[keep] / S[0]) ** -0.5


METHODS = {
    "random": ("random vectors (dim 100)", m_random),
    "pearson": ("Pearson r of log1p(CPM)", m_pearson),
    "pca": ("PCA of standardised log1p(CPM), 100 PCs", m_pca),
    "exp2vec": ("the study's settings: GeneGloVe.exp2vec() (0.1 default)", _exp2vec),
    "svd_v01": ("closed form as in 0.1 (W + C, k = 2 dim, 5 blocks)", _closed_form_v01),
    "svd_raw": ("GeneGloVe(eigen_power=None): closed form, W + C", _estimator(eigen_power=None)),
    "sgd_raw": ("GeneGloVe(solver='sgd', eigen_power=None)", _estimator(solver="sgd", eigen_power=None)),
    "sgd": ("GeneGloVe(solver='sgd'): centred start, eigen_power 0.25", _estimator(solver="sgd")),
    "default": ("GeneGloVe() default: closed form, eigen_power 0.25", _estimator()),
    "whiten": ("GeneGloVe(eigen_power=0): whitened", _estimator(eigen_power=0.0)),
    "dim50": ("GeneGloVe(dim=50)", _estimator(dim=50)),
    "dim200": ("GeneGloVe(dim=200)", _estimator(dim=200)),
    "consensus": ("consensus of 20 bootstrap fits, eigen_power 0 (stability().consensus_vectors)",
                  _consensus(0.0)),
    "consensus25": ("consensus of 20 bootstrap fits, eigen_power 0.25", _consensus(0.25)),
    # tried, not adopted
    "cpm_input": ("GeneGloVe() on counts scaled to the median library size", _cpm_input),
    "drop_first": ("whitened closed form without its first direction", _drop_first),
    "neg_power": ("closed form, eigenvalue weight -0.25", _negative_power),
    # the diagnosis of the study's noise (SGD 50 epochs, vectors as trained, starts GeneGloVe does not offer)
    "sgd_scaled": ("SGD from Stanford's start: vectors / dim, random biases", _sgd_start("scaled")),
    "sgd_unscaled_centred": ("SGD: text2vec's vectors, centred biases", _sgd_start("unscaled_centred")),
    "sgd_scaled_mean": ("SGD: vectors / dim, biases at the grand mean only", _sgd_start("scaled_mean")),
}
#: What a plain run measures; the rest with --methods (see RESULTS.md for the commands).
DEFAULT_METHODS = ["random", "pearson", "pca", "exp2vec", "svd_v01", "svd_raw", "sgd_raw", "sgd", "default",
                   "whiten", "dim50", "dim200", "consensus", "consensus25"]
#: Ideas that did not win, run apart: --methods cpm_input drop_first neg_power
SEEDLESS = {"pearson", "pca"}


def jaccard(genes_a, V_a, genes_b, V_b) -> float:
    """Mean Jaccard index of the top-10 neighbour sets of the genes both vector sets hold."""
    from genevec.evaluate import neighbour_indices
    from genevec.postprocess import unit_rows

    common = sorted(set(genes_a) & set(genes_b))
    ia = {g: i for i, g in enumerate(genes_a)}
    ib = {g: i for i, g in enumerate(genes_b)}
    na = neighbour_indices(unit_rows(V_a[[ia[g] for g in common]]), K)
    nb = neighbour_indices(unit_rows(V_b[[ib[g] for g in common]]), K)
    return float(np.mean([len(set(a) & set(b)) / len(set(a) | set(b)) for a, b in zip(na, nb)]))


def run(cohorts, methods) -> list[dict]:
    from genevec import evaluate

    rows = []
    gene_sets = ["go_bp", "reactome", str(SHARED / HALLMARK)]
    for cohort in cohorts:
        X = cohort_counts(cohort)
        print(f"== {cohort}: {X.shape[0]} samples x {X.shape[1]} genes", file=sys.stderr, flush=True)
        for key in methods:
            label, fn = METHODS[key]
            t0 = time.perf_counter()
            genes, V, *extra = fn(X, 0)
            seconds = time.perf_counter() - t0
            report = evaluate((genes, V), gene_sets=gene_sets, k=K, random_state=0)
            row = {"cohort": cohort, "method": key, "label": label, "seconds": round(seconds, 2),
                   "n_genes": len(genes), **(extra[0] if extra else {})}
            for (coll, _), r in report.table.iterrows():
                short = {"go_bp": "go", "reactome": "reactome"}.get(coll, "hallmark")
                row[f"{short}_p10"] = round(float(r["precision"]), 4)
                row[f"{short}_random"] = round(float(r["random_precision"]), 4)
                row[f"{short}_auroc"] = round(float(r["auroc"]), 4)
                row[f"{short}_n_annotated"] = int(r["n_annotated"])
            U = V / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-300)
            n = U.shape[0]
            row["mean_cosine"] = round(float((np.square(U.sum(axis=0)).sum() - n) / (n * (n - 1))), 3)
            if key not in SEEDLESS:
                genes1, V1, *_ = fn(X, 1)
                row["seed_jaccard"] = round(jaccard(genes, V, genes1, V1), 3)
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
    return rows


def markdown(rows) -> str:
    head = ("| cohort | method | GO p@10 (random) | GO AUROC | Reactome p@10 (random) | Reactome AUROC | "
            "Hallmark p@10 (random) | Hallmark AUROC | seed Jaccard@10 | seconds |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        lines.append(
            f"| {COHORTS[r['cohort']][0]} | {r['label']} | {r['go_p10']:.3f} ({r['go_random']:.3f}) | "
            f"{r['go_auroc']:.3f} | {r['reactome_p10']:.3f} ({r['reactome_random']:.3f}) | {r['reactome_auroc']:.3f} | "
            f"{r['hallmark_p10']:.3f} ({r['hallmark_random']:.3f}) | {r['hallmark_auroc']:.3f} | "
            f"{r['seed_jaccard'] if 'seed_jaccard' in r else 'deterministic'} | {r['seconds']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cohorts", nargs="+", choices=list(COHORTS), default=list(COHORTS))
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=DEFAULT_METHODS)
    parser.add_argument("--output", default=str(RESULTS / "quality.json"))
    args = parser.parse_args(argv)
    rows = run(args.cohorts, args.methods)
    command = " ".join(["python", "benchmarks/bench_quality.py", *(sys.argv[1:] if argv is None else argv)])
    with open(args.output, "w") as fh:
        json.dump({"command": command, "environment": environment(), "rows": rows}, fh, indent=1)
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
