"""Gene labels: Ensembl IDs and symbols, version suffixes, and genes that share a name.

GTEx identifies a gene by a versioned Ensembl ID (``Name``, e.g. ``ENSG00000141510.11``) and gives
its HGNC symbol in ``Description`` (``TP53``). Several IDs can carry the same symbol (``Y_RNA``,
``Metazoa_SRP`` and a few hundred others), and a gene without a symbol needs a label too; this
module decides both, so every reader labels genes the same way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import GENE_NAME_MODES, check_gene_names_mode  # noqa: F401  (GENE_NAME_MODES re-exported)
from ..exceptions import CountsError

log = logging.getLogger(__name__)

__all__ = ["strip_version", "gene_labels", "resolve_duplicates", "GENE_NAME_MODES", "DUPLICATE_MODES"]

DUPLICATE_MODES = ("sum", "first", "error")
_MISSING_SYMBOLS = {"", "na", "nan", "n/a", "none", "null", "-"}
# ".11" at the end, or before GENCODE's "_PAR_Y" tag for the copy on the Y chromosome.
_VERSION = re.compile(r"\.\d+(?=(_PAR_Y)?$)")


def strip_version(ids: Sequence[str]) -> np.ndarray:
    """Remove the ``.N`` version suffix of Ensembl IDs.

    GENCODE's pseudo-autosomal copies (``ENSG00000182378.14_PAR_Y``) keep their ``_PAR_Y`` tag, so
    they stay distinct from the X-chromosome gene. Labels without a version are returned unchanged.

    Parameters
    ----------
    ids : sequence of str

    Returns
    -------
    ndarray of str (object), shape (len(ids),)

    Examples
    --------
    >>> from genevec.io.symbols import strip_version
    >>> list(strip_version(["ENSG00000141510.11", "ENSG00000182378.14_PAR_Y", "TP53"]))
    ['ENSG00000141510', 'ENSG00000182378_PAR_Y', 'TP53']
    """
    return np.array([_VERSION.sub("", str(i)) for i in ids], dtype=object)


def gene_labels(names: Sequence[str], descriptions: Sequence[str], gene_names: str = "symbol") -> np.ndarray:
    """Label each gene by its symbol or by its unversioned Ensembl ID.

    Parameters
    ----------
    names : sequence of str
        The GCT ``Name`` column (Ensembl IDs, usually versioned).
    descriptions : sequence of str
        The GCT ``Description`` column (symbols).
    gene_names : {"symbol", "ensembl"}, default="symbol"
        ``"symbol"`` uses the description; a gene whose symbol is empty or NA keeps its ``Name`` as
        written. ``"ensembl"`` uses ``Name`` without the version suffix.

    Returns
    -------
    ndarray of str (object)
        One label per gene; labels may repeat (see :func:`resolve_duplicates`).

    Examples
    --------
    >>> from genevec.io.symbols import gene_labels
    >>> list(gene_labels(["ENSG00000141510.11", "ENSG00000283033.1"], ["TP53", ""]))
    ['TP53', 'ENSG00000283033.1']
    >>> list(gene_labels(["ENSG00000141510.11"], ["TP53"], gene_names="ensembl"))
    ['ENSG00000141510']
    """
    check_gene_names_mode(gene_names)
    if len(names) != len(descriptions):
        raise ValueError(f"got {len(names)} gene IDs but {len(descriptions)} descriptions; pass one of each per gene.")
    if gene_names == "ensembl":
        return strip_version(names)
    labels = np.empty(len(names), dtype=object)
    n_missing = 0
    for i, (name, desc) in enumerate(zip(names, descriptions)):
        desc = str(desc).strip()
        if desc.lower() in _MISSING_SYMBOLS:
            labels[i] = str(name).strip()
            n_missing += 1
        else:
            labels[i] = desc
    if n_missing:
        log.info("%d gene(s) have no symbol and keep their Ensembl ID", n_missing)
    return labels


def resolve_duplicates(
    values: np.ndarray, genes: np.ndarray, how: str = "sum", *, source: str = "the counts"
) -> tuple[np.ndarray, np.ndarray]:
    """Merge the columns of genes that share a label.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_genes)
        Counts, samples in rows. Not modified.
    genes : ndarray of str, shape (n_genes,)
        Column labels, possibly repeated.
    how : {"sum", "first", "error"}, default="sum"
        ``"sum"`` adds the counts of a label's columns (reads of the same gene symbol), ``"first"``
        keeps the first column, ``"error"`` raises a CountsError that lists the repeated labels.
    source : str
        The file or object, for messages.

    Returns
    -------
    values : ndarray of shape (n_samples, n_unique)
        The input itself when no label repeats.
    genes : ndarray of str, shape (n_unique,)
        Unique labels, in order of first appearance.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec.io.symbols import resolve_duplicates
    >>> v, g = resolve_duplicates(np.array([[1, 2, 3]]), np.array(["A", "B", "A"], dtype=object))
    >>> v.tolist(), g.tolist()
    ([[4, 2]], ['A', 'B'])
    """
    if how not in DUPLICATE_MODES:
        raise ValueError(
            f"duplicates must be 'sum' (add the counts of genes with the same name), 'first' (keep the "
            f"first) or 'error'; got {how!r}."
        )
    genes = np.asarray(genes, dtype=object)
    codes, uniques = pd.factorize(genes, sort=False)
    n_unique = len(uniques)
    if n_unique == len(genes):
        return values, genes
    # codes number the labels 0..n_unique-1 in order of first appearance
    first = np.unique(codes, return_index=True)[1]
    repeated = np.ones(len(genes), dtype=bool)
    repeated[first] = False
    dup_pos = np.flatnonzero(repeated)
    dup_names = list(dict.fromkeys(genes[dup_pos]))
    if how == "error":
        shown = ", ".join(repr(str(g)) for g in dup_names[:10])
        more = f" and {len(dup_names) - 10} more" if len(dup_names) > 10 else ""
        raise CountsError(
            f"{source}: {len(dup_names):,} gene name(s) occur more than once: {shown}{more}. Sum them with "
            "duplicates='sum', keep the first with duplicates='first', or use gene_names='ensembl' "
            "(unique IDs)."
        )
    out = values[:, first]  # fancy indexing: a copy, the input is left alone
    if how == "sum":
        if out.dtype.kind in "biu":
            out = out.astype(np.int64, copy=False)
            # a sum of int64 counts wraps around silently: refuse sums that could pass 2**63 - 1
            group_sizes = np.bincount(codes)
            largest_group = int(group_sizes.max())
            if values.size and int(values.max()) > np.iinfo(np.int64).max // largest_group:
                raise CountsError(
                    f"{source}: summing the {largest_group:,} genes named {str(uniques[group_sizes.argmax()])!r} "
                    f"could exceed the int64 range (largest count {int(values.max()):,}). Keep the first with "
                    "duplicates='first', or use gene_names='ensembl' (unique IDs)."
                )
        for pos in dup_pos:
            out[:, codes[pos]] += values[:, pos]
    log.info(
        "%s: %d gene name(s) occur more than once; %d column(s) merged into them (duplicates=%r)",
        source, len(dup_names), dup_pos.size, how,
    )
    return out, np.asarray(uniques, dtype=object)
