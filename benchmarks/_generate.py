"""Seeded generator of GTEx-like read counts (samples x genes) for benchmarks.

Negative binomial counts with per-gene means spread over seven orders of magnitude, a block of
barely expressed genes, and per-sample library-size factors. At the pancreas shape
(328 x 25,321) its quantiles are close to the real pancreas ones: 25% ~ 1, median ~ 100,
75% ~ 900, max ~ 1e7 (printed by ``python benchmarks/_generate.py``).
"""

from __future__ import annotations

import time

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


#: Two ASCII digits of 0-99, as one uint16 each (byte order of the machine), for :func:`format_rows`.
_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), dtype=np.uint16)


def format_rows(prefixes, counts: np.ndarray) -> str:
    """Tab-separated text of non-negative integer ``counts`` (rows x columns), one line per row after its prefix.

    Exactly ``prefix + "\\t".join(map(str, row)) + "\\n"`` per row, without a Python ``str`` per value:
    each count's digits are written right-aligned into a fixed-width byte array two at a time (a
    0-99 table), then the leading zeros are masked out.

    >>> format_rows(["a\\t", "b\\t"], np.array([[0, 7, 10], [123, 4567, 99]]))
    'a\\t0\\t7\\t10\\nb\\t123\\t4567\\t99\\n'
    """
    counts = np.asarray(counts)
    rows, n = counts.shape
    if counts.size == 0:
        return "".join(p + "\n" for p in prefixes)
    if counts.min() < 0:
        raise ValueError("format_rows writes non-negative counts only")
    top = int(counts.max())
    v = counts.astype(np.uint32 if top < 2**32 else np.uint64)
    digits = np.ones(v.shape, dtype=np.uint8)
    bound = 10
    while bound <= top:
        digits += v >= bound
        bound *= 10
    width = len(str(top))
    width += width % 2                                  # digit slots, filled two at a time
    # each value: `width` digit slots, then a tab (a newline after a row's last value), then one pad byte
    buf = np.empty((rows, n, width + 2), dtype=np.uint8)
    two = buf.view(np.uint16)                           # (rows, n, width // 2 + 1)
    for slot in range(width // 2 - 1, -1, -1):
        np.take(_PAIRS, v % 100, out=two[:, :, slot])
        v //= 100
    buf[:, :, width] = ord("\t")
    buf[:, -1, width] = ord("\n")
    keep = np.arange(width + 2, dtype=np.uint8) >= (width - digits)[:, :, None]
    keep[:, :, width + 1] = False
    text = buf[keep].tobytes().decode("ascii")        # row after row, the padding dropped
    ends = np.cumsum(digits.sum(axis=1, dtype=np.int64) + n)
    starts = np.concatenate(([0], ends[:-1]))
    return "".join(p + text[a:b] for p, a, b in zip(prefixes, starts, ends))


#: GTEx v8's 54 detailed tissues (SMTSD) and their RNA-seq sample counts, as the GTEx portal lists them;
#: Muscle takes the rounding so that they add up to v8's 17,382 samples.
GTEX_V8_TISSUES = {
    "Muscle - Skeletal": 803, "Whole Blood": 755, "Skin - Sun Exposed (Lower leg)": 701,
    "Adipose - Subcutaneous": 663, "Artery - Tibial": 663, "Thyroid": 653, "Nerve - Tibial": 619,
    "Skin - Not Sun Exposed (Suprapubic)": 604, "Lung": 578, "Esophagus - Mucosa": 555,
    "Adipose - Visceral (Omentum)": 541, "Esophagus - Muscularis": 515, "Cells - Cultured fibroblasts": 504,
    "Breast - Mammary Tissue": 459, "Artery - Aorta": 432, "Heart - Left Ventricle": 432,
    "Heart - Atrial Appendage": 429, "Colon - Transverse": 406, "Esophagus - Gastroesophageal Junction": 375,
    "Colon - Sigmoid": 373, "Testis": 361, "Stomach": 359, "Pancreas": 328, "Pituitary": 283,
    "Adrenal Gland": 258, "Brain - Cortex": 255, "Brain - Caudate (basal ganglia)": 246,
    "Brain - Nucleus accumbens (basal ganglia)": 246, "Prostate": 245, "Brain - Cerebellum": 241, "Spleen": 241,
    "Artery - Coronary": 240, "Liver": 226, "Brain - Cerebellar Hemisphere": 215, "Brain - Frontal Cortex (BA9)": 209,
    "Brain - Putamen (basal ganglia)": 205, "Brain - Hypothalamus": 202, "Brain - Hippocampus": 197,
    "Small Intestine - Terminal Ileum": 187, "Ovary": 180, "Brain - Anterior cingulate cortex (BA24)": 176,
    "Cells - EBV-transformed lymphocytes": 174, "Minor Salivary Gland": 162, "Brain - Spinal cord (cervical c-1)": 159,
    "Vagina": 156, "Brain - Amygdala": 152, "Uterus": 142, "Brain - Substantia nigra": 139, "Kidney - Cortex": 85,
    "Bladder": 21, "Cervix - Endocervix": 10, "Cervix - Ectocervix": 9, "Fallopian Tube": 9, "Kidney - Medulla": 4,
}
GTEX_V8_SHAPE = (56200, 17382)


class _Writer:
    """Write text to ``fh`` from a background thread, at most two blocks behind; errors surface in the caller."""

    def __init__(self, fh):
        import queue
        import threading

        self._fh, self._queue, self._error = fh, queue.Queue(maxsize=2), None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while (text := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._fh.write(text)
                except BaseException as exc:  # noqa: BLE001 (re-raised in the caller)
                    self._error = exc

    def write(self, text: str) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(text)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and exc[0] is None:
            raise self._error


def write_gtex_v8_like(gct, attributes, *, n_genes: int = GTEX_V8_SHAPE[0], seed: int = 0, block: int = 400,
                       progress=None) -> dict:
    """Write a GTEx-v8-shaped gene-reads GCT.gz (genes x 17,382 samples in 54 tissues) and its attributes file.

    Each gene has a base mean as in :func:`gtex_like_counts` and a breadth: 21% are on in every tissue,
    17% in a random 70% of the tissues, 30% in 1-3 tissues (elsewhere at 1/5000 of their mean), 32%
    barely expressed anywhere. At the default filter (>= 10 reads in >= 50% of a tissue's samples) a
    tissue expresses 17,949-18,260 genes and the 50 tissues of 20 or more samples share 11,283 (seed 0,
    all genes); the real GTEx v6 skin, fibroblasts and bladder of
    ``shared/data`` express 18,500-21,600 each and share 17,200. Samples carry a library-size factor and
    the log-normal activity of 20 gene modules (half of the genes belong to one), so genes co-vary as
    real ones do. The broadest genes are named by the HGNC symbols of the shipped gene sets (in GTEx the
    genes expressed everywhere are mostly annotated protein-coding genes, which sets the cost of the
    quality reports), the rest by made-up Ensembl IDs. Counts are negative binomial (dispersion 0.05 +
    1/mean, drawn as Poisson of a gamma). Written a block of genes at a time, the text formatted by
    :func:`format_rows` and compressed (gzip level 1) in a thread; memory: a few blocks of ``block`` x
    17,382 counts. The same ``seed`` writes the same file. Returns a summary dict.
    """
    import gzip

    from genevec.genesets import load_gene_sets

    rng = np.random.default_rng(seed)
    names = list(GTEX_V8_TISSUES)
    sizes = np.array([GTEX_V8_TISSUES[t] for t in names])
    sizes[0] += GTEX_V8_SHAPE[1] - sizes.sum()
    n_samples = int(sizes.sum())
    tissue_of = np.repeat(np.arange(len(names)), sizes)
    tissue_of = tissue_of[rng.permutation(n_samples)]           # GTEx columns are not grouped by tissue
    samples = [f"GTEX-{i // 30:05X}-{i % 30:04d}-SM-{i:06X}" for i in range(n_samples)]
    with open(attributes, "w") as fh:
        fh.write("SAMPID\tSMTS\tSMTSD\n")
        for s, t in zip(samples, tissue_of):
            fh.write(f"{s}\t{names[t].split(' - ')[0]}\t{names[t]}\n")

    symbols = sorted(g for g in load_gene_sets("go_bp").genes() | load_gene_sets("reactome").genes()
                     if g and not any(c.isspace() for c in g))[:n_genes]  # not Reactome's "5S rRNA" & co.
    breadth = rng.random(n_genes)
    labels = [f"ENSG{90000000000 + g:011d}" for g in range(n_genes)]
    for g, symbol in zip(np.argsort(breadth, kind="stable"), symbols):  # the broadest genes get the symbols
        labels[g] = symbol
    low = breadth >= 0.68
    log10_mu = np.minimum(np.where(low, rng.uniform(-1.5, 0.3, n_genes), rng.normal(2.55, 1.05, n_genes)), 6.3)
    on = np.ones((n_genes, len(names)), dtype=bool)
    regional = (breadth >= 0.21) & (breadth < 0.38)
    on[regional] = rng.random((int(regional.sum()), len(names))) < 0.7
    specific = (breadth >= 0.38) & (breadth < 0.68)
    on[specific] = False
    for g in np.flatnonzero(specific):
        on[g, rng.choice(len(names), size=rng.integers(1, 4), replace=False)] = True
    module = np.where(rng.random(n_genes) < 0.5, rng.integers(0, 20, n_genes), -1)
    size_factor = rng.lognormal(0.0, 0.35, n_samples)
    activity = np.exp(rng.normal(0.0, 0.5, (n_samples, 21)))
    activity[:, 20] = 1.0                                       # genes outside modules
    t0 = time.perf_counter()
    with gzip.open(gct, "wt", compresslevel=1, newline="\n") as fh:
        fh.write(f"#1.2\n{n_genes}\t{n_samples}\n")
        fh.write("Name\tDescription\t" + "\t".join(samples) + "\n")
        with _Writer(fh) as out:                                # gzip in a thread (zlib releases the GIL)
            for g0 in range(0, n_genes, block):
                g1 = min(n_genes, g0 + block)
                mu = 10.0 ** log10_mu[g0:g1, None] * np.where(on[g0:g1], 1.0, 0.0002)[:, tissue_of]
                mu *= size_factor[None, :] * activity[:, module[g0:g1]].T
                r = 1.0 / (0.05 + 1.0 / (1.0 + mu))
                counts = rng.poisson(rng.gamma(r, mu / r))      # negative binomial, mean mu, var mu + mu^2 / r
                out.write(format_rows([f"ENSG{g:011d}.1\t{labels[g]}\t" for g in range(g0, g1)], counts))
                if progress is not None:
                    progress(g1, time.perf_counter() - t0)
    return {"genes": n_genes, "samples": n_samples, "tissues": len(names), "symbols": len(symbols),
            "seconds": round(time.perf_counter() - t0, 1)}
