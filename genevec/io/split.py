"""One pass over a GCT file, its sample columns split by tissue.

GTEx ships every tissue in one gene-reads GCT (56,200 genes x 17,382 samples). Reading it once
per tissue with ``read_counts(..., tissue=...)`` would parse the whole text fifty times.
:func:`read_gct_split` parses each line once, files each sample's count under its tissue and keeps,
for each tissue, only the genes that pass an expression filter there (:class:`ExpressionFilter`).
So memory holds the expressed counts of every tissue (4 bytes a count while they fit), never
the text and never the genes a tissue does not express.

A line is checked as strictly as :func:`genevec.io.read_gct` checks it (the same messages name
the line, the sample, the gene and the fix); a well-formed line is parsed by one NumPy call, so a
line of 17,382 counts costs about half a millisecond.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import InitVar, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_gene_names_mode
from ..exceptions import FileFormatError
from .gct import _check_gene_count, _GeneLines, _read_preamble
from .symbols import gene_labels, resolve_duplicates
from .tables import MAX_COUNT, _RowStore, check_file, decode, open_binary, parse_count_rows, reading_errors

log = logging.getLogger(__name__)

__all__ = ["ExpressionFilter", "SplitCounts", "read_gct_split"]

#: Lines parsed between two flushes into the per-tissue stores.
BLOCK_LINES = 256


@dataclass(frozen=True)
class ExpressionFilter:
    """When is a gene expressed in a tissue? At least ``min_reads`` reads in ``min_fraction`` of its samples.

    Parameters
    ----------
    min_reads : int, default=10
    min_fraction : float in (0, 1], default=0.5

    Examples
    --------
    >>> from genevec.io.split import ExpressionFilter
    >>> f = ExpressionFilter(min_reads=10, min_fraction=0.5)
    >>> f.samples_needed(31), str(f)
    (16, '>= 10 reads in >= 50% of the samples')
    """

    min_reads: int = 10
    min_fraction: float = 0.5

    def __post_init__(self):
        if (isinstance(self.min_reads, bool) or not isinstance(self.min_reads, numbers.Integral)
                or self.min_reads < 1):
            raise ValueError(f"min_reads must be an int >= 1 (reads a sample needs for the gene to count as "
                             f"expressed there), got {self.min_reads!r}.")
        if (isinstance(self.min_fraction, bool) or not isinstance(self.min_fraction, numbers.Real)
                or not 0 < self.min_fraction <= 1):
            raise ValueError(f"min_fraction must be a number in (0, 1] (the share of a tissue's samples that need "
                             f"min_reads), got {self.min_fraction!r}.")

    def samples_needed(self, n_samples: int) -> int:
        """Samples of a tissue of ``n_samples`` that must reach ``min_reads``."""
        return max(1, math.ceil(self.min_fraction * n_samples - 1e-9))

    def to_dict(self) -> dict:
        return {"min_reads": int(self.min_reads), "min_fraction": float(self.min_fraction)}

    def __str__(self) -> str:
        return f">= {self.min_reads} reads in >= {self.min_fraction:.0%} of the samples"


class _Store(_RowStore):
    """Blocks of one tissue's kept lines (genes x samples), compact while the counts fit in uint32."""

    def __init__(self, n_samples: int):
        super().__init__(n_samples, np.int64)
        self.lines: list[np.ndarray] = []

    def add(self, block: np.ndarray, lines: np.ndarray) -> None:
        if block.size and int(block.max()) <= np.iinfo(np.uint32).max:
            block = block.astype(np.uint32)
        self.blocks.append(np.ascontiguousarray(block))
        self.n_rows += block.shape[0]
        self.lines.append(lines)

    def take(self) -> tuple[np.ndarray, np.ndarray]:
        """(samples x kept lines int64, the kept lines' numbers); frees the blocks."""
        lines = np.concatenate(self.lines) if self.lines else np.empty(0, dtype=np.int64)
        self.lines = []
        return self.transposed(), lines

    @property
    def nbytes(self) -> int:
        return sum(b.nbytes for b in self.blocks)


@dataclass(eq=False, repr=False)
class SplitCounts:
    """What :func:`read_gct_split` returns: each tissue's counts, handed out one tissue at a time.

    Attributes
    ----------
    samples : dict of str to list of str
        Each tissue's samples found in the file, in file order.
    missing : dict of str to int
        Each tissue's samples listed in the attributes but absent from the file.
    expressed : ndarray of bool, shape (n_lines, n_tissues)
        Whether each gene line passes the filter in each tissue (columns in the order of ``samples``).
    labels : ndarray of str
        Each line's gene label (before genes that share a label are merged).
    kept : ndarray of bool, shape (n_lines, n_tissues)
        Which lines were kept for each tissue (``expressed``, or expressed everywhere when the
        reader was asked for shared genes).
    totals : ndarray of int64, shape (n_lines, n_tissues)
        Each line's reads summed over each tissue's samples (every line, kept or not).
    seconds : float
        Time of the read.
    """

    path: Path
    samples: dict[str, list[str]]
    missing: dict[str, int]
    expressed: np.ndarray
    kept: np.ndarray
    totals: np.ndarray
    labels: np.ndarray
    stores: InitVar[dict[str, _Store]]
    duplicates: InitVar[str]
    seconds: float

    def __post_init__(self, stores: dict[str, _Store], duplicates: str) -> None:
        self._stores = stores  # emptied tissue by tissue by take()
        self._duplicates = duplicates

    @property
    def tissues(self) -> list[str]:
        return list(self.samples)

    def nbytes(self) -> int:
        """Bytes held by the counts not yet taken."""
        return sum(s.nbytes for s in self._stores.values())

    def take(self, tissue: str, lines: np.ndarray | None = None) -> pd.DataFrame:
        """The samples x genes counts of ``tissue`` (int64), its genes merged by label; frees them here.

        Parameters
        ----------
        tissue : str
        lines : ndarray of bool, shape (n_lines,), optional
            Keep only these of the tissue's kept lines (e.g. the most expressed).

        Raises
        ------
        KeyError
            The tissue was not stored, or was taken already.
        """
        if tissue not in self._stores:
            raise KeyError(f"the counts of tissue {tissue!r} were not kept by this read, or were taken already.")
        values, kept = self._stores.pop(tissue).take()
        if lines is not None:
            chosen = np.asarray(lines, dtype=bool)[kept]
            values, kept = values[:, chosen], kept[chosen]
        labels = self.labels[kept]
        values, labels = resolve_duplicates(values, labels, self._duplicates, source=f"{self.path} ({tissue})")
        return pd.DataFrame(values, index=pd.Index(self.samples[tissue], name="sample"),
                            columns=pd.Index([str(g) for g in labels], name="gene"))


def _fast_values(body: bytes, n_values: int) -> np.ndarray | None:
    """The counts of a well-formed line in one NumPy call, or None for anything unusual (then parsed slowly)."""
    if body.count(b"\t") != n_values - 1:
        return None
    try:
        values = np.fromstring(body, dtype=np.int64, sep="\t")
    except (ValueError, DeprecationWarning):  # "could not be read to its end": a non-digit somewhere
        return None
    if values.size != n_values or (values.size and (values.min() < 0 or values.max() >= MAX_COUNT)):
        return None
    return values


def read_gct_split(
    path: str | os.PathLike,
    groups: Mapping[str, Sequence[str]],
    *,
    expression: ExpressionFilter | None = None,
    shared: bool = False,
    store: Sequence[str] | None = None,
    gene_names: str = "symbol",
    duplicates: str = "sum",
    progress: Callable[[int, float], None] | None = None,
) -> SplitCounts:
    """Read a GCT 1.2 file once, splitting its sample columns into tissues and keeping the expressed genes.

    Parameters
    ----------
    path : str or PathLike
        GCT 1.2, plain or gzipped (GTEx's ``..._gene_reads.gct.gz``).
    groups : mapping of str to sequence of str
        Tissue -> its sample IDs (:func:`genevec.io.samples.tissue_groups`). Samples absent from the
        file are counted in ``missing``; a tissue needs at least one sample in the file.
    expression : ExpressionFilter, optional
        When a gene counts as expressed in a tissue (default: ``ExpressionFilter()``, >= 10 reads in
        >= 50% of its samples). It is applied to each line, before genes that share a symbol are merged.
    shared : bool, default=False
        Keep a line for every tissue when it is expressed in every tissue of ``groups`` (the shared
        gene universe); otherwise keep it for the tissues that express it.
    store : sequence of str, optional
        The tissues whose counts to keep (default: all); the others still take part in ``shared``.
    gene_names : {"symbol", "ensembl"}, default="symbol"
        As :func:`genevec.read_counts`.
    duplicates : {"sum", "first", "error"}, default="sum"
        As :func:`genevec.read_counts`, applied per tissue by :meth:`SplitCounts.take`.
    progress : callable, optional
        ``progress(lines_read, seconds)`` about every 5 seconds.

    Returns
    -------
    SplitCounts

    Raises
    ------
    ValueError
        A tissue has none of its samples in the file, or ``groups`` is empty.
    FileFormatError, CountsError
        A malformed line or count, with the file, line, sample and gene (as ``read_gct``).

    Notes
    -----
    Memory: the kept counts, 4 bytes each (8 for a block holding a count of 2**32 or more), plus a
    block of 256 lines of every sample (35 MB for GTEx v8). Time: one ``np.fromstring`` per line and
    one gather of the tissues' columns.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from genevec.io.split import ExpressionFilter, read_gct_split
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "tiny.gct"
    >>> _ = f.write_text("#1.2\\n2\\t3\\nName\\tDescription\\tS1\\tS2\\tS3\\n"
    ...                  "ENSG1.1\\tTP53\\t30\\t40\\t0\\nENSG2.1\\tEGFR\\t0\\t0\\t90\\n")
    >>> split = read_gct_split(f, {"Skin": ["S1", "S2"], "Bladder": ["S3"]}, expression=ExpressionFilter(10, 0.5))
    >>> split.take("Skin")
    gene    TP53
    sample
    S1        30
    S2        40
    >>> split.take("Bladder").columns.tolist()
    ['EGFR']
    """
    check_gene_names_mode(gene_names)
    expression = ExpressionFilter() if expression is None else expression
    if not groups:
        raise ValueError("read_gct_split: groups is empty; give at least one tissue with its sample IDs.")
    names = list(groups)
    store_set = set(names if store is None else store)
    if store_set - set(names):
        raise ValueError(f"read_gct_split: store names tissues that are not in groups: "
                         f"{', '.join(map(repr, sorted(store_set - set(names))))}; groups has {', '.join(names)}.")
    p = check_file(path, "counts file")
    t0 = last_report = time.perf_counter()
    lines = _GeneLines()
    with open_binary(p) as fh, reading_errors(p, lines.last_line), warnings.catch_warnings():
        warnings.filterwarnings("error", message="string or file could not be read", category=DeprecationWarning)
        declared, header, all_samples = _read_preamble(fh, p)
        position = {s: i for i, s in enumerate(all_samples)}
        columns, samples, missing = [], {}, {}
        for name in names:
            listed = list(groups[name])
            present = sorted({position[s] for s in listed if s in position})
            missing[name] = len(set(listed)) - len(present)
            if not present:
                raise ValueError(
                    f"None of the {len(listed):,} samples of tissue {name!r} is in {p} ({len(all_samples):,} "
                    f"samples there, e.g. {', '.join(all_samples[:2])}; the tissue's are e.g. "
                    f"{', '.join(map(str, listed[:2]))}). Check that the attributes belong to this counts file "
                    "(same GTEx release), or leave the tissue out."
                )
            columns.append(np.asarray(present, dtype=np.intp))
            samples[name] = [all_samples[i] for i in present]
        order = np.concatenate(columns)
        bounds = np.cumsum([0] + [c.size for c in columns])
        needed = np.array([expression.samples_needed(c.size) for c in columns])
        stored = [g for g, name in enumerate(names) if name in store_set]
        stores = {names[g]: _Store(columns[g].size) for g in stored}

        n_values = len(all_samples)
        block = np.empty((BLOCK_LINES, order.size), dtype=np.int64)
        block_keep = np.empty((BLOCK_LINES, len(names)), dtype=bool)
        block_lines = np.empty(BLOCK_LINES, dtype=np.int64)
        fill = 0
        expressed_rows: list[np.ndarray] = []
        total_rows: list[np.ndarray] = []
        line_names: list[str] = []
        descriptions: list[str] = []

        def flush() -> None:
            for g in stored:
                rows = np.flatnonzero(block_keep[:fill, g])
                if rows.size:
                    stores[names[g]].add(block[rows, bounds[g]:bounds[g + 1]], block_lines[rows])

        for line_no, line in lines.after_preamble(fh):
            first = line.find(b"\t")
            second = line.find(b"\t", first + 1) if first >= 0 else -1
            values = _fast_values(line[second + 1:], n_values) if second >= 0 else None
            name = decode(line[:first] if first >= 0 else line, p, line_no).strip()
            desc = decode(line[first + 1:second], p, line_no).strip() if second >= 0 else ""
            if values is None or not name:
                values = _slow_values(line, p, line_no, header, all_samples)
            row = values[order]
            passes = np.add.reduceat(row >= expression.min_reads, bounds[:-1]) >= needed
            expressed_rows.append(passes)
            total_rows.append(np.add.reduceat(row, bounds[:-1]))
            keep = np.full(len(names), passes.all()) if shared else passes
            if keep.any():
                block[fill] = row
                block_keep[fill] = keep
                block_lines[fill] = len(line_names)
                fill += 1
                if fill == BLOCK_LINES:
                    flush()
                    fill = 0
            line_names.append(name)
            descriptions.append(desc)
            if progress is not None and time.perf_counter() - last_report > 5:
                last_report = time.perf_counter()
                progress(len(line_names), last_report - t0)
        flush()

    n_lines = len(line_names)
    _check_gene_count(p, declared, n_lines, n_values)
    expressed = np.vstack(expressed_rows)
    kept = np.repeat(expressed.all(axis=1, keepdims=True), len(names), axis=1) if shared else expressed
    labels = gene_labels(line_names, descriptions, gene_names)
    seconds = time.perf_counter() - t0
    log.info("read %s in one pass: %d lines x %d samples, %d tissues, %.1f s", p, n_lines, n_values, len(names),
             seconds)
    return SplitCounts(p, samples, missing, expressed, kept, np.vstack(total_rows), labels, stores, duplicates,
                       seconds)


def _slow_values(line: bytes, p: Path, line_no: int, header: list, all_samples: list) -> np.ndarray:
    """Parse a line the careful way: the field count, then every value, each error named (as read_gct)."""
    fields = line.split(b"\t")
    name = decode(fields[0], p, line_no).strip()
    desc = decode(fields[1], p, line_no).strip() if len(fields) > 1 else ""
    if len(fields) != len(header):     # named as read_gct names them: the Name here, the symbol for a count
        raise FileFormatError(
            f"{p}, line {line_no} (gene {name!r}): expected {len(header):,} tab-separated fields "
            f"(Name, Description and {len(all_samples):,} samples, as in the header on line 3), "
            f"found {len(fields):,}. The line is cut short or has extra tabs: fix or remove it."
        )
    if not name:
        symbol = f" (symbol {desc!r})" if desc else ""
        raise FileFormatError(
            f"{p}, line {line_no}: the Name field (column 1) is empty{symbol}. Every gene line starts "
            "with the gene's ID, e.g. 'ENSG00000141510.11<TAB>TP53<TAB>counts...'. Fill it in or remove the line."
        )
    values = parse_count_rows([fields[2:]], path=p, line_numbers=[line_no], row_labels=[desc or name],
                              col_labels=all_samples, row_is="gene", allow_non_integer=False)
    return values[0].astype(np.int64)
