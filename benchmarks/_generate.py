"""Seeded generator of GTEx-like read counts (samples x genes) for benchmarks.

Negative binomial counts with per-gene means spread over seven orders of magnitude, a block of
barely expressed genes, and per-sample library-size factors. At the pancreas shape
(328 x 25,321) its quantiles are close to the real pancreas ones: 25% ~ 1, median ~ 100,
75% ~ 900, max ~ 1e7 (printed by ``python benchmarks/_generate.py``).
"""

from __future__ import annotations

import numpy as np

PANCREAS_SHAPE = (328, 25321)


def gtex_like_counts(n_samples: int = 328, n_genes: int = 25321, seed: int = 0, dtype=np.int64) -> np.ndarray:
    """Return a C-contiguous ``(n_samples, n_genes)`` array of integer counts."""
    rng = np.random.default_rng(seed)
    low = rng.random(n_genes) < 0.27                      # barely expressed genes
    log10_mu = np.where(low, rng.uniform(-1.5, 0.3, n_genes), rng.normal(2.55, 1.05, n_genes))
    log10_mu = np.minimum(log10_mu, 6.3)
    mu = 10.0 ** log10_mu
    size_factor = rng.lognormal(0.0, 0.35, n_samples)
    dispersion = 0.05 + 1.0 / (1.0 + mu)                  # NB: var = mu + dispersion * mu^2
    r = 1.0 / dispersion
    out = np.empty((n_samples, n_genes), dtype=dtype)
    for s in range(n_samples):
        m = mu * size_factor[s]
        p = r / (r + m)
        out[s] = rng.negative_binomial(r, p)
    return out


if __name__ == "__main__":
    X = gtex_like_counts()
    q = np.quantile(X, [0.25, 0.5, 0.75])
    print(f"shape {X.shape}  25% {q[0]:.0f}  median {q[1]:.0f}  75% {q[2]:.0f}  max {X.max():.3g}  "
          f"all-zero genes {(X.sum(0) == 0).sum()}")


def write_atlas_h5ad(path, n_cells: int = 200_000, n_genes: int = 20_000, per_cell: int = 1_500, seed: int = 0,
                     block: int = 2_000) -> int:
    """Write a single-cell-like ``.h5ad`` (counts in ``layers["counts"]``, CSR, no ``X``) a block at a time.

    Cell ``s`` detects gene ``j`` with probability ``min(1, c_s w_j)``: gene weights ``w`` log-normal
    (sd 1), cell factors ``c`` log-normal (sd 0.3), scaled so that a cell detects ``per_cell`` genes
    on average; a detected gene has ``1 + Poisson(3 w_j / mean(w))`` UMIs. Every gene is detected
    somewhere. Memory: one block of ``block x n_genes`` uniforms. Returns the number of nonzeros.
    """
    import h5py
    import pandas as pd
    from anndata.io import write_elem

    rng = np.random.default_rng(seed)
    w = rng.lognormal(0.0, 1.0, n_genes)
    w = np.minimum(w / w.mean() * per_cell / n_genes, 0.9)
    c = rng.lognormal(0.0, 0.3, n_cells)
    c /= c.mean()
    lam = 3.0 * w / w.mean()
    with h5py.File(path, "w") as f:
        f.attrs["encoding-type"] = "anndata"
        f.attrs["encoding-version"] = "0.1.0"
        write_elem(f, "obs", pd.DataFrame(index=[f"cell{i}" for i in range(n_cells)]))
        write_elem(f, "var", pd.DataFrame(index=[f"gene{j}" for j in range(n_genes)]))
        for name in ("obsm", "varm", "obsp", "varp", "uns"):
            write_elem(f, name, {})
        g = f.create_group("layers").create_group("counts")
        g.attrs["encoding-type"] = "csr_matrix"
        g.attrs["encoding-version"] = "0.1.0"
        g.attrs["shape"] = np.array([n_cells, n_genes])
        data = g.create_dataset("data", shape=(0,), maxshape=(None,), dtype=np.float32, chunks=(2**20,))
        indices = g.create_dataset("indices", shape=(0,), maxshape=(None,), dtype=np.int32, chunks=(2**20,))
        indptr = np.zeros(n_cells + 1, dtype=np.int64)
        nnz = 0
        for s0 in range(0, n_cells, block):
            s1 = min(n_cells, s0 + block)
            hit = rng.random((s1 - s0, n_genes)) < np.minimum(1.0, c[s0:s1, None] * w[None, :])
            rows, cols = np.nonzero(hit)
            vals = 1.0 + rng.poisson(lam[cols]).astype(np.float32)
            n = rows.shape[0]
            data.resize((nnz + n,))
            indices.resize((nnz + n,))
            data[nnz:nnz + n] = vals
            indices[nnz:nnz + n] = cols
            indptr[s0 + 1:s1 + 1] = nnz + np.cumsum(np.bincount(rows, minlength=s1 - s0))
            nnz += n
        g.create_dataset("indptr", data=indptr)
    return nnz
