"""Small real datasets shipped inside genevec, for examples, tests and the ``genevec demo`` command.

The demo data are real GTEx read counts: 31 samples (20 Skin, 11 Bladder) x 36,652 gene symbols,
from the Bioconductor package yarn (Artistic-2.0). Source, commit, licence and checksums are in
``genevec/datasets/PROVENANCE.md``. Files are read with :mod:`importlib.resources`, so they work
from an installed wheel; nothing is cached on disk.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

__all__ = ["load_demo", "demo_paths", "QUERY_GENES", "DEMO_COUNTS", "DEMO_ATTRIBUTES"]

QUERY_GENES = ("EGFR", "TP53", "PTEN", "KRAS", "BRCA1", "BRCA2")
"""The query genes of the exp2vec study, always kept by ``load_demo(n_genes=...)``."""

DEMO_COUNTS = "gtex_v6_skin_bladder_gene_reads.gct.gz"
DEMO_ATTRIBUTES = "gtex_v6_skin_bladder_sample_attributes.txt"


def _data_file(name: str):
    return resources.files(__name__).joinpath("data", name)


def demo_paths() -> tuple[Path, Path]:
    """The embedded demo's GCT counts file and its sample attributes file, for readers that take paths.

    Returns
    -------
    counts, attributes : Path
        ``gtex_v6_skin_bladder_gene_reads.gct.gz`` (31 samples) and its SampleAttributesDS-style table.

    Examples
    --------
    >>> from genevec.datasets import demo_paths
    >>> [p.name for p in demo_paths()]
    ['gtex_v6_skin_bladder_gene_reads.gct.gz', 'gtex_v6_skin_bladder_sample_attributes.txt']
    """
    return tuple(Path(str(_data_file(name))) for name in (DEMO_COUNTS, DEMO_ATTRIBUTES))


def load_demo(*, n_genes: int | None = None, return_attributes: bool = False):
    """Load the embedded GTEx demo counts (31 Skin and Bladder samples).

    Parameters
    ----------
    n_genes : int, optional
        Keep ``n_genes`` genes: those with the largest total counts among the genes expressed
        (count > 0) in every sample, always including the six query genes of the exp2vec study
        (``QUERY_GENES``: EGFR, TP53, PTEN, KRAS, BRCA1, BRCA2). Must be at least 6. Columns keep
        the file's (genomic) order. ``None`` keeps all 36,652 genes.
    return_attributes : bool, default=False
        Also return the samples' GTEx attributes (SMTS, SMTSD, SMRIN, AGE, ...), indexed by SAMPID.

    Returns
    -------
    counts : DataFrame of int64, shape (31, n_genes)
        Samples x gene symbols, as :func:`genevec.read_counts` returns it (duplicate symbols summed).
    attrs : DataFrame, shape (31, 64)
        Only with ``return_attributes=True``.

    Notes
    -----
    Parsing the 1.8 MB file takes about a second; it is read afresh on every call (nothing is
    cached), so keep the result if you need it several times.

    Examples
    --------
    >>> from genevec import datasets
    >>> counts, attrs = datasets.load_demo(n_genes=500, return_attributes=True)
    >>> counts.shape, attrs["SMTS"].value_counts().to_dict()
    ((31, 500), {'Skin': 20, 'Bladder': 11})
    >>> all(g in counts.columns for g in datasets.QUERY_GENES)
    True
    """
    from ..io import read_attributes, read_counts

    if n_genes is not None:
        if isinstance(n_genes, bool) or not isinstance(n_genes, (int, np.integer)) or n_genes < len(QUERY_GENES):
            raise ValueError(
                f"load_demo: n_genes must be None (all genes) or an int >= {len(QUERY_GENES)}, since the "
                f"query genes {', '.join(QUERY_GENES)} are always kept; got {n_genes!r}."
            )
    with resources.as_file(_data_file(DEMO_COUNTS)) as path:
        counts = read_counts(path, gene_names="symbol", duplicates="sum")
    if n_genes is not None:
        counts = _top_genes(counts, int(n_genes))
    if not return_attributes:
        return counts
    with resources.as_file(_data_file(DEMO_ATTRIBUTES)) as path:
        attrs = read_attributes(path)
    return counts, attrs.loc[counts.index]


def _top_genes(counts: pd.DataFrame, k: int) -> pd.DataFrame:
    """The k genes of largest total among those expressed in every sample, plus the query genes."""
    if k >= counts.shape[1]:
        return counts
    values = counts.to_numpy()
    totals = values.sum(axis=0)
    everywhere = (values > 0).all(axis=0)
    is_query = counts.columns.isin(QUERY_GENES)
    # rank: query genes, then genes expressed in every sample, each by decreasing total; ties by file order
    order = np.lexsort((np.arange(values.shape[1]), -totals, ~everywhere, ~is_query))
    chosen = np.sort(order[:k])
    n_everywhere = int(everywhere.sum())
    if k > n_everywhere + int((is_query & ~everywhere).sum()):
        log.info("load_demo: only %d genes are expressed in every sample; the rest of the %d are taken "
                 "by total count among the others", n_everywhere, k)
    return counts.iloc[:, chosen]
