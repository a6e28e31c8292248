"""GCT 1.2 reader, as GTEx ships its gene-read counts.

Layout (tab-separated, plain or gzip)::

    #1.2
    56200   17382                      <- dims: genes, samples (may be wrong: see below)
    Name    Description    GTEX-1117F-0226-SM-5GZZ7   ...
    ENSG00000223972.5   DDX11L1   0   0   ...

The reader streams: it reads the header, finds the columns of the samples asked for, then parses
each line keeping only those fields, so reading one tissue of the full GTEx file (17,382 samples)
needs the tissue's matrix plus one line, never the whole table. Every value is checked as it is
read, so a bad count is reported with its line, sample and gene.
"""

from __future__ import annotations

import logging
import operator
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_gene_names_mode
from ..exceptions import DataWarning, FileFormatError
from .samples import match_samples
from .symbols import gene_labels, resolve_duplicates
from .tables import (
    BOM,
    _check_unique_samples,
    _Pending,
    _RowStore,
    check_file,
    decode,
    final_dtype,
    open_binary,
    reading_errors,
    user_stacklevel,
)

log = logging.getLogger(__name__)

__all__ = ["read_gct", "read_gct_header"]

_VERSION_LINE = b"#1.2"


def _first_line(raw: bytes) -> bytes:
    if raw.startswith(BOM):
        raw = raw[len(BOM):]
    return raw.rstrip(b"\r\n")


def _not_gct(path: Path, first: bytes) -> FileFormatError:
    shown = first[:40].decode("utf-8", errors="replace")
    return FileFormatError(
        f"{path}, line 1: not a GCT file: the first line is {shown!r}, expected '#1.2'. A GCT 1.2 file "
        "starts with '#1.2', then a dims line, then 'Name<TAB>Description<TAB><samples>'. For a plain "
        "count table use read_counts(path, genes_as='rows') (a line per gene) or genes_as='columns'."
    )


def _read_preamble(fh, path: Path) -> tuple[tuple[int, int], list[str], list[str]]:
    """Parse lines 1-3; return (declared dims, header fields, sample IDs)."""
    first = _first_line(fh.readline())
    if first.strip() != _VERSION_LINE:
        raise _not_gct(path, first)
    dims_text = decode(fh.readline().rstrip(b"\r\n"), path, 2)
    parts = dims_text.split()
    try:
        if len(parts) < 2:
            raise ValueError
        declared = (int(parts[0]), int(parts[1]))
    except ValueError:
        raise FileFormatError(
            f"{path}, line 2: the dims line is {dims_text!r}; GCT 1.2 expects two whole numbers, the "
            "numbers of genes and of samples, separated by a tab (e.g. '56200\\t17382'). Fix line 2."
        ) from None
    header_raw = fh.readline()
    if not header_raw:
        raise FileFormatError(f"{path}: the file ends after line 2; line 3 must be the header "
                              "'Name<TAB>Description<TAB><sample IDs>'.")
    header = decode(header_raw.rstrip(b"\r\n"), path, 3).split("\t")
    if len(header) < 3 or header[0].strip().lower() != "name" or header[1].strip().lower() != "description":
        raise FileFormatError(
            f"{path}, line 3: the header starts with {'	'.join(header[:3])[:80]!r}; GCT 1.2 expects "
            "'Name<TAB>Description<TAB><sample IDs>' with at least one sample. Fix line 3."
        )
    samples = [s.strip() for s in header[2:]]
    _check_unique_samples(samples, path)
    return declared, header, samples


class _GeneLines:
    """The gene lines of an open GCT file, and the number of the last line read.

    :meth:`after_preamble` yields ``(line_no, line)`` for every line after the three-line preamble
    that is not blank (``line`` without its line end); ``line_no`` is 1-based and counts the blank
    lines too. :meth:`last_line` (0 while the preamble is read) is the ``where`` of :func:`reading_errors`.
    """

    def __init__(self):
        self.line_no = 0

    def last_line(self) -> int:
        return self.line_no

    def after_preamble(self, fh) -> Iterator[tuple[int, bytes]]:
        self.line_no = 3
        for raw in fh:
            self.line_no += 1
            line = raw.rstrip(b"\r\n")
            if line.strip():
                yield self.line_no, line


def _check_gene_count(path: Path, declared: tuple[int, int], n_genes: int, n_samples: int) -> None:
    """Refuse a file without gene lines; warn (DataWarning) when the dims line disagrees with what was read."""
    if n_genes == 0:
        raise FileFormatError(
            f"{path}: the header (line 3) is followed by no gene line, so there are no counts to read "
            f"(the dims line declares {declared[0]:,} genes). Check that the file was written completely."
        )
    if declared != (n_genes, n_samples):
        warnings.warn(
            f"{path}: the dims line (line 2) declares {declared[0]:,} genes x {declared[1]:,} samples, but the "
            f"file holds {n_genes:,} genes x {n_samples:,} samples; reading what is there. "
            "(GTEx subsets often keep the original dims line; fix line 2 to silence this.)",
            DataWarning,
            stacklevel=user_stacklevel(),
        )


def read_gct_header(path: str | os.PathLike) -> tuple[tuple[int, int], list[str]]:
    """Declared dimensions and sample IDs of a GCT file, reading only its first three lines.

    Parameters
    ----------
    path : str or PathLike
        GCT 1.2, plain or gzipped.

    Returns
    -------
    declared : (int, int)
        The dims line: genes, samples (as written, possibly wrong).
    samples : list of str
        Sample IDs from the header, in file order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from genevec.io.gct import read_gct_header
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "tiny.gct"
    >>> _ = f.write_text("#1.2\\n1\\t2\\nName\\tDescription\\tS1\\tS2\\nENSG1.1\\tTP53\\t3\\t4\\n")
    >>> read_gct_header(f)
    ((1, 2), ['S1', 'S2'])
    """
    p = check_file(path, "counts file")
    with open_binary(p) as fh, reading_errors(p, lambda: 0):
        declared, _, samples = _read_preamble(fh, p)
    return declared, samples


def read_gct(path: str | os.PathLike, *, samples: Sequence[str] | None = None, tissue: str | None = None,
             gene_names: str = "symbol", duplicates: str = "sum", allow_non_integer: bool = False) -> pd.DataFrame:
    """Read a GCT 1.2 file (plain or ``.gz``) into a samples x genes DataFrame.

    Parameters
    ----------
    path : str or PathLike
        The file, e.g. GTEx's ``..._gene_reads.gct.gz``.
    samples : sequence of str, optional
        Keep only these sample columns (in file order); the others are skipped while reading,
        never stored. Samples absent from the file are reported with a DataWarning; if none is
        present a ValueError is raised. ``None`` keeps every sample.
    tissue : str, optional
        The tissue that ``samples`` belong to, for messages only.
    gene_names : {"symbol", "ensembl"}, default="symbol"
        ``"symbol"`` labels genes by ``Description`` (a gene without one keeps its ``Name``);
        ``"ensembl"`` by ``Name`` without the ``.N`` version.
    duplicates : {"sum", "first", "error"}, default="sum"
        Genes that share a label: add their counts, keep the first, or raise listing them.
    allow_non_integer : bool, default=False
        Accept counts with a fractional part (the result is then float64).

    Returns
    -------
    DataFrame of int64, shape (n_samples, n_genes)
        Index = sample IDs, columns = gene labels.

    Raises
    ------
    FileNotFoundError, FileFormatError, CountsError, ValueError
        Each names the file, the line (1-based), the sample and gene where relevant, and a fix.

    Warns
    -----
    DataWarning
        The dims line (line 2) disagrees with the content: both numbers are named. The file is
        read anyway (GTEx subsets often keep the original dims line).

    Notes
    -----
    Memory is the kept matrix (8 bytes per count) plus one line of text and, while merging
    the blocks at the end, a second copy of the kept matrix. Time is dominated by splitting each
    line into fields: about 0.6 ms per line of 17,382 samples.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from genevec.io import read_gct
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "tiny.gct"
    >>> _ = f.write_text("#1.2\\n2\\t2\\nName\\tDescription\\tS1\\tS2\\n"
    ...                  "ENSG00000141510.11\\tTP53\\t3\\t4\\nENSG00000146648.11\\tEGFR\\t0\\t9\\n")
    >>> df = read_gct(f)
    >>> df.index.tolist(), df.columns.tolist(), df.to_numpy().tolist()
    (['S1', 'S2'], ['TP53', 'EGFR'], [[3, 0], [4, 9]])
    >>> read_gct(f, samples=["S2"], gene_names="ensembl").columns.tolist()
    ['ENSG00000141510', 'ENSG00000146648']
    """
    check_gene_names_mode(gene_names)
    p = check_file(path, "counts file")
    t0 = time.perf_counter()
    lines = _GeneLines()
    with open_binary(p) as fh, reading_errors(p, lines.last_line):
        declared, header, all_samples = _read_preamble(fh, p)
        n_fields = len(header)
        if samples is None:
            keep = np.arange(len(all_samples), dtype=np.intp)
        else:
            keep = match_samples(all_samples, list(samples), tissue=tissue or "selected", source=str(p))
        kept_samples = [all_samples[i] for i in keep]
        take_all = keep.size == len(all_samples)
        getter = operator.itemgetter(*(keep + 2).tolist()) if not take_all else None
        store = _RowStore(keep.size, np.float64 if allow_non_integer else np.int64)
        pending = _Pending(store, path=p, col_labels=kept_samples, row_is="gene",
                           allow_non_integer=allow_non_integer)
        names: list[str] = []
        descriptions: list[str] = []
        for line_no, line in lines.after_preamble(fh):
            fields = line.split(b"\t")
            if len(fields) != n_fields:
                label = decode(fields[0], p, line_no) if fields else ""
                raise FileFormatError(
                    f"{p}, line {line_no} (gene {label!r}): expected {n_fields:,} tab-separated fields "
                    f"(Name, Description and {len(all_samples):,} samples, as in the header on line 3), "
                    f"found {len(fields):,}. The line is cut short or has extra tabs: fix or remove it."
                )
            name = decode(fields[0], p, line_no).strip()
            desc = decode(fields[1], p, line_no).strip()
            if not name:
                symbol = f" (symbol {desc!r})" if desc else ""
                raise FileFormatError(
                    f"{p}, line {line_no}: the Name field (column 1) is empty{symbol}. Every gene line starts "
                    "with the gene's ID, e.g. 'ENSG00000141510.11<TAB>TP53<TAB>counts...'. Fill it in or "
                    "remove the line."
                )
            if take_all:
                values = fields[2:]
            else:
                values = getter(fields)
                if keep.size == 1:
                    values = (values,)
            pending.add(values, line_no, desc or name)
            names.append(name)
            descriptions.append(desc)
        pending.flush()

    _check_gene_count(p, declared, len(names), len(all_samples))
    values = store.transposed()  # samples x genes
    labels = gene_labels(names, descriptions, gene_names)
    values, labels = resolve_duplicates(values, labels, duplicates, source=str(p))
    df = pd.DataFrame(final_dtype(values) if allow_non_integer else values, index=pd.Index(kept_samples, name="sample"),
                      columns=pd.Index(labels, name="gene"))
    log.info("read %s: %d samples x %d genes (of %d samples) in %.1f s", p, df.shape[0], df.shape[1],
             len(all_samples), time.perf_counter() - t0)
    return df
