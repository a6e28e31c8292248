"""Delimited count tables (TSV/CSV, plain or gzip) and the text primitives every reader shares.

A count table has one header line and one labelled row per sample or per gene. Which of the two
is never guessed: the caller states it with ``genes_as="columns"`` (a row per sample, a column per
gene) or ``genes_as="rows"`` (a row per gene, a column per sample).

The helpers here (:func:`check_file`, :func:`open_binary`, :func:`reading_errors`,
:func:`parse_counts`) are used by the GCT and attribute readers too, so a missing file, a truncated
``.gz`` or a bad count is reported the same way everywhere: file, line (1-based, as an editor shows
it), sample, gene, value and a fix.

Just over ~500 lines: the table reader and the primitives above belong together (one error style).
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import gzip
import io
import logging
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_gene_names_mode
from ..exceptions import CountsError, FileFormatError

log = logging.getLogger(__name__)

__all__ = ["read_table", "check_file", "open_binary", "reading_errors", "parse_counts"]

GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
_MISSING_TOKENS = {"", "na", "nan", "n/a", "null", "none", "-"}
#: Counts must be below 2**53: float64 (the parser's type) holds every whole number up to it, and from
#: 2**53 on two written numbers can read as the same value (9007199254740993 reads as 2**53).
MAX_COUNT = 2 ** 53


def check_file(path: str | os.PathLike, what: str = "file") -> Path:
    """Return ``path`` as a :class:`~pathlib.Path`, or raise FileNotFoundError with close names.

    Parameters
    ----------
    path : str or PathLike
        The file to read; ``~`` is expanded.
    what : str, default="file"
        What the file is, for the message (``"counts file"``, ``"attributes file"``).

    Returns
    -------
    Path

    Raises
    ------
    FileNotFoundError
        When the file does not exist or is a folder; names similar files of the same folder.

    Examples
    --------
    >>> from genevec.io.tables import check_file
    >>> try:
    ...     check_file("/nonexistent-folder/counts.gct", "counts file")
    ... except FileNotFoundError as exc:
    ...     print(str(exc).split(":")[0])
    counts file not found
    """
    p = Path(os.fspath(path)).expanduser()
    if p.is_file():
        return p
    if p.is_dir():
        raise FileNotFoundError(f"{what} {str(p)!r} is a folder, not a file. Pass the path of the file inside it.")
    folder = p.parent
    hint = ""
    if folder.is_dir():
        try:
            names = sorted(entry.name for entry in folder.iterdir() if entry.is_file())
        except OSError:
            names = []
        near = difflib.get_close_matches(p.name, names, n=3, cutoff=0.5)
        if near:
            hint = " Did you mean " + " or ".join(repr(str(folder / n)) for n in near) + "?"
        else:
            hint = f" The folder {str(folder)!r} holds {len(names)} file(s), none with a similar name."
    else:
        hint = f" The folder {str(folder)!r} does not exist either."
    raise FileNotFoundError(f"{what} not found: {str(p)!r}.{hint} Check the path (relative to {os.getcwd()!r}).")


def open_binary(path: Path) -> io.BufferedIOBase:
    """Open ``path`` for reading bytes, decompressing gzip when the file starts with the gzip magic.

    The content decides, not the suffix, so a ``.gz`` that was already unpacked still reads.
    """
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == GZIP_MAGIC:
        return io.BufferedReader(gzip.open(path, "rb"), buffer_size=1 << 20)
    return open(path, "rb", buffering=1 << 20)


@contextlib.contextmanager
def reading_errors(path: Path, where: Callable[[], int]) -> Iterator[None]:
    """Turn a truncated or corrupt gzip stream into a FileFormatError naming the file and the line.

    ``where()`` returns the last line read successfully (1-based).
    """
    try:
        yield
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        line = where()
        after = f" after line {line:,}" if line else ""
        raise FileFormatError(
            f"{path}: the compressed file is truncated or corrupt{after} ({exc}). "
            f"It was probably cut short while downloading or copying: fetch it again, and check it with "
            f"'gzip -t {path.name}'."
        ) from None


def decode(raw: bytes, path: Path, line_no: int) -> str:
    """UTF-8 text of one line, or a FileFormatError naming the line."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"{path}, line {line_no}: not valid UTF-8 text ({exc.reason} at byte {exc.start}). "
            "Save the file as UTF-8 (e.g. 'iconv -f latin1 -t utf-8 in.txt > out.txt')."
        ) from None


def _bad_value_message(text: str) -> str:
    if text.strip().lower() in _MISSING_TOKENS:
        return "missing"
    if not text.isascii():
        return "not a number (counts are written with the ASCII digits 0-9)"
    return "not a number"


def parse_counts(
    fields: Sequence[bytes] | Sequence[str],
    *,
    path: Path,
    line_no: int,
    row_label: str,
    col_labels: Sequence[str],
    row_is: str,
    allow_non_integer: bool,
) -> np.ndarray:
    """Parse one line's count fields into float64, checking each value.

    Parameters
    ----------
    fields : sequence of bytes or str
        The count fields of one line, in the order of ``col_labels``.
    path, line_no : Path, int
        Where the line is, for messages (``line_no`` is 1-based).
    row_label : str
        Name of the line's sample or gene.
    col_labels : sequence of str
        Names of the fields' samples or genes.
    row_is : {"gene", "sample"}
        What a line is, so the message can say "sample X, gene Y" either way.
    allow_non_integer : bool
        Accept values with a fractional part.

    Returns
    -------
    ndarray of float64, shape (len(fields),)

    Raises
    ------
    FileFormatError
        A value is not a number (or is missing).
    CountsError
        A value is NaN, infinite, negative, or (unless allowed) not a whole number.
    """
    def where(j: int) -> str:
        col = col_labels[j]
        sample, gene = (col, row_label) if row_is == "gene" else (row_label, col)
        return f"{path}, line {line_no}: sample {sample!r}, gene {gene!r}"

    try:
        values = np.array(fields, dtype=np.float64)
    except ValueError:
        for j, field in enumerate(fields):
            try:  # the parser that failed on the whole line, so it fails on the same field
                np.array([field], dtype=np.float64)
            except ValueError:
                text = field.decode("utf-8", errors="replace") if isinstance(field, bytes) else field
                raise FileFormatError(
                    f"{where(j)}: the count {text!r} is {_bad_value_message(text)}. Counts must be "
                    "non-negative whole numbers; fill missing counts with 0, or remove annotation "
                    "columns from the table."
                ) from None
        raise  # pragma: no cover - a line that fails as a whole fails in one of its fields
    _check_values(values[None, :], lambda i, j: where(j), allow_non_integer)
    return values


def _first(mask: np.ndarray) -> tuple[int, int]:
    """(row, column) of the first True of a 2-D mask in reading order."""
    k = int(np.argmax(mask.reshape(-1)))
    return divmod(k, mask.shape[1])


def _check_values(values: np.ndarray, where: Callable[[int, int], str], allow_non_integer: bool) -> None:
    """Raise CountsError at the first non-finite, negative or (unless allowed) fractional value."""
    finite = np.isfinite(values)
    if not finite.all():
        i, j = _first(~finite)
        raise CountsError(
            f"{where(i, j)}: the count is {values[i, j]} (not finite). Counts must be non-negative whole numbers; "
            "fill missing counts with 0 or drop the gene."
        )
    negative = values < 0
    if negative.any():
        i, j = _first(negative)
        raise CountsError(
            f"{where(i, j)}: the count {values[i, j]:.6g} is negative. Raw read counts are >= 0: pass counts "
            "before any log or z-score transformation (e.g. the GTEx gene_reads GCT, not gene_tpm)."
        )
    too_big = values >= MAX_COUNT
    if too_big.any():
        i, j = _first(too_big)
        raise CountsError(
            f"{where(i, j)}: the count {values[i, j]:.6g} is 2**53 ({MAX_COUNT:,}) or more, too large to be "
            "read exactly; no sequencing run gives that many reads. Is this an ID or a coordinate column? "
            "Remove it, or fix the value."
        )
    if not allow_non_integer:
        frac = values != np.floor(values)
        if frac.any():
            i, j = _first(frac)
            raise CountsError(
                f"{where(i, j)}: the count {values[i, j]:.6g} is not a whole number. This looks like normalised "
                "data (TPM, FPKM, expected counts); pass raw read counts, or accept it with "
                "read_counts(..., allow_non_integer=True)."
            )


def parse_count_rows(
    rows: Sequence[Sequence[bytes]],
    *,
    path: Path,
    line_numbers: Sequence[int],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    row_is: str,
    allow_non_integer: bool,
) -> np.ndarray:
    """Parse the count fields of several lines at once into a ``(len(rows), len(col_labels))`` array.

    Same checks and messages as :func:`parse_counts` (the first bad value in file order is
    reported), with the per-call overhead paid once per block instead of once per line.
    """
    try:
        values = np.array(rows, dtype=np.float64)
    except ValueError:
        for fields, line_no, label in zip(rows, line_numbers, row_labels):
            parse_counts(fields, path=path, line_no=line_no, row_label=label, col_labels=col_labels,
                         row_is=row_is, allow_non_integer=allow_non_integer)
        raise  # pragma: no cover - a row that fails in a block fails alone
    if values.ndim != 2:  # pragma: no cover - callers check the field counts
        raise FileFormatError(f"{path}: lines of unequal length near line {line_numbers[0]}.")

    def where(i: int, j: int) -> str:
        col, row = col_labels[j], row_labels[i]
        sample, gene = (col, row) if row_is == "gene" else (row, col)
        return f"{path}, line {line_numbers[i]}: sample {sample!r}, gene {gene!r}"

    _check_values(values, where, allow_non_integer)
    return values


class _RowStore:
    """Parsed blocks of rows, kept until the end, so memory grows with the kept data only."""

    def __init__(self, width: int, dtype):
        self.width = width
        self.dtype = np.dtype(dtype)
        self.blocks: list[np.ndarray] = []
        self.n_rows = 0

    def extend(self, rows: np.ndarray) -> None:
        """Keep a ``(k, width)`` block (converted to the store's dtype)."""
        self.blocks.append(np.asarray(rows, dtype=self.dtype))
        self.n_rows += rows.shape[0]

    def transposed(self) -> np.ndarray:
        """All rows as a C-contiguous ``(width, n_rows)`` array (columns = rows); frees the blocks."""
        out = np.empty((self.width, self.n_rows), dtype=self.dtype)
        self._move_rows_to(out.T)
        return out

    def stacked(self) -> np.ndarray:
        """All rows as a C-contiguous ``(n_rows, width)`` array; frees the blocks."""
        out = np.empty((self.n_rows, self.width), dtype=self.dtype)
        self._move_rows_to(out)
        return out

    def _move_rows_to(self, rows: np.ndarray) -> None:
        """Copy the blocks into ``rows`` (a ``(n_rows, width)`` array or view) in order, freeing each once copied."""
        start = 0
        self.blocks.reverse()
        while self.blocks:
            block = self.blocks.pop()
            rows[start:start + block.shape[0]] = block
            start += block.shape[0]


class _Pending:
    """Raw lines waiting to be parsed together (bounded: about ``max_fields`` fields)."""

    def __init__(self, store: _RowStore, *, path: Path, col_labels: Sequence[str], row_is: str,
                 allow_non_integer: bool, max_fields: int = 1 << 18):
        self.store = store
        self.kw = dict(path=path, col_labels=col_labels, row_is=row_is, allow_non_integer=allow_non_integer)
        self.max_rows = max(1, max_fields // max(1, len(col_labels)))
        self.rows: list[Sequence[bytes]] = []
        self.lines: list[int] = []
        self.labels: list[str] = []

    def add(self, fields: Sequence[bytes], line_no: int, label: str) -> None:
        self.rows.append(fields)
        self.lines.append(line_no)
        self.labels.append(label)
        if len(self.rows) >= self.max_rows:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.store.extend(parse_count_rows(self.rows, line_numbers=self.lines, row_labels=self.labels,
                                               **self.kw))
            self.rows, self.lines, self.labels = [], [], []


def final_dtype(values: np.ndarray) -> np.ndarray:
    """int64 when every value is whole (always so unless non-integers were allowed), else float64."""
    if values.size and not np.array_equal(values, np.floor(values)):
        return values
    return values.astype(np.int64)


def user_stacklevel() -> int:
    """Stack level of the first frame outside ``genevec.io``, so a warning points at the user's call."""
    import sys

    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("genevec.io"):
        frame = frame.f_back
        level += 1
    return level


def _delimiter(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return "," if name.endswith(".csv") else "\t"


def read_table(path: str | os.PathLike, *, genes_as: str | None, gene_names: str = "symbol",
               duplicates: str = "sum", allow_non_integer: bool = False) -> pd.DataFrame:
    """Read a TSV/CSV count table (plain or ``.gz``) into a samples x genes DataFrame.

    Parameters
    ----------
    path : str or PathLike
        ``.tsv``, ``.txt`` (tab-separated) or ``.csv`` (comma-separated), optionally gzipped.
        The first line is the header; the first field of each line is its label (the header's
        first field, the corner, is ignored).
    genes_as : {"columns", "rows"}
        The orientation, which must be stated: ``"columns"`` when each line is a sample (genes
        across), ``"rows"`` when each line is a gene (samples across).
    gene_names : {"symbol", "ensembl"}, default="symbol"
        ``"ensembl"`` strips ``.N`` version suffixes from the labels; ``"symbol"`` keeps them as written.
    duplicates : {"sum", "first", "error"}, default="sum"
        What to do with genes that occur more than once (see :func:`genevec.io.symbols.resolve_duplicates`).
    allow_non_integer : bool, default=False
        Accept non-integer values (then the result is float64).

    Returns
    -------
    DataFrame of int64, shape (n_samples, n_genes)
        Index = sample IDs, columns = gene names.

    Raises
    ------
    ValueError
        ``genes_as`` missing or not one of the two values.
    FileFormatError
        Empty file, a line with too few or too many fields, a value that is not a number,
        duplicated sample labels.
    CountsError
        A negative, non-finite or (unless allowed) non-integer count.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from genevec.io import read_table
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "counts.csv").write_text("gene,S1,S2\\nTP53,5,0\\nEGFR,2,7\\n")
    >>> df = read_table(folder / "counts.csv", genes_as="rows")
    >>> df.index.tolist(), df.columns.tolist(), df.to_numpy().tolist()
    (['S1', 'S2'], ['TP53', 'EGFR'], [[5, 2], [0, 7]])
    """
    from .symbols import resolve_duplicates, strip_version

    if genes_as not in ("columns", "rows"):
        got = "" if genes_as is None else f" (got genes_as={genes_as!r})"
        raise ValueError(
            f"{path}: a count table's orientation must be stated{got}. Pass genes_as='columns' if each "
            "line is a sample (gene names in the header), or genes_as='rows' if each line is a gene "
            "(sample IDs in the header), e.g. read_counts(path, genes_as='rows')."
        )
    check_gene_names_mode(gene_names)
    p = check_file(path, "counts file")
    sep = _delimiter(p)
    row_is = "gene" if genes_as == "rows" else "sample"
    line_no = 0

    def last_line() -> int:
        return line_no

    with open_binary(p) as raw, reading_errors(p, last_line):
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, delimiter=sep)
        try:
            header = None
            for header in reader:
                line_no = reader.line_num
                if any(f.strip() for f in header):
                    break
            else:
                header = None
            if header is None:
                raise FileFormatError(
                    f"{p}: the file is empty. A count table needs a header line and one line per "
                    f"{row_is}."
                )
            col_labels = [c.strip() for c in header[1:]]
            if not col_labels:
                raise FileFormatError(
                    f"{p}, line {line_no}: the header has a single field; expected a label column and at "
                    f"least one {'sample' if row_is == 'gene' else 'gene'} column separated by {sep!r}. "
                    "Check the delimiter: .csv files are comma-separated, .tsv/.txt tab-separated."
                )
            n_fields = len(header)
            row_labels: list[str] = []
            store = _RowStore(len(col_labels), np.float64 if allow_non_integer else np.int64)
            pending = _Pending(store, path=p, col_labels=col_labels, row_is=row_is,
                               allow_non_integer=allow_non_integer)
            for fields in reader:
                line_no = reader.line_num
                if not any(f.strip() for f in fields):
                    continue
                if len(fields) != n_fields:
                    label = fields[0] if fields else ""
                    hint = (" If the header has no label for the first column (R write.table style), add "
                            "one, e.g. 'gene'." if len(fields) == n_fields + 1 and not row_labels else "")
                    raise FileFormatError(
                        f"{p}, line {line_no} ({row_is} {label!r}): expected {n_fields} fields like the "
                        f"header (line 1), found {len(fields)}. Fix or remove that line.{hint}"
                    )
                label = fields[0].strip()
                row_labels.append(label)
                pending.add(fields[1:], line_no, label)
            pending.flush()
        except csv.Error as exc:
            raise FileFormatError(f"{p}, line {reader.line_num}: {exc}. Fix the quoting on that line.") from None

    if not row_labels:
        raise FileFormatError(
            f"{p}: the header (line 1) is followed by no data line, so there are no counts to read. "
            "Check that the file was written completely."
        )
    if genes_as == "rows":
        values, genes, samples = store.transposed(), row_labels, col_labels
    else:
        values, genes, samples = store.stacked(), col_labels, row_labels
    _check_unique_samples(samples, p)
    if gene_names == "ensembl":
        genes = strip_version(genes)
    values, genes = resolve_duplicates(values, np.asarray(genes, dtype=object), duplicates, source=str(p))
    df = pd.DataFrame(final_dtype(values) if allow_non_integer else values, index=pd.Index(samples, name="sample"),
                      columns=pd.Index(genes, name="gene"))
    log.info("read %s: %d samples x %d genes", p, df.shape[0], df.shape[1])
    return df


def _check_unique_samples(samples: Sequence[str], path: Path) -> None:
    seen: set[str] = set()
    dup = [s for s in samples if s in seen or seen.add(s)]
    if dup:
        shown = ", ".join(repr(s) for s in list(dict.fromkeys(dup))[:5])
        raise FileFormatError(
            f"{path}: {len(set(dup))} sample ID(s) occur more than once ({shown}). Each sample needs a "
            "unique ID: rename or remove the repeated ones."
        )
    empty = [i for i, s in enumerate(samples) if not s]
    if empty:
        raise FileFormatError(
            f"{path}: sample number {empty[0] + 1} has an empty ID. Give every sample an ID in the file."
        )
