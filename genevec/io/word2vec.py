"""word2vec text files of gene vectors, and the JSON sidecar beside them.

Line 1 is ``"n_genes dim"``, then one line per gene: the symbol and ``dim`` numbers separated by
single spaces; gensim, text2vec and most embedding tools read it. genevec writes each number with
the fewest digits that read back to the same bits and keeps what word2vec text cannot hold (the
training metadata, the dtype, the neighbour support) in ``<path>.json``. A name ending in ``.gz``
is gzip-compressed. :func:`load_vectors` reads a file back into a :class:`genevec.GeneVectors`
(whose :meth:`~genevec.GeneVectors.save` calls :func:`write_word2vec`); every malformed file is
reported with its path, the 1-based line, the gene, the value and the fix.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._atomic import atomic_write
from ..exceptions import FileFormatError

if TYPE_CHECKING:  # pragma: no cover
    from ..similarity import GeneVectors

log = logging.getLogger(__name__)

__all__ = ["load_vectors", "write_word2vec"]

#: Printf formats that write each dtype with the fewest digits that still read back exactly.
_FLOAT_FORMAT = {np.dtype(np.float32): "%.9g", np.dtype(np.float64): "%.17g"}

_SIDECAR_FORMAT = "genevec.GeneVectors"


def _sidecar_path(path: str | os.PathLike) -> str:
    return os.fspath(path) + ".json"


# ---------------------------------------------------------------------------------------- writing
def write_word2vec(path: str | os.PathLike, vectors: np.ndarray, genes: Sequence[str], *,
                   metadata: Mapping[str, Any], support: Any = None) -> None:
    """Write ``vectors`` (one row per gene of ``genes``) as word2vec text, and the sidecar when needed.

    What :meth:`genevec.GeneVectors.save` does (its docstring gives the format and the errors):
    the sidecar is written when there is metadata or support, or the dtype is not float32; else a
    genevec sidecar left at ``<path>.json`` by an earlier save is removed. ``support`` is a
    :class:`genevec.stability.NeighbourSupport` or None.
    """
    n, dim = vectors.shape
    target = os.fspath(path)
    for i, g in enumerate(genes):
        if any(ch.isspace() for ch in g):
            raise ValueError(
                f"Cannot save gene {g!r} (row {i}) to {target}: word2vec text separates fields with "
                "whitespace, so gene symbols may not contain spaces, tabs or newlines. Nothing was written. "
                "Rename it first, e.g. GeneVectors(gv.vectors, [g.replace(' ', '_') for g in gv.genes], "
                "metadata=gv.metadata)."
            )
    dtype = vectors.dtype
    sidecar = None
    if metadata or dtype != np.float32 or support is not None:
        content = {"format": _SIDECAR_FORMAT, "dtype": str(dtype), "n_genes": n, "dim": dim,
                   "metadata": _jsonable(metadata, target)}
        if support is not None:
            content["support"] = support.to_json()
        sidecar = json.dumps(content, indent=2, sort_keys=False, allow_nan=True) + "\n"
    line_format = "%s" + (" " + _FLOAT_FORMAT[dtype]) * dim + "\n"

    def write(fh):
        fh.write(f"{n} {dim}\n")
        for start in range(0, n, 1024):
            rows = vectors[start:start + 1024].tolist()
            fh.write("".join([line_format % (genes[start + j], *row) for j, row in enumerate(rows)]))

    if target.endswith(".gz"):
        import io

        with atomic_write(target, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
                text = io.TextIOWrapper(gz, encoding="utf-8", newline="")
                write(text)
                text.flush()
                text.detach()  # leave closing to GzipFile and atomic_write
    else:
        with atomic_write(target, "w") as fh:
            write(fh)
    side = _sidecar_path(target)
    if sidecar is not None:
        with atomic_write(side, "w") as fh:
            fh.write(sidecar)
    elif os.path.exists(side) and _is_our_sidecar(side):
        os.remove(side)
    log.debug("saved %d genes x %d dims to %s", n, dim, target)


def _jsonable(meta: Mapping[str, Any], target: str) -> dict:
    """Metadata with NumPy scalars and arrays made JSON-native; anything else must already be."""

    def convert(value: Any, key: str) -> Any:
        if isinstance(value, (str, bool, int, float)) or value is None:
            return value
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, (list, tuple)):
            return [convert(v, key) for v in value]
        if isinstance(value, Mapping):
            return {str(k): convert(v, key) for k, v in value.items()}
        raise TypeError(
            f"Cannot save metadata[{key!r}] = {value!r} ({type(value).__name__}) to {target}.json: it is not "
            "JSON data. Nothing was written. Store it as a str, number, bool, list or dict, e.g. str(value)."
        )

    return {k: convert(v, k) for k, v in meta.items()}


def _is_our_sidecar(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh).get("format") == _SIDECAR_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


# ---------------------------------------------------------------------------------------- reading
def _fail(path: str, line: int | None, message: str) -> FileFormatError:
    where = f"{path}, line {line}" if line is not None else path
    return FileFormatError(f"{where}: {message}")


def _read_sidecar(path: str) -> dict | None:
    side = _sidecar_path(path)
    if not os.path.exists(side):
        return None
    if not os.path.isfile(side):
        raise _fail(side, None, "is a folder where the vectors' JSON sidecar belongs. Move it away; the sidecar "
                    "only holds the training parameters and the dtype.")
    try:
        with open(side, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise _fail(side, exc.lineno, f"is not valid JSON ({exc.msg}, column {exc.colno}). Fix or delete it; "
                    "it only holds the training parameters and the dtype.") from None
    except UnicodeDecodeError:
        raise _fail(side, None, "is not UTF-8 text. Delete it; it only holds the training parameters.") from None
    if not isinstance(data, dict) or data.get("format") != _SIDECAR_FORMAT:
        raise _fail(side, None, f"is not a genevec sidecar (expected a JSON object with \"format\": "
                    f"\"{_SIDECAR_FORMAT}\"). Move it away or delete it.")
    if data.get("dtype", "float32") not in ("float32", "float64"):
        raise _fail(side, None, f"gives the dtype {data.get('dtype')!r}; a genevec sidecar says \"float32\" or "
                    "\"float64\". Fix it, delete it, or save the vectors again.")
    meta = data.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise _fail(side, None, f"holds metadata of type {type(meta).__name__} ({_short(meta)}); it must be a "
                    "JSON object (a dict) or absent. Fix it, delete it, or save the vectors again.")
    return data


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def load_vectors(path: str | os.PathLike, *, dtype: Any = None) -> GeneVectors:
    """Read gene vectors from a word2vec text file (as written by :meth:`GeneVectors.save` or gensim).

    Parameters
    ----------
    path : str or os.PathLike
        The file; gzip-compressed if its name ends in ``.gz``. Its sidecar ``<path>.json``, if
        present, gives the metadata and the dtype.
    dtype : {None, "float32", "float64"}, default=None
        Dtype of the vectors. ``None`` takes the sidecar's, else float32 (the word2vec default).

    Returns
    -------
    GeneVectors

    Raises
    ------
    FileNotFoundError
        No such file.
    FileFormatError
        The file is malformed: an empty file, a bad header, a line with the wrong number of
        numbers, a value that is not a finite number, a duplicate gene, fewer or more gene lines
        than the header declares, not gzip data (for ``.gz``), or a bad sidecar. The message names
        the file, the 1-based line number, the gene, the value and the fix.

    Examples
    --------
    >>> import os, tempfile
    >>> from genevec import load_vectors
    >>> path = os.path.join(tempfile.mkdtemp(), "v.txt")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("2 3\\nEGFR 1 0 0.5\\nTP53 0 1 -0.5\\n")
    >>> gv = load_vectors(path)
    >>> gv.genes, gv.vectors.dtype, gv["TP53"].tolist()
    (['EGFR', 'TP53'], dtype('float32'), [0.0, 1.0, -0.5])
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"No vectors file {name!r}. Write one with GeneVectors.save(path) or `genevec train`.")
    if os.path.isdir(name):
        raise IsADirectoryError(f"{name!r} is a folder; give the vectors file inside it.")
    side = _read_sidecar(name)
    if dtype is None:
        dtype = side.get("dtype", "float32") if side else "float32"
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"load_vectors({name!r}): dtype must be float32 or float64, got {dtype!r}.")

    is_gz = name.endswith(".gz")
    # utf-8-sig: a byte-order mark (left by some Windows editors) is skipped, not read as part of line 1
    fh = (gzip.open(name, "rt", encoding="utf-8-sig", newline="") if is_gz
          else open(name, encoding="utf-8-sig", newline=""))
    try:
        with fh:
            genes, rows = _parse_word2vec(fh, name)
    except UnicodeDecodeError as exc:
        hint = ("a gzip file whose name does not end in .gz? Rename it to *.gz" if _looks_gzip(name) and not is_gz
                else "a binary word2vec file? Convert it with gensim: KeyedVectors.load_word2vec_format(path, "
                "binary=True).save_word2vec_format(out, binary=False)")
        raise _fail(name, None, f"is not UTF-8 text (byte {exc.start} of a line: {exc.reason}); {hint}.") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise _fail(name, None, f"cannot be decompressed ({exc}); the name ends in .gz but the file is not "
                    "complete gzip data. Re-save it, or drop the .gz from the name if it is plain text.") from None
    if side is not None and (side.get("n_genes") != len(genes) or side.get("dim") != rows.shape[1]):
        raise _fail(_sidecar_path(name), None,
                    f"describes {side.get('n_genes')} genes x {side.get('dim')} dims, but {name} holds "
                    f"{len(genes)} x {rows.shape[1]}: the sidecar belongs to another file. Delete it or save again.")
    with np.errstate(over="ignore"):
        vectors = rows.astype(dt)
    if dt == np.float32:
        too_big = np.isinf(vectors)  # the text values are finite, so inf means out of float32's range
        if too_big.any():
            r, c = (int(i[0]) for i in np.nonzero(too_big))
            raise _fail(name, r + 2, f"gene {genes[r]!r}, value {c + 1} is {float(rows[r, c])!r}, beyond the "
                        "float32 range. Load it with load_vectors(path, dtype='float64').")
    meta = side.get("metadata") if side else None
    support = None
    if side and side.get("support") is not None:
        from ..stability import NeighbourSupport

        try:
            support = NeighbourSupport.from_json(side["support"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _fail(_sidecar_path(name), None, f"holds a 'support' entry that cannot be read ({exc!r}). Delete "
                        "the entry, or compute it again with genevec.stability.") from None
    from ..similarity import GeneVectors

    return GeneVectors(vectors, genes, metadata=meta, support=support)


def _genes(n: int) -> str:
    return f"{n:,} gene" if n == 1 else f"{n:,} genes"


def _looks_gzip(name: str) -> bool:
    with open(name, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _parse_word2vec(fh, name: str) -> tuple[list[str], np.ndarray]:
    header = fh.readline()
    if not header:
        raise _fail(name, None, "the file is empty; expected the word2vec header 'n_genes dim' on line 1 and "
                    "one line per gene. Re-save the vectors with GeneVectors.save(path).")
    fields = header.split()
    if len(fields) != 2 or not all(f.isascii() and f.isdigit() for f in fields):  # not '²' or '٣'
        shown = header.strip()[:60]
        if len(fields) > 2:
            fix = (f"this looks like a GloVe text file without the header: add the line '<number of genes> "
                   f"{len(fields) - 1}' at the top")
        else:
            fix = "the first line must be two whole numbers, the gene count and the vector length, e.g. '25321 100'"
        raise _fail(name, 1, f"expected the word2vec header 'n_genes dim', found {shown!r}; {fix}.")
    n, dim = int(fields[0]), int(fields[1])
    if n < 1 or dim < 1:
        raise _fail(name, 1, f"the header declares {n} genes of length {dim}; both must be at least 1.")
    genes: list[str] = []
    seen: dict[str, int] = {}
    rows = []
    lineno = 1
    for lineno, line in enumerate(fh, start=2):
        parts = line.split()
        if len(genes) == n:
            if parts:
                raise _fail(name, lineno, f"the header declares {_genes(n)} but gene {parts[0]!r} is number "
                            f"{n + 1:,}. Fix the count on line 1 or remove the extra lines.")
            continue
        if not parts:
            raise _fail(name, lineno, f"empty line where gene {len(genes) + 1:,} of {n:,} was expected. "
                        "Remove blank lines.")
        gene = parts[0]
        if len(parts) - 1 != dim:
            raise _fail(name, lineno, f"gene {gene!r} has {len(parts) - 1} values but the header declares dim "
                        f"{dim}. Every line must be the gene and {dim} numbers separated by spaces (is a gene "
                        "symbol split by a space, or the line cut short?).")
        try:
            values = [float(v) for v in parts[1:]]
            # float() reads '١' or '１' as 1; only ASCII numbers are word2vec numbers (gene symbols may be any text)
            if not line.isascii() and not all(v.isascii() for v in parts[1:]):
                raise ValueError
        except ValueError:
            for col, v in enumerate(parts[1:], start=1):
                try:
                    if not v.isascii():
                        raise ValueError
                    float(v)
                except ValueError:
                    raise _fail(name, lineno, f"gene {gene!r}, value {col} is {v!r}, which is not a number. "
                                "Values must be decimal numbers such as 0.25 or -1.5e-3.") from None
            raise  # pragma: no cover
        if not all(map(math.isfinite, values)):
            col = next(i for i, v in enumerate(values, start=1) if not math.isfinite(v))
            raise _fail(name, lineno, f"gene {gene!r}, value {col} is {parts[col]!r}; vectors must be finite. "
                        "Retrain (with a lower learning_rate if training diverged).")
        if gene in seen:
            raise _fail(name, lineno, f"gene {gene!r} already appeared on line {seen[gene]}; each gene must "
                        "appear once. Remove or rename one of the two lines.")
        seen[gene] = lineno
        genes.append(gene)
        rows.append(values)
    if len(genes) < n:
        raise _fail(name, lineno, f"the file ends after {_genes(len(genes))} but the header declares {n:,}. "
                    "The file is truncated (re-save it) or the count on line 1 is wrong.")
    return genes, np.array(rows, dtype=np.float64).reshape(n, dim)

