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
