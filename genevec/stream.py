"""Co-occurrence of cells streamed in chunks: backed ``.h5ad`` files, iterables of CSR blocks, Dask arrays.

``T = AᵀA`` is a sum over cells, so it is built chunk by chunk: each chunk of cells (a CSR block) is
added to the packed upper-triangle tiles of :mod:`genevec._layout` by the ``accumulate_chunk``
kernel, and memory is bounded by the genes, never by the cells: the packed float64 tiles
(``4 * n_genes^2`` bytes) and one chunk (a few copies of it, one regrouped by gene group). The
float32 training tiles of a file are built in bands of tile rows instead (:func:`training_tiles`):
the result (``2 * n_genes^2`` bytes) plus one 256 MiB float64 band, one pass over the file per band.

Exactness and order. Entry ``(i, j)`` receives the products of the cells in the order of the data
(chunk after chunk, cells ascending within a chunk), one at a time, whatever the number of threads,
so integer counts give the exact integers (as long as entries stay below 2^53), bit-identical to
the in-memory :func:`genevec.dtm_to_tcm`. On Dask, each block of rows gives its own partial tiles,
summed in a binary tree whose shape depends on the number of blocks only (never on the number of
workers); for integer counts that is again the exact result.

The inputs (:func:`cell_chunks`):

* a path to an ``.h5ad`` file, or an AnnData opened with ``anndata.read_h5ad(path, backed="r")``:
  the counts (``X``, or ``layers[layer]``) are read from the file a chunk of cells at a time;
* an iterable of row blocks (scipy.sparse matrices, ndarrays, DataFrames or AnnData, all with the
  same genes in the same order);
* a Dask array, or an AnnData whose counts are one (reduced with ``dask.delayed``, see
  :func:`dask_partial_tiles`).

Over ~500 lines for a reason: one idea, a chunk of cells added to the tiles, met by every input
kind (files, AnnData, iterables, Dask) with its checking pass and its bounded-memory band build;
the kernel is ``_tcm.accumulate_chunk``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import _layout
from ._validation import check_gene_names, first_bad_counts
from .exceptions import CountsError, FileFormatError

__all__ = ["CellChunks", "cell_chunks", "is_streamed", "tcm_tiles", "training_tiles", "log_tiles", "scan"]

log = logging.getLogger(__name__)

#: Nonzeros per chunk read from an ``.h5ad`` file (about 50 MB for each copy of a chunk).
CHUNK_NNZ = 2**22
#: Largest dense chunk read from an ``.h5ad`` file, in float64 bytes.
CHUNK_DENSE_BYTES = 128 * 2**20
#: Values converted at a time when ``log T`` is written over the float64 tiles.
LOG_BLOCK = 2**23
#: Largest float64 band of tiles accumulated at once when the float32 result is built band by band.
MAX_BUFFER_BYTES = 256 * 2**20

INSTALL_DASK = 'pip install "genevec[dask]"'


# ---------------------------------------------------------------------------------------- sources
@dataclass
class CellChunks:
    """A cells x genes count matrix read a chunk of cells at a time.

    Attributes
    ----------
    genes : ndarray of str, shape (n_genes,)
        Gene names (after the column selection, if any).
    n_cells : int or None
        Cells, when known before reading (files, lists); None for a one-shot iterator.
    source : str
        What the chunks come from, for messages (a file and its matrix, "the chunk iterable").
    reiterable : bool
        Whether :meth:`chunks` can be called more than once (False for a generator).
    columns : ndarray of int or None
        Columns of the source kept, in order (``chunks[:, keep]``); None keeps all.
    named : bool
        Whether the genes have names of their own (a file's ``var_names``, named blocks).
    checked : bool
        Every chunk passed :func:`check_streamed_counts`' pass: :meth:`chunks` does not check the
        counts again (validation happens once, at the boundary).
    """

    genes: np.ndarray
    n_cells: int | None
    source: str
    reiterable: bool
    _blocks: Callable[[], Iterator[tuple[int, object]]] = field(repr=False)
    _cell_name: Callable[[int], str] | None = field(default=None, repr=False)
    columns: np.ndarray | None = None
    named: bool = False
    source_genes: list = field(default_factory=list, repr=False)
    checked: bool = False
    _used: bool = field(default=False, repr=False)

    def __post_init__(self):
        if not self.source_genes:
            self.source_genes = [str(g) for g in self.genes]

    @property
    def shape(self) -> tuple[int, int]:
        return (-1 if self.n_cells is None else self.n_cells, len(self.genes))

    def __getitem__(self, key):
        """``chunks[:, mask_or_indices]``: the same cells, a subset of the genes (applied to each chunk)."""
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None)):
            raise TypeError("CellChunks supports only column selection, chunks[:, genes].")
        cols = np.arange(len(self.genes))[key[1]]
        base = cols if self.columns is None else self.columns[cols]
        return replace(self, genes=self.genes[cols], columns=base)

    def cell_name(self, row: int) -> str:
        if self._cell_name is not None:
            try:
                return f"cell {self._cell_name(row)!s} (row {row:,})"
            except Exception:  # names are only for the message: never hide the real problem
                pass
        return f"cell row {row:,}"

    def chunks(self, *, allow_non_integer: bool = True, caller: str = "genevec") -> Iterator[tuple[int, sp.csr_matrix]]:
        """Yield ``(first_row, X)`` with ``X`` a canonical float64 CSR of the chunk, validated (unless ``checked``)."""
        if self._used and not self.reiterable:
            raise ValueError(
                f"{caller}: {self.source} is a one-shot iterator that was already read. Pass a list of blocks, "
                "a path or a backed AnnData to read the cells more than once."
            )
        self._used = True
        for k, (row0, block) in enumerate(self._blocks()):
            X = _as_csr(block, k, self, caller)
            if not self.checked:
                check_chunk(X, k, row0, self, allow_non_integer=allow_non_integer, caller=caller)
            if self.columns is not None:
                X = X[:, self.columns]
            yield row0, X


def _as_csr(block, k: int, src: CellChunks, caller: str) -> sp.csr_matrix:
    """A chunk as float64 CSR with sorted, summed indices; its genes checked against the source's."""
    if type(block).__name__ == "AnnData":
        names = [str(g) for g in block.var_names]
        block = block.X
    elif isinstance(block, pd.DataFrame):
        names = [str(g) for g in block.columns]
        block = block.sparse.to_coo() if any(isinstance(d, pd.SparseDtype) for d in block.dtypes) else block.to_numpy()
    else:
        names = None
    if names is not None:
        _check_chunk_genes(names, k, src, caller)
    if sp.issparse(block):
        X = sp.csr_matrix(block)
    else:
        arr = np.asarray(block)
        if arr.ndim != 2 or arr.dtype.kind not in "biuf":
            raise CountsError(
                f"{caller}: chunk {k} of {src.source} is not a 2-d numeric cells x genes block "
                f"(got {type(block).__name__} of shape {getattr(arr, 'shape', '?')}, dtype {arr.dtype}). "
                "Yield scipy.sparse CSR matrices (or arrays) with one column per gene."
            )
        X = sp.csr_matrix(arr)
    if X.dtype.kind not in "biuf":
        raise CountsError(f"{caller}: chunk {k} of {src.source} has dtype {X.dtype}; counts must be numeric.")
    expected = len(src.source_genes)
    if X.shape[1] != expected:
        raise CountsError(
            f"{caller}: chunk {k} of {src.source} has {X.shape[1]:,} gene columns, but chunk 0 has {expected:,}. "
            "Every chunk must hold the same genes in the same order."
        )
    X = X.astype(np.float64, copy=True)
    X.sum_duplicates()
    X.sort_indices()
    X.eliminate_zeros()
    return X


def _check_chunk_genes(names, k: int, src: CellChunks, caller: str) -> None:
    ref = src.source_genes
    if len(names) != len(ref) or any(a != b for a, b in zip(names, ref)):
        at = next((c for c, (a, b) in enumerate(zip(names, ref)) if a != b), min(len(names), len(ref)))
        mine = names[at] if at < len(names) else "<end>"
        first = ref[at] if at < len(ref) else "<end>"
        raise CountsError(
            f"{caller}: the genes of chunk {k} of {src.source} disagree with chunk 0's at column {at:,} "
            f"({mine!r} vs {first!r}). Every chunk must hold the same genes in the same order: reorder each "
            "block to the first block's genes (block[:, genes]) before passing it."
        )


def check_chunk(X: sp.csr_matrix, k: int, row0: int, src: CellChunks, *, allow_non_integer: bool,
                caller: str) -> None:
    """Refuse non-finite, negative, too large or (unless allowed) non-integer counts, naming chunk, cell and gene."""
    data = X.data
    found = first_bad_counts(data, allow_non_integer=allow_non_integer)
    if found is None:
        return
    problem, bad = found

    def where(mask):
        q = int(np.flatnonzero(mask)[0])
        row = int(np.searchsorted(X.indptr, q, side="right") - 1)
        gene = int(X.indices[q])
        name = src.source_genes[gene] if gene < len(src.source_genes) else f"column {gene}"
        return f"{data[q]:.6g} at chunk {k}, {src.cell_name(row0 + row)}, gene {name!s}"

    if problem == "non-finite":
        raise CountsError(
            f"{caller}: {src.source} has {int(bad.sum()):,} NaN or infinite value(s) in chunk {k}; the first is "
            f"{where(bad)}. Counts must be finite: fix or drop those cells."
        )
    if problem == "negative":
        raise CountsError(
            f"{caller}: expects raw read counts, but {src.source} has {int(bad.sum()):,} negative value(s) in "
            f"chunk {k}; the first is {where(bad)}. Pass counts before log or z-score normalisation "
            "(e.g. layer='counts')."
        )
    if problem == "too large":
        raise CountsError(
            f"{caller}: {src.source} has value(s) of 2**53 or more in chunk {k}; the first is {where(bad)}. "
            "Such values cannot be held exactly in float64 and are not read counts."
        )
    # problem == "non-integer"
    raise CountsError(
        f"{caller}: expects integer read counts, but {src.source} has {int(bad.sum()):,} non-integer "
        f"value(s) in chunk {k}; the first is {where(bad)}. This looks like normalised data: pass the raw "
        "counts (for AnnData often layer='counts'), or say that the values are not counts with "
        "allow_non_integer=True."
    )


def is_streamed(X, layer: str | None = None) -> bool:
    """Whether ``X`` is read in chunks (a path, a backed or Dask-backed AnnData, an iterable, a Dask array)."""
    if isinstance(X, (str, os.PathLike)) or _is_dask(X) or isinstance(X, CellChunks):
        return True
    if type(X).__name__ == "AnnData":
        return bool(getattr(X, "isbacked", False)) or _is_dask(_anndata_matrix(X, layer, "genevec"))
    if isinstance(X, (np.ndarray, pd.DataFrame, pd.Series, list, tuple)) and _looks_like_matrix(X):
        return False
    if sp.issparse(X) or isinstance(X, (np.ndarray, pd.DataFrame, pd.Series, bytes, dict)):
        return False
    return isinstance(X, Iterable)


def _looks_like_matrix(X) -> bool:
    """A list of numbers or of rows is a matrix; a list of blocks (sparse, 2-d arrays, frames) is a chunk list."""
    if not isinstance(X, (list, tuple)):
        return True
    first = X[0] if len(X) else None
    return not (sp.issparse(first) or isinstance(first, pd.DataFrame) or type(first).__name__ == "AnnData"
                or (isinstance(first, np.ndarray) and first.ndim == 2))


def _is_dask(X) -> bool:
    return type(X).__module__.startswith("dask.") and type(X).__name__ == "Array"


def _anndata_matrix(adata, layer: str | None, caller: str):
    if layer is None:
        if adata.X is None:
            raise ValueError(f"{caller}: adata.X is empty (None). Name the layer holding the counts, e.g. "
                             f"layer={next(iter(adata.layers.keys()), 'counts')!r}.")
        return adata.X
    _check_layer(layer, list(adata.layers.keys()), "the AnnData", caller)
    return adata.layers[layer]


def _check_layer(layer: str, layers: list, where: str, caller: str) -> None:
    if not isinstance(layer, str):
        raise TypeError(f"{caller}: layer must be a str (the name of a layer) or None for X, got {layer!r}.")
    if layer not in layers:
        shown = ", ".join(repr(k) for k in layers) or "none"
        raise ValueError(
            f"{caller}: {where} has no layer {layer!r}; its layers are: {shown}. Pass one of them as layer=..., "
            "or layer=None for X."
        )


def in_memory_anndata(adata, layer: str | None, caller: str):
    """An in-memory AnnData reduced to the chosen counts (``X`` or a layer) and its names, for check_counts."""
    import anndata

    M = _anndata_matrix(adata, layer, caller)
    if layer is None:
        return adata
    return anndata.AnnData(X=M, obs=pd.DataFrame(index=adata.obs_names), var=pd.DataFrame(index=adata.var_names))


def cell_chunks(X, *, layer: str | None = None, gene_names=None, chunk_nnz: int = CHUNK_NNZ,
                caller: str = "genevec") -> CellChunks:
    """Describe a streamed count matrix (see the module docstring for the inputs); reads no counts yet.

    Parameters
    ----------
    X : str, PathLike, AnnData (backed), or iterable of row blocks
    layer : str, optional
        The layer holding the counts; None reads ``X``. Never guessed.
    gene_names : sequence of str, optional
        Names of the columns of unnamed blocks.
    chunk_nnz : int
        Nonzeros per chunk read from a file (the chunk boundaries never change the result).

    Returns
    -------
    CellChunks
    """
    if isinstance(X, CellChunks):
        return X
    if isinstance(X, (str, os.PathLike)):
        return _h5ad_chunks(os.fspath(X), layer, chunk_nnz, caller)
    if type(X).__name__ == "AnnData":
        if getattr(X, "isbacked", False):
            return _h5ad_chunks(os.fspath(X.filename), layer, chunk_nnz, caller, adata=X)
        raise TypeError(f"{caller}: an in-memory AnnData is not read in chunks; pass it to check_counts.")
    if isinstance(X, Iterable) and not isinstance(X, (str, bytes)):
        return _iterable_chunks(X, gene_names, caller)
    raise TypeError(f"{caller}: cannot read {type(X).__name__} in chunks.")


def _iterable_chunks(blocks, gene_names, caller: str) -> CellChunks:
    reiterable = iter(blocks) is not blocks
    it = iter(blocks)
    try:
        first = next(it)
    except StopIteration:
        raise CountsError(f"{caller}: the iterable of chunks is empty; pass at least one cells x genes block.") from None
    if type(first).__name__ == "AnnData":
        names, named = np.asarray(first.var_names, dtype=object), True
    elif isinstance(first, pd.DataFrame):
        names, named = np.asarray(first.columns, dtype=object), True
    else:
        named = gene_names is not None
        n = getattr(first, "shape", (0, 0))[1] if getattr(first, "ndim", 2) == 2 else 0
        names = np.arange(n).astype(str) if gene_names is None else gene_names
    if gene_names is not None:
        names = gene_names
    genes = check_gene_names(names, int(getattr(first, "shape", (0, len(names)))[1]), caller=caller)

    def gen():
        source = iter(blocks) if reiterable else _chain(first, it)
        row = 0
        for block in source:
            yield row, block
            row += int(block.shape[0])

    n_cells = sum(int(b.shape[0]) for b in blocks) if isinstance(blocks, (list, tuple)) else None
    return CellChunks(genes=genes, n_cells=n_cells, source="the chunk iterable", reiterable=reiterable, _blocks=gen,
                      named=named)


def _chain(first, rest):
    yield first
    yield from rest


# ---------------------------------------------------------------------------------------- .h5ad files
def _h5_open(path: str, caller: str):
    try:
        import h5py
    except ImportError:
        raise ImportError(f'{caller}: reading .h5ad files needs h5py (pip install "genevec[anndata]").') from None
    if not os.path.exists(path):
        raise FileNotFoundError(f"{caller}: no such file: {path}. Check the path (relative to {os.getcwd()}).")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise FileFormatError(
            f"{caller}: {path} cannot be opened as HDF5 ({exc}); it is truncated or not an .h5ad file. "
            "Copy it again, or write it with adata.write_h5ad(path)."
        ) from None


def _index_of(f, group: str):
    from anndata.io import read_elem

    return np.asarray(read_elem(f[group]).index, dtype=object)


def _h5ad_chunks(path: str, layer: str | None, chunk_nnz: int, caller: str, adata=None) -> CellChunks:
    with _h5_open(path, caller) as f:
        if layer is None:
            key = "X"
            if key not in f:
                layers = list(f["layers"].keys()) if "layers" in f else []
                raise ValueError(f"{caller}: {path} has no X; name the layer holding the counts, e.g. "
                                 f"layer={layers[0] if layers else 'counts'!r} (layers: {layers}).")
        else:
            _check_layer(layer, list(f["layers"].keys()) if "layers" in f else [], path, caller)
            key = f"layers/{layer}"
        elem = f[key]
        enc = elem.attrs.get("encoding-type", "array")
        if isinstance(enc, bytes):
            enc = enc.decode()
        if enc == "csc_matrix":
            raise FileFormatError(
                f"{caller}: {path}:{key} is stored column by column (CSC), so every chunk of cells would read the "
                "whole matrix. Convert it once to CSR: a = anndata.read_h5ad(path); a.X = a.X.tocsr() (or the layer); "
                "a.write_h5ad(path)."
            )
        if enc not in ("csr_matrix", "array"):
            raise FileFormatError(f"{caller}: {path}:{key} has encoding {enc!r}; expected a CSR or dense matrix.")
        if enc == "csr_matrix":
            n_cells, n_genes = (int(v) for v in elem.attrs["shape"])
            indptr = np.asarray(elem["indptr"][:], dtype=np.int64)
        else:
            n_cells, n_genes = (int(v) for v in elem.shape)
            indptr = None
        genes = _index_of(f, "var") if adata is None else np.asarray(adata.var_names, dtype=object)
    genes = check_gene_names(genes, n_genes, caller=caller)
    source = f"{path}:{key}"
    bounds = _chunk_bounds(indptr, n_cells, n_genes, chunk_nnz)
    names_cache: dict = {}

    def cell_name(row: int) -> str:
        if "obs" not in names_cache:
            with _h5_open(path, caller) as f:
                names_cache["obs"] = _index_of(f, "obs")
        return str(names_cache["obs"][row])

    def gen():
        with _h5_open(path, caller) as f:
            elem = f[key]
            for k in range(len(bounds) - 1):
                a, b = int(bounds[k]), int(bounds[k + 1])
                try:
                    if indptr is None:
                        block = np.asarray(elem[a:b])
                    else:
                        lo, hi = int(indptr[a]), int(indptr[b])
                        block = sp.csr_matrix((elem["data"][lo:hi], elem["indices"][lo:hi], indptr[a:b + 1] - lo),
                                              shape=(b - a, n_genes))
                except OSError as exc:
                    raise FileFormatError(
                        f"{caller}: reading cells {a:,}-{b - 1:,} (chunk {k}) of {source} failed ({exc}); the file "
                        "is truncated or damaged. Copy it again or rewrite it with adata.write_h5ad(path)."
                    ) from None
                yield a, block

    out = CellChunks(genes=genes, n_cells=n_cells, source=source, reiterable=True, _blocks=gen, _cell_name=cell_name,
                     named=True)
    log.debug("%s: %d cells x %d genes in %d chunk(s)", source, n_cells, n_genes, len(bounds) - 1)
    return out


def _chunk_bounds(indptr, n_cells: int, n_genes: int, chunk_nnz: int) -> np.ndarray:
    """Cell bounds of the chunks: about ``chunk_nnz`` nonzeros each (CSR) or CHUNK_DENSE_BYTES (dense)."""
    if indptr is None:
        step = max(1, CHUNK_DENSE_BYTES // max(1, 8 * n_genes))
        return np.append(np.arange(0, n_cells, step, dtype=np.int64), np.int64(n_cells))
    targets = np.arange(chunk_nnz, int(indptr[-1]), chunk_nnz, dtype=np.int64)
    cuts = np.unique(np.searchsorted(indptr, targets, side="right"))
    cuts = cuts[(cuts > 0) & (cuts < n_cells)]
    return np.concatenate([[0], cuts, [n_cells]]).astype(np.int64)


# ---------------------------------------------------------------------------------------- accumulation
def _tile_rows(b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group pair ``(g, h)`` of every tile, ``g <= h``, in the packed order, and the tile offsets."""
    B = b.shape[0] - 1
    tg, th = np.triu_indices(B)
    return tg.astype(np.int64), th.astype(np.int64), _layout.tile_sizes(b)


@dataclass
class PartialTiles:
    """Tiles ``t0 .. t1 - 1`` of ``sum AᵀA`` (diagonal: ``sum A^2``) and the column sums, over some cells.

    ``packed`` holds those tiles as in :mod:`genevec._layout` (offsets relative to tile ``t0``); the
    whole upper triangle when ``(t0, t1)`` covers every tile.
    """

    group_bounds: np.ndarray
    t0: int
    t1: int
    packed: np.ndarray
    colsum: np.ndarray
    n_cells: int = 0

    @classmethod
    def zeros(cls, group_bounds, tiles: tuple[int, int] | None = None) -> PartialTiles:
        b = np.asarray(group_bounds, dtype=np.int64)
        ptr = _layout.tile_sizes(b)
        t0, t1 = (0, ptr.shape[0] - 1) if tiles is None else tiles
        return cls(b, int(t0), int(t1), np.zeros(int(ptr[t1] - ptr[t0]), dtype=np.float64),
                   np.zeros(int(b[-1]), dtype=np.float64))

    def add(self, X: sp.csr_matrix, n_threads: int) -> None:
        """Add one chunk (canonical float64 CSR over the same genes)."""
        from . import _tcm

        b = self.group_bounds
        tg, th, ptr = _tile_rows(b)
        group_of = np.repeat(np.arange(b.shape[0] - 1, dtype=np.int64), np.diff(b))
        sl = slice(self.t0, self.t1)
        _tcm.accumulate_chunk(X.data, X.indices.astype(np.int32, copy=False), X.indptr.astype(np.int64, copy=False),
                              b, group_of, tg[sl], th[sl], ptr[sl] - ptr[self.t0], self.packed, n_threads)
        self.colsum += np.asarray(X.sum(axis=0)).ravel()
        self.n_cells += X.shape[0]

    def merge(self, other: PartialTiles) -> PartialTiles:
        """``self + other`` (in place on self): the sum over both sets of cells."""
        self.packed += other.packed
        self.colsum += other.colsum
        self.n_cells += other.n_cells
        return self

    def apply_diagonal(self) -> None:
        """Quanteda's rule on the diagonal of the diagonal tiles held: ``(sum A^2 - sum A) / 2``."""
        b = self.group_bounds
        tg, th, ptr = _tile_rows(b)
        for t in range(self.t0, self.t1):
            if tg[t] != th[t]:
                continue
            g = int(tg[t])
            size = int(b[g + 1] - b[g])
            where = int(ptr[t] - ptr[self.t0]) + np.arange(size) * (size + 1)
            d = self.packed[where]
            d -= self.colsum[b[g]:b[g + 1]]
            d *= 0.5
            self.packed[where] = d

    def finish(self) -> _layout.TrainingTiles:
        """``T`` (not its log) in the packed layout, float64; the partial must hold every tile."""
        if (self.t0, self.t1) != (0, _layout.tile_sizes(self.group_bounds).shape[0] - 1):
            raise ValueError("PartialTiles.finish needs every tile; this one holds a band.")
        self.apply_diagonal()
        return _layout.TrainingTiles(group_bounds=self.group_bounds, tile_ptr=_layout.tile_sizes(self.group_bounds),
                                     values=self.packed, n_entries=-1)


def _bands(b: np.ndarray, max_values: int) -> list[tuple[int, int]]:
    """Consecutive rows of tiles ``[t0, t1)`` holding at most ``max_values`` values each (or one row of tiles)."""
    tg, _, ptr = _tile_rows(b)
    row_start = np.searchsorted(tg, np.arange(b.shape[0]), side="left")   # first tile of each row (+ the end)
    bands, r = [], 0
    B = b.shape[0] - 1
    while r < B:
        u = r + 1
        while u < B and ptr[row_start[u + 1]] - ptr[row_start[r]] <= max_values:
            u += 1
        bands.append((int(row_start[r]), int(row_start[u])))
        r = u
    return bands


def _say(verbose: int, message: str) -> None:
    from ._progress import Progress

    Progress(verbose, "[genevec] ").say(1, message)


def _accumulate(src: CellChunks, b: np.ndarray, tiles, *, allow_non_integer: bool, n_threads: int, verbose: int,
                caller: str) -> PartialTiles:
    """One pass over the chunks into the tiles ``tiles`` (``(t0, t1)``, None for all)."""
    part = PartialTiles.zeros(b, tiles)
    t0 = time.perf_counter()
    for k, (row0, chunk) in enumerate(src.chunks(allow_non_integer=allow_non_integer, caller=caller)):
        part.add(chunk, n_threads)
        log.debug("%s: chunk %d, cells %d-%d added", caller, k, row0, row0 + chunk.shape[0] - 1)
        _say(verbose >= 2, f"chunk {k}: {part.n_cells:,} cells, {time.perf_counter() - t0:.1f} s")
    if part.n_cells == 0:
        raise CountsError(f"{caller}: {src.source} holds no cells; the count matrix is empty.")
    return part


def _streamed_source(X, group_bounds, layer, gene_names, allow_non_integer, n_threads, caller):
    """(CellChunks, groups) for a file or an iterable; (PartialTiles over every tile, groups, genes) for Dask."""
    if _is_dask(X) or (type(X).__name__ == "AnnData" and not getattr(X, "isbacked", False)):
        if type(X).__name__ == "AnnData":
            genes = check_gene_names(np.asarray(X.var_names, dtype=object), X.shape[1], caller=caller)
            X = _anndata_matrix(X, layer, caller)
        else:
            genes = check_gene_names(np.arange(X.shape[1]).astype(str) if gene_names is None else gene_names,
                                     X.shape[1], caller=caller)
        b = _groups(group_bounds, len(genes))
        return dask_partial_tiles(X, b, genes=genes, allow_non_integer=allow_non_integer, n_threads=n_threads,
                                  caller=caller), b, genes
    src = cell_chunks(X, layer=layer, gene_names=gene_names, caller=caller)
    return src, _groups(group_bounds, len(src.genes)), src.genes


def tcm_tiles(X, group_bounds=None, *, layer: str | None = None, gene_names=None, allow_non_integer: bool = False,
              n_threads: int = 1, verbose: int = 0, caller: str = "genevec") -> tuple[_layout.TrainingTiles, np.ndarray]:
    """``T`` (float64, packed upper tiles) of a streamed count matrix, and its gene names.

    ``X`` is anything :func:`is_streamed` accepts. Groups default to ``_layout.gene_groups(n_genes)``.
    One pass over the chunks; memory: the float64 tiles (``4 * n_genes^2`` bytes) and one chunk.
    """
    src, b, genes = _streamed_source(X, group_bounds, layer, gene_names, allow_non_integer, n_threads, caller)
    if isinstance(src, CellChunks):
        src = _accumulate(src, b, None, allow_non_integer=allow_non_integer, n_threads=n_threads, verbose=verbose,
                          caller=caller)
    return src.finish(), genes


def training_tiles(X, group_bounds=None, *, dtype=np.float32, layer: str | None = None, gene_names=None,
                   allow_non_integer: bool = True, max_buffer_bytes: int = MAX_BUFFER_BYTES, n_threads: int = 1,
                   verbose: int = 0, caller: str = "genevec") -> _layout.TrainingTiles:
    """``log T`` in ``dtype`` tiles of a streamed count matrix (what :func:`genevec.tcm.training_tiles` returns).

    When the float64 tiles fit in ``max_buffer_bytes``, or the chunks can be read only once, or
    ``dtype`` is float64: one pass, and ``log T`` is written over the float64 tiles
    (:func:`log_tiles`). Otherwise the tiles are built in bands of whole tile rows, each at most
    ``max_buffer_bytes`` of float64, one pass over the chunks per band, each band's ``log T``
    rounded into the ``dtype`` result: the peak is the result plus one band plus one chunk.
    """
    dtype = np.dtype(dtype)
    src, b, _ = _streamed_source(X, group_bounds, layer, gene_names, allow_non_integer, n_threads, caller)
    if not isinstance(src, CellChunks):
        return log_tiles(src.finish(), dtype, n_threads)
    ptr = _layout.tile_sizes(b)
    bands = _bands(b, max(1, int(max_buffer_bytes) // 8))
    if dtype == np.float64 or not src.reiterable or len(bands) == 1:
        part = _accumulate(src, b, None, allow_non_integer=allow_non_integer, n_threads=n_threads, verbose=verbose,
                           caller=caller)
        return log_tiles(part.finish(), dtype, n_threads)
    values = np.empty(int(ptr[-1]), dtype=dtype)
    n_entries = 0
    for k, (t0, t1) in enumerate(bands):
        _say(verbose, f"band {k + 1}/{len(bands)}: tiles {t0:,}-{t1 - 1:,} of {ptr.shape[0] - 1:,}")
        part = _accumulate(src, b, (t0, t1), allow_non_integer=allow_non_integer, n_threads=n_threads,
                           verbose=verbose, caller=caller)
        part.apply_diagonal()
        n_entries += _log_into(part.packed, values[ptr[t0]:ptr[t1]], b, t0, t1, n_threads)
        del part  # before the next band is allocated: one band at a time
    return _layout.TrainingTiles(group_bounds=b, tile_ptr=ptr, values=values, n_entries=n_entries)


def _groups(group_bounds, n_genes: int) -> np.ndarray:
    from ._validation import check_group_bounds

    return _layout.gene_groups(n_genes) if group_bounds is None else check_group_bounds(group_bounds, n_genes)


def _log_into(vals: np.ndarray, out: np.ndarray, b: np.ndarray, t0: int, t1: int, n_threads: int) -> int:
    """``out = log(max(vals, 0))`` rounded to out's dtype, for tiles ``t0 .. t1 - 1``; returns their ``n_entries``.

    Block by block (each block copied out of ``vals`` before ``out`` is written), so ``out`` may be
    the float32 view of the start of ``vals`` itself.
    """
    tg, th, ptr = _tile_rows(b)
    base = int(ptr[t0])
    n_entries = 0
    t = t0
    while t < t1:
        u = t + 1
        while u < t1 and ptr[u + 1] - ptr[t] <= LOG_BLOCK:
            u += 1
        lo, hi = int(ptr[t]) - base, int(ptr[u]) - base
        block = vals[lo:hi].copy()
        positive = np.add.reduceat(block > 0, ptr[t:u] - base - lo) if hi > lo else np.zeros(u - t, dtype=np.int64)
        n_entries += int(np.where(tg[t:u] == th[t:u], positive, 2 * positive).sum())
        _layout.log_inplace(block.reshape(-1, 1), n_threads)
        out[lo:hi] = block
        t = u
    return n_entries


def log_tiles(T: _layout.TrainingTiles, dtype, n_threads: int = 1) -> _layout.TrainingTiles:
    """``log T`` in ``dtype`` written over the float64 tiles of ``T`` (consumed), with ``n_entries``.

    float32 values are written into the first half of the float64 buffer, block by block, and the
    buffer is then shrunk: the peak is the float64 tiles, never float64 + float32. The values are
    those of :func:`genevec.tcm.training_tiles` (``log(max(T, 0))`` in float64, rounded once to ``dtype``).
    """
    dtype = np.dtype(dtype)
    vals = T.values
    ptr = T.tile_ptr
    out = vals.view(dtype)
    n_entries = _log_into(vals, out, T.group_bounds, 0, ptr.shape[0] - 1, n_threads)
    n = int(ptr[-1])
    if dtype == np.float64:
        values = vals
    elif not vals.flags.owndata:  # e.g. received from a Dask worker: cannot shrink in place, copy the half
        values = out[:n].copy()
    else:
        del out
        vals.resize(max(1, -(-n * dtype.itemsize // 8)), refcheck=False)
        values = vals.view(dtype)[:n]
    return _layout.TrainingTiles(group_bounds=T.group_bounds, tile_ptr=ptr, values=values, n_entries=n_entries)


# ---------------------------------------------------------------------------------------- scan (fit's first pass)
@dataclass
class Scan:
    """What :func:`scan` learns in one pass: shape, isolated genes and a fingerprint of the data."""

    n_cells: int
    isolated: np.ndarray
    fingerprint: str


def _scan_block(X: sp.csr_matrix) -> tuple[int, np.ndarray, np.ndarray, bytes]:
    """Cells, genes sharing a cell with another gene, genes with a count above 1, and a digest, of one chunk."""
    n = X.shape[1]
    shared = np.zeros(n, dtype=bool)
    self_pair = np.zeros(n, dtype=bool)
    per_cell = np.diff(X.indptr)
    shared[X.indices[np.repeat(per_cell >= 2, per_cell)]] = True
    self_pair[X.indices[X.data > 1]] = True
    h = hashlib.sha1()
    for part in (X.indptr, X.indices, X.data):
        h.update(np.ascontiguousarray(part).tobytes())
    return X.shape[0], shared, self_pair, h.digest()


def _combine_scans(parts, genes, caller: str, source: str) -> Scan:
    n = len(genes)
    shared = np.zeros(n, dtype=bool)
    self_pair = np.zeros(n, dtype=bool)
    h = hashlib.sha1(repr(n).encode())
    n_cells = 0
    for cells, sh, sf, digest in parts:
        n_cells += cells
        shared |= sh
        self_pair |= sf
        h.update(digest)
    if n_cells == 0:
        raise CountsError(f"{caller}: {source} holds no cells; the count matrix is empty.")
    h.update("\x00".join(map(str, genes)).encode())
    return Scan(n_cells=n_cells, isolated=~(shared | self_pair), fingerprint=h.hexdigest())


def scan(src: CellChunks, *, allow_non_integer: bool, caller: str) -> Scan:
    """One validating pass: cells, genes without any co-occurrence (as ``tcm.isolated_genes``), hash."""
    parts = (_scan_block(X) for _, X in src.chunks(allow_non_integer=allow_non_integer, caller=caller))
    return _combine_scans(parts, src.genes, caller, src.source)


def _dask_scan_leaf(block, k, row0, genes, allow_non_integer, caller):
    src = _DaskSource(genes)
    X = _as_csr(block, k, src, caller)
    check_chunk(X, k, row0, src, allow_non_integer=allow_non_integer, caller=caller)
    return _scan_block(X)


@dataclass(frozen=True)
class StreamedCounts:
    """The :class:`genevec._validation.Counts` of a streamed matrix: ``X`` is a :class:`CellChunks`."""

    X: CellChunks
    genes: np.ndarray
    scan: Scan

    @property
    def shape(self):
        return (self.scan.n_cells, len(self.genes))


def check_streamed_counts(X, *, layer=None, gene_names=None, allow_non_integer=False, min_genes=1,
                          caller="genevec") -> StreamedCounts:
    """Validate a streamed matrix in one pass (as ``check_counts`` does in memory); see :func:`scan`.

    For a Dask array (or an AnnData whose counts are one), the pass runs on Dask and ``X`` of the
    result is the Dask array itself (``X[:, keep]`` selects genes lazily).
    """
    if _is_dask(X) or (type(X).__name__ == "AnnData" and not getattr(X, "isbacked", False)):
        if type(X).__name__ == "AnnData":
            names = np.asarray(X.var_names, dtype=object) if gene_names is None else gene_names
            X = _anndata_matrix(X, layer, caller)
        else:
            names = np.arange(X.shape[1]).astype(str) if gene_names is None else gene_names
        genes = check_gene_names(names, X.shape[1], caller=caller)
        if len(genes) < min_genes:
            raise CountsError(f"{caller}: needs at least {min_genes} genes, got {len(genes)}.")
        dask = _import_dask(caller)
        X = _dask_rows(X, caller)
        leaf = dask.delayed(_dask_scan_leaf, pure=True)
        starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(np.int64)
        parts = _dask_compute(dask, [leaf(blk, k, int(s0), genes, allow_non_integer, caller)
                                     for k, (blk, s0) in enumerate(zip(X.to_delayed()[:, 0], starts))],
                              _layout.gene_groups(len(genes)), caller)
        return StreamedCounts(X=X, genes=genes, scan=_combine_scans(parts, genes, caller, "the Dask array"))
    src = cell_chunks(X, layer=layer, gene_names=gene_names, caller=caller)
    if not src.reiterable:
        raise ValueError(
            f"{caller}: fitting reads the chunks twice (a checking pass, then the co-occurrence), but got a "
            "one-shot iterator. Pass a list of blocks, a path to an .h5ad file, or a backed AnnData."
        )
    if len(src.genes) < min_genes:
        raise CountsError(f"{caller}: needs at least {min_genes} genes, got {len(src.genes)}.")
    result = scan(src, allow_non_integer=allow_non_integer, caller=caller)
    return StreamedCounts(X=replace(src, n_cells=result.n_cells, checked=True), genes=src.genes, scan=result)


# ---------------------------------------------------------------------------------------- Dask
def _import_dask(caller: str):
    try:
        import dask
        import dask.array  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"{caller}: Dask input needs the optional packages dask and distributed ({exc}). "
                          f"Install them with: {INSTALL_DASK}") from None
    return dask


class _DaskSource:
    """Enough of a CellChunks for :func:`check_chunk` and :func:`_as_csr` on one Dask block."""

    def __init__(self, genes):
        self.source_genes = [str(g) for g in genes]
        self.source = "the Dask array"

    def cell_name(self, row):
        return f"cell row {row:,}"


def _dask_leaf(block, k, row0, group_bounds, genes, allow_non_integer, caller) -> PartialTiles:
    src = _DaskSource(genes)
    X = _as_csr(block, k, src, caller)
    check_chunk(X, k, row0, src, allow_non_integer=allow_non_integer, caller=caller)
    part = PartialTiles.zeros(group_bounds)
    part.add(X, 1)
    return part


def _dask_merge(a: PartialTiles, b: PartialTiles) -> PartialTiles:
    return a.merge(b)


def _dask_compute(dask, tasks: list, group_bounds, caller: str) -> tuple:
    """``dask.compute(*tasks)``; workers that keep dying become one clear error (Dask retries a death first)."""
    try:
        return dask.compute(*tasks)
    except Exception as exc:
        if type(exc).__name__ == "KilledWorker":
            raise RuntimeError(
                f"{caller}: Dask workers died while reducing the co-occurrence ({exc}); the reduction was abandoned "
                "and no partial result is returned. Give each worker memory for the packed tiles "
                f"({format_tiles(group_bounds)}) plus two blocks, or use smaller blocks (X.rechunk)."
            ) from None
        raise


def _dask_rows(X, caller: str):
    """The Dask array with known chunk sizes, blocks of whole rows (columns merged)."""
    if any(np.isnan(c) for dim in X.chunks for c in dim):
        raise ValueError(
            f"{caller}: the Dask array has unknown chunk sizes (shape {X.shape}); they are needed to number "
            "the cells. Call X = X.compute_chunk_sizes() first (or build it with known chunks)."
        )
    if X.ndim != 2:
        raise CountsError(f"{caller}: the Dask array must be 2-d cells x genes, got shape {X.shape}.")
    return X.rechunk({1: -1}) if len(X.chunks[1]) > 1 else X


def dask_partial_tiles(X, group_bounds, *, genes, allow_non_integer: bool, n_threads: int = 1,
                       caller: str = "genevec") -> PartialTiles:
    """Reduce a Dask array of counts to packed tiles: one leaf per block of rows, summed in a fixed binary tree.

    Runs on the active scheduler (a ``dask.distributed.Client`` if one is set as default). A worker
    that dies is replaced and its tasks rerun by Dask; if a task keeps killing workers, the reduction
    stops with an error and no partial result.
    """
    dask = _import_dask(caller)
    X = _dask_rows(X, caller)
    if X.shape[1] != len(genes):
        raise CountsError(f"{caller}: the Dask array has {X.shape[1]:,} columns for {len(genes):,} gene names.")
    blocks = X.to_delayed()[:, 0]
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(np.int64)
    leaf = dask.delayed(_dask_leaf, pure=True)
    merge = dask.delayed(_dask_merge, pure=True)
    level = [leaf(blk, k, int(s), group_bounds, genes, allow_non_integer, caller)
             for k, (blk, s) in enumerate(zip(blocks, starts))]
    while len(level) > 1:
        nxt = [merge(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    (result,) = _dask_compute(dask, [level[0]], group_bounds, caller)
    if result.n_cells != X.shape[0]:  # never a silently partial TCM
        raise RuntimeError(f"{caller}: the Dask reduction covered {result.n_cells:,} of {X.shape[0]:,} cells.")
    return result


def format_tiles(group_bounds) -> str:
    from ._validation import format_bytes

    return format_bytes(8 * int(_layout.tile_sizes(np.asarray(group_bounds, dtype=np.int64))[-1]))
