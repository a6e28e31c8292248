"""Reading expression counts: GCT (GTEx), TSV/CSV tables, AnnData; tissue selection; gene filter.

Every reader returns the same thing: a samples x genes DataFrame of int64 read counts, indexed by
sample ID, with gene names as columns. Bad input is reported with the file, the line (1-based),
the sample, the gene, the value and a fix.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_counts, check_gene_names_mode
from .anndata import from_anndata, read_h5ad
from .filters import filter_genes
from .gct import read_gct, read_gct_header
from .samples import read_attributes, select_tissue, tissue_samples, tissues
from .symbols import resolve_duplicates, strip_version
from .tables import check_file, read_table

log = logging.getLogger(__name__)

__all__ = [
    "read_counts",
    "read_attributes",
    "select_tissue",
    "tissues",
    "filter_genes",
    "read_gct",
    "read_gct_header",
    "read_table",
    "read_h5ad",
]

_GCT = (".gct",)
_TABLES = (".tsv", ".txt", ".csv")
_H5AD = (".h5ad",)


def _kind(path) -> str:
    name = os.fspath(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
        if name.endswith(_H5AD):
            return "unknown"
    if name.endswith(_GCT):
        return "gct"
    if name.endswith(_TABLES):
        return "table"
    if name.endswith(_H5AD):
        return "h5ad"
    return "unknown"


def read_counts(
    path_or_df: str | os.PathLike | pd.DataFrame | Any,
    *,
    attributes: str | os.PathLike | pd.DataFrame | None = None,
    tissue: str | None = None,
    gene_names: str = "symbol",
    duplicates: str = "sum",
    genes_as: str | None = None,
    layer: str | None = None,
    allow_non_integer: bool = False,
) -> pd.DataFrame:
    """Read RNA-seq read counts into a samples x genes DataFrame.

    The reader is chosen by the file name: ``.gct`` / ``.gct.gz`` (GCT 1.2, as GTEx ships it),
    ``.tsv`` / ``.txt`` / ``.csv`` (optionally ``.gz``) count tables, ``.h5ad`` (AnnData). An
    in-memory DataFrame or AnnData is validated and returned the same way.

    Parameters
    ----------
    path_or_df : str, PathLike, DataFrame or AnnData
        The counts. A DataFrame must have samples in rows and genes in columns.
    attributes : str, PathLike or DataFrame, optional
        Sample attributes (GTEx SampleAttributesDS, see :func:`read_attributes`); needed with ``tissue``.
    tissue : str, optional
        Keep only this tissue's samples, matched case-insensitively against SMTS (``"Pancreas"``,
        ``"Skin"``) or SMTSD (``"Skin - Sun Exposed (Lower leg)"``). For a GCT file only those
        columns are parsed, so one tissue of the full GTEx file fits in memory.
    gene_names : {"symbol", "ensembl"}, default="symbol"
        GCT: ``"symbol"`` labels genes by ``Description`` (a gene without a symbol keeps its
        Ensembl ID), ``"ensembl"`` by ``Name`` without its ``.N`` version. Tables and AnnData:
        ``"ensembl"`` strips versions from the labels, ``"symbol"`` keeps them as written.
    duplicates : {"sum", "first", "error"}, default="sum"
        Genes that share a name: add their counts, keep the first one, or raise listing them.
        How many were merged is logged (INFO).
    genes_as : {"columns", "rows"}, optional
        Orientation of a TSV/CSV table; required for tables, never guessed.
    layer : str, optional
        AnnData layer holding the counts (default ``.X``).
    allow_non_integer : bool, default=False
        Accept non-integer values (e.g. expected counts); the result is then float64.

    Returns
    -------
    DataFrame, shape (n_samples, n_genes)
        int64 counts (float64 only if non-integers were allowed and present); index = sample IDs
        (name ``"sample"``), columns = gene names (name ``"gene"``), unique.

    Raises
    ------
    FileNotFoundError
        The file does not exist (similar names in its folder are suggested).
    FileFormatError
        Malformed file: names the file, the line (1-based), the expected and found content.
    CountsError
        A negative, non-finite or (unless allowed) non-integer count: names line, sample and gene.
    ValueError
        Unknown suffix, missing ``genes_as`` for a table, unknown tissue (with the list of tissues
        and a close match), or a tissue with no samples in the file.

    Warns
    -----
    DataWarning
        A GCT dims line that disagrees with the content; samples of the tissue that the counts
        file lacks.

    See Also
    --------
    read_attributes, tissues, select_tissue, filter_genes

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import genevec
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "counts.gct").write_text(
    ...     "#1.2\\n2\\t3\\nName\\tDescription\\tS1\\tS2\\tS3\\n"
    ...     "ENSG00000141510.11\\tTP53\\t3\\t4\\t1\\nENSG00000146648.11\\tEGFR\\t0\\t9\\t2\\n")
    >>> _ = (folder / "attrs.txt").write_text("SAMPID\\tSMTS\\nS1\\tSkin\\nS2\\tBladder\\nS3\\tSkin\\n")
    >>> df = genevec.read_counts(folder / "counts.gct", attributes=folder / "attrs.txt", tissue="skin")
    >>> df.index.tolist(), df.columns.tolist(), df.to_numpy().tolist()
    (['S1', 'S3'], ['TP53', 'EGFR'], [[3, 0], [1, 2]])
    """
    check_gene_names_mode(gene_names)
    if (attributes is None) != (tissue is None):
        given, missing = ("attributes", "tissue") if tissue is None else ("tissue", "attributes")
        raise ValueError(
            f"read_counts: {given}= needs {missing}= too. Select a tissue with both, e.g. "
            "read_counts('gene_reads.gct.gz', attributes='SampleAttributesDS.txt', tissue='Pancreas'), "
            "or pass neither to read every sample."
        )
    if isinstance(path_or_df, (str, os.PathLike)):
        path = check_file(path_or_df, "counts file")
        kind = _kind(path)
        if kind == "gct":
            wanted = tissue_samples(attributes, tissue) if tissue is not None else None
            return read_gct(path, samples=wanted, tissue=tissue, gene_names=gene_names, duplicates=duplicates,
                            allow_non_integer=allow_non_integer)
        if kind == "table":
            df = read_table(path, genes_as=genes_as, gene_names=gene_names, duplicates=duplicates,
                            allow_non_integer=allow_non_integer)
        elif kind == "h5ad":
            df = read_h5ad(path, layer=layer, gene_names=gene_names, duplicates=duplicates,
                           allow_non_integer=allow_non_integer)
        else:
            raise ValueError(
                f"read_counts: cannot tell the format of {str(path)!r} from its name. Supported: .gct and "
                ".gct.gz (GCT 1.2), .tsv/.txt/.csv with optional .gz (count tables, with genes_as='rows' or "
                "'columns'), .h5ad (AnnData). Rename the file to one of these, or read it yourself and pass "
                "the DataFrame."
            )
    elif isinstance(path_or_df, pd.DataFrame):
        df = _from_frame(path_or_df, gene_names=gene_names, duplicates=duplicates,
                         allow_non_integer=allow_non_integer)
    elif type(path_or_df).__name__ == "AnnData" and hasattr(path_or_df, "var_names"):
        df = from_anndata(path_or_df, layer=layer, gene_names=gene_names, duplicates=duplicates,
                          allow_non_integer=allow_non_integer)
    else:
        raise TypeError(
            f"read_counts expects a file path, a samples x genes DataFrame or an AnnData; got "
            f"{type(path_or_df).__name__}. For a NumPy array use pandas.DataFrame(X, columns=gene_names)."
        )
    if tissue is not None:
        df = select_tissue(df, attributes, tissue)
    return df


def _from_frame(df: pd.DataFrame, *, gene_names: str, duplicates: str, allow_non_integer: bool) -> pd.DataFrame:
    genes = np.asarray([str(c) for c in df.columns], dtype=object)
    if gene_names == "ensembl":
        genes = strip_version(genes)
    unique = len(set(genes)) == len(genes)
    # repeated names are told apart by position while validating, then merged
    names = genes if unique else np.array([f"{g} (column {i + 1})" for i, g in enumerate(genes)], dtype=object)
    counts = check_counts(df, gene_names=names, allow_non_integer=allow_non_integer, accept_sparse=False,
                          caller="read_counts")
    values = counts.X
    if not unique:
        values, genes = resolve_duplicates(values, genes, duplicates, source="the DataFrame")
    if not allow_non_integer or np.array_equal(values, np.floor(values)):
        values = values.astype(np.int64)
    samples = counts.samples
    return pd.DataFrame(values, index=pd.Index([str(s) for s in samples], name="sample"),
                        columns=pd.Index(list(genes), name="gene"))
