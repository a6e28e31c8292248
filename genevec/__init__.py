"""genevec: gene embeddings from expression data.

A samples x genes read-count matrix is a document-term matrix; genevec turns it into a gene
co-occurrence matrix and trains GloVe on it, deterministically for any number of threads.

>>> import genevec
>>> genevec.__version__ >= "0.1"
True
"""

from importlib import import_module

from ._version import __version__

# Public name -> module that defines it. Imported on first use, so `genevec --help`
# and `import genevec` stay fast and optional extras are only imported when needed.
_PUBLIC = {
    "GeneGloVe": "estimator",
    "GeneVectors": "similarity",
    "load_vectors": "similarity",
    "fit_tissues": "tissue_fit",
    "load_tissues": "collection",
    "TissueModels": "collection",
    "read_counts": "io",
    "read_attributes": "io",
    "select_tissue": "io",
    "tissues": "io",
    "filter_genes": "io",
    "dtm_to_tcm": "tcm",
    "pseudobulk": "cells",
    "fit_anndata": "anndata_api",
    "gene_map": "maps",
    "plot_gene_map": "plot",
    "plot_shifts": "plot",
    "cluster_genes": "maps",
    "save_gene_map": "plot",
    "read_gene_map": "maps",
    "load_gene_sets": "genesets",
    "gene_names": "names",
    "QualityReport": "evaluate",
    "Stability": "stability",
    "datasets": None,
    "exceptions": None,
}

__all__ = ["__version__", "evaluate", "stability", *_PUBLIC]

# `evaluate` and `stability` are functions in modules of the same names: bound here, eagerly, so that
# the names stay the functions even after `import genevec.evaluate` (the modules keep their heavy
# imports inside functions, so `import genevec` stays fast).
from .evaluate import evaluate  # noqa: E402
from .stability import stability  # noqa: E402


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'genevec' has no attribute {name!r}")
    module = _PUBLIC[name]
    if module is None:
        value = import_module(f".{name}", __name__)
    else:
        value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
