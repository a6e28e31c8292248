"""The training layout shared by the co-occurrence producer and the GloVe kernels.

Genes are split into ``B`` contiguous groups (``group_bounds``). The TCM is stored as tiles
``(g, h)`` with ``g <= h``: tile ``(g, h)`` holds ``log T[I_g, I_h]`` row-major, shape
``(|I_g|, |I_h|)``; diagonal tiles ``(g, g)`` are full squares (both triangles), so every ordered
pair ``(i, j)`` is reachable and only ~n^2/2 values are stored. A zero (or negative) co-occurrence is
stored as ``-inf`` and skipped by every kernel.

DSGD block ``(g, h)`` (word genes ``I_g``, context genes ``I_h``) reads tile ``(min, max)``,
transposed when ``g > h``. Stratum ``s`` is the ``B`` blocks ``(g, (g + s) mod B)``: they share no
word row and no context row, so one thread per block writes disjoint memory.

Within a block of ``|I_g| x |I_h|`` entries, the visiting order is the keyed bijection
:func:`block_order`: sub-blocks of 8 x 8 genes in a keyed Feistel order, each sub-block along 8
wrapped diagonals; its four 32-bit keys are drawn in Python from ``random_state``, new for every
block of every epoch. Position ``p`` is word ``I_g[p // |I_h|]``, context ``I_h[p % |I_h|]``. The C
kernel implements the same function; this NumPy version is the reference.

``B`` depends on the number of genes only (never on ``n_jobs``), so the result does not depend on
the thread count. Automatic groups start at multiples of 16 genes, so that with 64-byte aligned
parameter arrays (:func:`genevec.glove.init_params`) no cache line holds rows or biases of two groups:
the threads running two blocks of a stratum then never write to the same line.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ._validation import check_block_keys

__all__ = ["TrainingTiles", "gene_groups", "tile_index", "block_order", "feistel_order", "tiles_from_dense_tcm"]

#: Largest group: 128 genes x 100 dims of W, C and their AdaGrad sums (~200 KB) fit a core's L2.
MAX_GROUP_SIZE = 128
#: Smallest group, so that tiny problems still have several blocks per stratum.
MIN_GROUP_SIZE = 16
#: Automatic group bounds are multiples of this many genes: 16 float32 (or 8 float64 x 2) biases fill a
#: 64-byte cache line, and 16 rows of any dim end on a line boundary.
GROUP_ALIGN = 16
#: Sub-blocks of SUB x SUB genes inside a block (the kernel's ``GLOVE_SUB``).
SUB = 8


def gene_groups(n_genes: int, group_size: int | None = None) -> np.ndarray:
    """Split ``n_genes`` into contiguous groups; return the ``B + 1`` bounds.

    Without ``group_size``, the target size is ``clip(ceil(n_genes / 64), 16, 128)`` rounded up to a
    multiple of 16: at least ~64 blocks per stratum on large data, cache-sized blocks, and never a
    function of the thread count; there are ``ceil(n_genes / size)`` groups. Every bound but the last
    is a multiple of 16 (sizes differ by at most 16, and the last group also takes the remainder
    ``n_genes % 16``), so groups share no cache line.
    With ``group_size``, the ``ceil(n_genes / group_size)`` groups differ in size by at most one.

    Examples
    --------
    >>> gene_groups(10, group_size=4).tolist()
    [0, 3, 7, 10]
    >>> gene_groups(100).tolist()
    [0, 16, 32, 48, 64, 80, 96, 100]
    """
    if n_genes < 1:
        raise ValueError(f"need at least one gene, got {n_genes}")
    if group_size is not None:
        n_groups = max(1, -(-n_genes // int(group_size)))
        # Spread the remainder: sizes differ by at most one.
        return np.linspace(0, n_genes, n_groups + 1).round().astype(np.int64)
    a = GROUP_ALIGN
    size = int(min(MAX_GROUP_SIZE, max(MIN_GROUP_SIZE, -(-n_genes // 64))))
    size = -(-size // a) * a
    n_groups = max(1, -(-n_genes // size))
    units, rem = divmod(n_genes, a)               # whole lines of 16 genes, and the rest
    base, extra = divmod(units, n_groups)
    sizes = np.full(n_groups, base * a, dtype=np.int64)
    sizes[:extra] += a
    sizes[-1] += rem
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def tile_index(g: int, h: int, n_groups: int) -> int:
    """Index of tile ``(min(g, h), max(g, h))`` in the row-major order of the upper triangle of tiles.

    The kernels' formula (``src/genevec_tiles.h``), called through :func:`genevec._glove.tile_index`.

    Examples
    --------
    >>> [tile_index(g, h, 3) for g, h in ((0, 0), (0, 2), (1, 1), (2, 1), (2, 2))]
    [0, 2, 3, 4, 5]
    """
    from ._glove import tile_index as kernel_tile_index

    return int(kernel_tile_index(int(g), int(h), int(n_groups)))


@dataclass
class TrainingTiles:
    """log T in tiles of the upper triangle; see the module docstring for the layout.

    Attributes
    ----------
    group_bounds : ndarray of int64, shape (B + 1,)
    tile_ptr : ndarray of int64, shape (B * (B + 1) / 2 + 1,)
        ``values[tile_ptr[t]:tile_ptr[t + 1]]`` is tile ``t``.
    values : ndarray of float32 or float64
        log co-occurrences, ``-inf`` where ``T <= 0``.
    n_entries : int
        Ordered pairs ``(i, j)`` with ``T[i, j] > 0``: the SGD updates of one epoch.
    """

    group_bounds: np.ndarray
    tile_ptr: np.ndarray
    values: np.ndarray
    n_entries: int

    @property
    def n_genes(self) -> int:
        return int(self.group_bounds[-1])

    @property
    def n_groups(self) -> int:
        return int(self.group_bounds.shape[0] - 1)

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes + self.tile_ptr.nbytes + self.group_bounds.nbytes)

    def tile(self, g: int, h: int) -> np.ndarray:
        """The ``(|I_g|, |I_h|)`` view of log T for word group ``g`` and context group ``h``."""
        b = self.group_bounds
        t = tile_index(g, h, self.n_groups)
        lo, hi = (g, h) if g <= h else (h, g)
        view = self.values[self.tile_ptr[t]:self.tile_ptr[t + 1]].reshape(b[lo + 1] - b[lo], b[hi + 1] - b[hi])
        return view if g <= h else view.T

    def to_dense(self) -> np.ndarray:
        """The full ``n x n`` log T (float64); for tests and small data only."""
        n, b = self.n_genes, self.group_bounds
        out = np.empty((n, n))
        for g in range(self.n_groups):
            for h in range(self.n_groups):
                out[b[g]:b[g + 1], b[h]:b[h + 1]] = self.tile(g, h)
        return out


def tile_sizes(group_bounds: np.ndarray) -> np.ndarray:
    """``tile_ptr`` for these groups."""
    sizes = np.diff(group_bounds)
    B = sizes.shape[0]
    out = [0]
    for g in range(B):
        for h in range(g, B):
            out.append(int(sizes[g] * sizes[h]))
    return np.cumsum(out, dtype=np.int64)


def tiles_from_dense_tcm(T, group_bounds, dtype=np.float32) -> TrainingTiles:
    """Reference builder: tiles of ``log T`` from a dense symmetric TCM (slow, obvious; tests only)."""
    T = np.asarray(T, dtype=np.float64)
    b = np.asarray(group_bounds, dtype=np.int64)
    ptr = tile_sizes(b)
    values = np.empty(ptr[-1], dtype=dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        logT = np.where(T > 0, np.log(np.where(T > 0, T, 1.0)), -np.inf)
    B = b.shape[0] - 1
    for g in range(B):
        for h in range(g, B):
            t = tile_index(g, h, B)
            values[ptr[t]:ptr[t + 1]] = logT[b[g]:b[g + 1], b[h]:b[h + 1]].ravel()
    return TrainingTiles(group_bounds=b, tile_ptr=ptr, values=values, n_entries=int((T > 0).sum()))


_M32 = np.uint64(0xFFFFFFFF)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser on uint64 arrays holding 32-bit values."""
    h = h & _M32
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & _M32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _M32
    h ^= h >> np.uint64(16)
    return h


def _feistel(x: np.ndarray, half: int, keys: np.ndarray) -> np.ndarray:
    mask = np.uint64((1 << half) - 1)
    left = x >> np.uint64(half)
    right = x & mask
    for key in keys:
        f = _fmix32(right ^ np.uint64(key)) & mask
        left, right = right, left ^ f
    return (left << np.uint64(half)) | right


def feistel_order(m: int, keys) -> np.ndarray:
    """A keyed bijection of ``[0, m)``: the filtered 4-round Feistel permutation, keyed by 4 uint32.

    A 4-round Feistel network ``F`` permutes the domain ``[0, 2**(2 * half))``, ``half = max(1,
    ceil(log2(m) / 2))``, with MurmurHash3's finaliser as round function; the order is ``F(0), F(1),
    ...`` with the values ``>= m`` left out (a filtered permutation, no data-dependent loop per value).
    Round ``r`` maps ``(L, R)`` to ``(R, L ^ (fmix32(R ^ key[r]) & mask))``.

    Examples
    --------
    >>> order = feistel_order(10, [1, 2, 3, 4])
    >>> sorted(order.tolist()) == list(range(10))
    True
    """
    keys = check_block_keys(keys)
    if m <= 0:
        return np.empty(0, dtype=np.int64)
    bits = max(1, int(m - 1).bit_length())
    half = max(1, (bits + 1) // 2)
    x = _feistel(np.arange(1 << (2 * half), dtype=np.uint64), half, keys)
    return x[x < np.uint64(m)].astype(np.int64)


def block_order(rows: int, cols: int, keys) -> np.ndarray:
    """The visiting order of a ``rows x cols`` block: positions ``r * cols + c``, keyed by 4 uint32.

    The block is cut into sub-blocks of ``SUB x SUB`` (8 x 8) genes, ``sb = sr * Cs + sc`` with ``Cs =
    ceil(cols / 8)``, visited in :func:`feistel_order` ``(Rs * Cs, keys)``. In sub-block ``sb``, with
    ``h = fmix32(sb ^ keys[3])``, three affine bijections of ``0..7``: ``row(j) = (rm j + ra) & 7``,
    ``col(k) = (cm k + ca) & 7`` and ``diagonal(t) = (dm t + da) & 7``, where ``ra = h & 7``,
    ``rm = 2 ((h >> 3) & 3) + 1``, ``ca = (h >> 5) & 7``, ``cm = 2 ((h >> 8) & 3) + 1``,
    ``da = (h >> 10) & 7`` and ``dm = 2 ((h >> 13) & 1) + 1``. Slot ``(t, j)``, ``t`` outer, is
    ``(8 sr + row(j), 8 sc + col((j + diagonal(t)) & 7))``; slots outside the block are left out.

    Consecutive slots of a sub-block never share a row or a column, and the 8 rows and 8 columns a
    sub-block updates stay in the L1 cache during its 64 updates.

    Examples
    --------
    >>> order = block_order(10, 3, [1, 2, 3, 4])
    >>> sorted(order.tolist()) == list(range(30))
    True
    """
    keys = check_block_keys(keys)
    rows, cols = int(rows), int(cols)
    if rows <= 0 or cols <= 0:
        return np.empty(0, dtype=np.int64)
    Rs, Cs = -(-rows // SUB), -(-cols // SUB)
    sb = feistel_order(Rs * Cs, keys).astype(np.uint64)
    h = _fmix32(sb ^ keys[3]).astype(np.int64)[:, None, None]
    ra, rm = h & 7, 2 * ((h >> 3) & 3) + 1
    ca, cm = (h >> 5) & 7, 2 * ((h >> 8) & 3) + 1
    da, dm = (h >> 10) & 7, 2 * ((h >> 13) & 1) + 1
    t = np.arange(SUB)[None, :, None]
    j = np.arange(SUB)[None, None, :]
    d = (dm * t + da) & 7
    sr, sc = np.divmod(sb.astype(np.int64), Cs)
    r = sr[:, None, None] * SUB + ((rm * j + ra) & 7)
    c = sc[:, None, None] * SUB + ((cm * ((j + d) & 7) + ca) & 7)
    r, c = np.broadcast_arrays(r, c)
    r, c = r.ravel(), c.ravel()
    keep = (r < rows) & (c < cols)
    return (r[keep] * cols + c[keep]).astype(np.int64)


def log_inplace(buf: np.ndarray, n_threads: int) -> None:
    """buf <- log(max(buf, 0)) (so T <= 0 gives -inf) with numpy's log, rows split among threads."""
    def work(rows):
        part = buf[rows]
        np.maximum(part, 0.0, out=part)
        with np.errstate(divide="ignore"):
            np.log(part, out=part)

    step = max(1, -(-buf.shape[0] // (4 * n_threads)))
    pieces = [slice(r, min(r + step, buf.shape[0])) for r in range(0, buf.shape[0], step)]
    if n_threads == 1 or len(pieces) == 1:
        for rows in pieces:
            work(rows)
        return
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        list(pool.map(work, pieces))
