"""Validation shared by every public entry point: counts, gene names, n_jobs, random_state, training inputs.

All user-facing messages about bad arrays and parameters live here, so that the readers,
``dtm_to_tcm``, the solvers and ``GeneGloVe`` say the same thing the same way. Validation happens
once, at the boundary: what passed it is handed on as clean arrays and not checked again.

The rules for user-given parameters live here, those of queries, maps, enrichment and the readers
too (``GeneGloVe`` keeps its table of rules on the class, as scikit-learn does, and checks it with
:func:`check_params`). A check of a file format's or a data structure's own content stays beside the
code that reads it: ``io.gct._check_gene_count``; ``io.tables._check_values``, ``_check_unique_samples``
and ``check_file``; ``stream._check_chunk_genes``, ``check_chunk``, ``_check_layer`` and
``check_streamed_counts``; ``tissue_fit._check_savable`` and ``_check_universe``; ``maps._check_map``.

Over 600 lines on purpose: it is the one place for every user-facing parameter check and message.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .exceptions import CountsError, CountsTypeError, InsufficientMemoryError, NotFittedError

__all__ = ["Counts", "check_counts", "check_gene_names", "effective_n_jobs", "check_random_state", "check_params",
           "check_positive", "check_n_threads", "check_dtype", "check_tiles", "check_tiles_and_params",
           "check_group_bounds", "check_block_keys", "check_vectors_for_tiles", "check_fitted",
           "check_training_memory", "check_checkpoint_options", "first_bad_counts", "check_int_in_range",
           "check_int_at_least", "check_set_size", "check_perplexity", "check_topn", "check_support",
           "check_filter_limit", "check_eigen_power", "GENE_NAME_MODES", "check_gene_names_mode", "is_int", "is_real",
           "format_bytes"]


@dataclass(frozen=True)
class Counts:
    """A validated samples x genes count matrix.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_genes), float64, C-contiguous; or scipy.sparse CSR (float64, sorted indices)
    genes : ndarray of str, shape (n_genes,)
    samples : ndarray of str, shape (n_samples,), or None when the input had no sample labels
    """

    X: np.ndarray | sp.csr_matrix
    genes: np.ndarray
    samples: np.ndarray | None

    @property
    def shape(self):
        return self.X.shape


def _describe_position(row, col, genes, samples):
    sample = samples[row] if samples is not None else f"row {row}"
    gene = genes[col] if genes is not None else f"column {col}"
    return f"sample {sample!s}, gene {gene!s}"


def check_gene_names(gene_names, n_genes, *, caller="genevec"):
    """Return gene names as an ndarray of str, checking their number and uniqueness."""
    names = np.asarray(gene_names, dtype=object).ravel()
    if names.shape[0] != n_genes:
        raise CountsError(
            f"{caller}: got {names.shape[0]:,} gene names for {n_genes:,} gene columns. "
            "Pass one name per column of X (samples x genes)."
        )
    names = np.array([str(g) for g in names], dtype=object)
    uniq, counts = np.unique(names, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1]
        shown = ", ".join(repr(g) for g in dup[:5])
        raise CountsError(
            f"{caller}: {dup.size:,} gene names occur more than once ({shown}). "
            "Merge them first, e.g. read_counts(..., duplicates='sum'), or make the names unique."
        )
    return names


def first_bad_counts(data: np.ndarray, *, allow_non_integer: bool) -> tuple[str, np.ndarray] | None:
    """The first problem found in a flat array of counts, with the mask of the values that have it.

    Parameters
    ----------
    data : ndarray, shape (n,)
        The values (a dense matrix's ``reshape(-1)`` or a CSR matrix's ``data``).
    allow_non_integer : bool
        Whether whole numbers are not required.

    Returns
    -------
    (problem, mask) or None
        ``problem`` is the first of ``"non-finite"`` (NaN or infinite), ``"negative"``, ``"too large"``
        (2**53 or more, which float64 cannot hold exactly) and, unless ``allow_non_integer``,
        ``"non-integer"`` that any value has; ``mask`` (bool, shape (n,)) marks those values. None when
        every value is a valid count.
    """
    finds = {
        "non-finite": lambda: ~np.isfinite(data),
        "negative": lambda: data < 0,
        "too large": lambda: data >= 2.0**53,
    }
    if not allow_non_integer:
        finds["non-integer"] = lambda: data != np.floor(data)
    for problem, find in finds.items():
        bad = find()
        if bad.any():
            return problem, bad
    return None


def check_counts(
    X,
    *,
    gene_names=None,
    allow_non_integer: bool = False,
    accept_sparse: bool = True,
    min_samples: int = 1,
    min_genes: int = 1,
    caller: str = "genevec",
) -> Counts:
    """Validate a samples x genes count matrix once, at the boundary.

    Parameters
    ----------
    X : DataFrame, array-like, scipy.sparse matrix or AnnData
        Samples in rows, genes in columns. A DataFrame's columns are the gene names and its index the
        sample IDs; an AnnData gives ``.X``, ``var_names`` and ``obs_names``.
    gene_names : sequence of str, optional
        Names of the columns, required to name genes of an ndarray or sparse matrix (otherwise
        ``"0"``, ``"1"``, ... are used). Overrides a DataFrame's columns when given.
    allow_non_integer : bool, default=False
        Accept values that are not whole numbers (normalised data such as TPM). GloVe on a
        co-occurrence matrix is defined for counts, so this must be asked for explicitly.
    accept_sparse : bool, default=True
        Keep scipy.sparse input sparse (as CSR); otherwise it is refused with a message.
    min_samples, min_genes : int, default=1
        Smallest shape accepted.
    caller : str
        Who is validating, used in messages.

    Returns
    -------
    Counts
        ``X`` as float64 (C-contiguous ndarray or canonical CSR), ``genes`` and ``samples``.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec._validation import check_counts
    >>> c = check_counts(np.array([[1, 0], [2, 3]]), gene_names=["A", "B"])
    >>> c.X.dtype, list(c.genes)
    (dtype('float64'), ['A', 'B'])
    """
    samples = None
    names = None
    if type(X).__name__ == "AnnData" and hasattr(X, "var_names"):
        names = np.asarray(X.var_names, dtype=object)
        samples = np.asarray(X.obs_names, dtype=object)
        X = X.X
    if isinstance(X, pd.DataFrame):
        bad = [c for c, dt in X.dtypes.items() if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))]
        if bad:
            shown = ", ".join(repr(str(c)) for c in bad[:5])
            raise CountsError(
                f"{caller}: {len(bad)} column(s) of the DataFrame are not numeric ({shown}). "
                "Counts must be numbers with genes as columns; move annotation columns to the index "
                "(df.set_index(...)) or drop them."
            )
        names = np.asarray(X.columns, dtype=object)
        samples = np.asarray(X.index, dtype=object)
        if any(isinstance(dt, pd.SparseDtype) for dt in X.dtypes):
            X = sp.csr_matrix(X.sparse.to_coo())
        else:
            X = X.to_numpy(dtype=np.float64, na_value=np.nan)
    elif isinstance(X, pd.Series):
        raise CountsError(f"{caller}: got a pandas Series; pass a samples x genes DataFrame (one column per gene).")

    if sp.issparse(X):
        if not accept_sparse:
            raise CountsError(f"{caller}: sparse input is not supported here; pass X.toarray().")
        X = sp.csr_matrix(X)
        if X.dtype.kind not in "biuf":
            raise CountsError(f"{caller}: sparse matrix has dtype {X.dtype}; counts must be numeric.")
        X = X.astype(np.float64, copy=True)
        X.sum_duplicates()
        X.sort_indices()
        data = X.data
    else:
        arr = np.asarray(X)
        if arr.dtype.kind == "O" or arr.dtype.kind in "USV":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise (CountsTypeError if isinstance(exc, TypeError) else CountsError)(
                    f"{caller}: X holds non-numeric values ({exc}). Counts must be numbers; "
                    "check that the header row and annotation columns are not part of the matrix."
                ) from None
        elif arr.dtype.kind == "c":
            raise CountsError(f"{caller}: X is complex ({arr.dtype}); counts must be real numbers.")
        elif arr.dtype.kind not in "biuf":
            raise CountsError(f"{caller}: X has dtype {arr.dtype}; counts must be numeric.")
        if arr.ndim == 1:
            raise CountsError(
                f"{caller}: expected a 2-d samples x genes matrix, got a 1-d array of {arr.shape[0]} values. "
                "Use X.reshape(1, -1) for one sample or X.reshape(-1, 1) for one gene."
            )
        if arr.ndim != 2:
            raise CountsError(f"{caller}: expected a 2-d samples x genes matrix, got {arr.ndim} dimensions {arr.shape}.")
        X = np.ascontiguousarray(arr, dtype=np.float64)
        data = X.reshape(-1)

    n_samples, n_genes = X.shape
    if n_samples == 0 or n_genes == 0:
        raise CountsError(
            f"{caller}: the count matrix is empty ({n_samples} samples x {n_genes} genes). "
            "Check the file, the tissue selection and the gene filter."
        )
    if n_samples < min_samples:
        raise CountsError(f"{caller}: needs at least {min_samples} samples, got {n_samples}.")
    if n_genes < min_genes:
        raise CountsError(
            f"{caller}: needs at least {min_genes} genes, got {n_genes}. "
            "Relax the gene filter (filter_genes) or check the orientation: samples in rows, genes in columns."
        )

    if gene_names is not None:
        names = gene_names
    if names is None:
        names = np.arange(n_genes).astype(str)
    genes = check_gene_names(names, n_genes, caller=caller)
    if samples is not None:
        samples = np.array([str(s) for s in samples], dtype=object)
        uniq, counts_ = np.unique(samples, return_counts=True)
        if (counts_ > 1).any():
            dup = uniq[counts_ > 1]
            raise CountsError(
                f"{caller}: {dup.size:,} sample ID(s) occur more than once ({', '.join(map(repr, dup[:5]))}); "
                "a sample counted twice doubles its co-occurrences. Drop the repeats, e.g. "
                "df[~df.index.duplicated()], or give each sample its own ID."
            )

    def _first(mask_flat):
        k = int(np.flatnonzero(mask_flat)[0])
        if sp.issparse(X):
            row = int(np.searchsorted(X.indptr, k, side="right") - 1)
            col = int(X.indices[k])
        else:
            row, col = divmod(k, n_genes)
        return row, col, data[k]

    found = first_bad_counts(data, allow_non_integer=allow_non_integer)
    if found is None:
        return Counts(X=X, genes=genes, samples=samples)
    problem, bad = found
    row, col, val = _first(bad)
    if problem == "non-finite":
        raise CountsError(
            f"{caller}: X has {int(bad.sum()):,} NaN or infinite value(s); the first is {val} at "
            f"{_describe_position(row, col, genes, samples)}. Counts must be finite: "
            "fill or drop missing values first (e.g. df.fillna(0) if missing means no reads)."
        )
    if problem == "negative":
        raise CountsError(
            f"{caller}: expects raw read counts, but X has {int(bad.sum()):,} negative value(s) "
            f"(min {data.min():.6g}); the first is {val:.6g} at {_describe_position(row, col, genes, samples)}. "
            "Pass counts before log or z-score normalisation, e.g. read_counts('gtex.gct')."
        )
    if problem == "too large":
        raise CountsError(
            f"{caller}: X has {int(bad.sum()):,} value(s) of 2**53 or more; the first is {val:.6g} at "
            f"{_describe_position(row, col, genes, samples)}. Such values cannot be held exactly in float64 "
            "and are not read counts; check the input (a sum of many rows, an overflow upstream)."
        )
    # problem == "non-integer"
    raise CountsError(
        f"{caller}: expects integer read counts, but X has {int(bad.sum()):,} non-integer value(s); "
        f"the first is {val:.6g} at {_describe_position(row, col, genes, samples)}. "
        "This looks like normalised data (TPM, FPKM, log). Pass raw counts, or say that the values "
        "are not counts with allow_non_integer=True."
    )


def _cgroup_cpu_limit() -> int | None:
    """CPUs allowed by a cgroup quota (v2 cpu.max or v1 cfs_quota), or None when unlimited."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            return max(1, int(np.ceil(int(quota) / int(period))))
        return None
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as fh:
            quota = int(fh.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as fh:
            period = int(fh.read())
        if quota > 0 and period > 0:
            return max(1, int(np.ceil(quota / period)))
    except (OSError, ValueError):
        pass
    return None


def available_cpus() -> int:
    """Cores this process may use: affinity mask, cgroup quota and OMP_NUM_THREADS respected."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    if limit is not None:
        n = min(n, limit)
    if os.environ.get("OMP_NUM_THREADS"):
        from ._openmp import omp_max_threads

        return max(1, omp_max_threads())
    return max(1, n)


def effective_n_jobs(n_jobs, *, caller="genevec") -> int:
    """Resolve ``n_jobs`` to a thread count.

    ``None`` and ``-1`` mean every core this process may use (``OMP_NUM_THREADS`` and cgroup
    limits respected); ``-k`` means all but ``k - 1``; a positive int is taken as is (it may
    exceed the cores); ``0`` raises. Without OpenMP the answer is always 1.

    Examples
    --------
    >>> from genevec._validation import effective_n_jobs
    >>> effective_n_jobs(1)
    1
    """
    from ._openmp import openmp_enabled

    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral)):
        raise ValueError(
            f"{caller}: n_jobs must be None or an int (-1 for all cores, 1 for one thread), got {n_jobs!r}."
        )
    if n_jobs == 0:
        raise ValueError(
            f"{caller}: n_jobs=0 is not a number of threads. Use n_jobs=None or -1 for all cores, "
            "a positive int for that many threads, or -2 for all but one."
        )
    if not openmp_enabled():
        return 1
    if n_jobs is None:
        return available_cpus()
    n_jobs = int(n_jobs)
    if n_jobs < 0:
        return max(1, available_cpus() + 1 + n_jobs)
    return n_jobs


def check_random_state(random_state, *, caller="genevec") -> np.random.Generator:
    """Turn ``random_state`` into a ``numpy.random.Generator``.

    Accepts None (fresh entropy), an int seed, a ``RandomState`` (a seed is drawn from it, so the
    caller's stream advances as scikit-learn users expect) or a ``Generator`` (used as is).

    Examples
    --------
    >>> from genevec._validation import check_random_state
    >>> int(check_random_state(0).integers(100)) == int(check_random_state(0).integers(100))
    True
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1, size=4))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"{caller}: random_state must be a non-negative int, got {random_state}.")
        return np.random.default_rng(int(random_state))
    raise ValueError(
        f"{caller}: random_state must be None, an int, a numpy RandomState or a numpy Generator; "
        f"got {random_state!r} of type {type(random_state).__name__}."
    )


def available_memory_bytes() -> int | None:
    """Memory this process can still get: MemAvailable, capped by a cgroup limit; None if unknown."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    for path, usage_path in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                             ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                              "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(path) as fh:
                raw = fh.read().strip()
            if raw == "max":
                continue
            limit = int(raw)
            with open(usage_path) as fh:
                used = int(fh.read().strip())
            if limit < (1 << 60):
                room = max(0, limit - used)
                avail = room if avail is None else min(avail, room)
        except (OSError, ValueError):
            continue
    return avail


def format_bytes(n: float) -> str:
    """``1.3 GB`` style, for messages."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000.0
    return f"{n:.1f} TB"


# ---------------------------------------------------------------------------- estimator parameters
def is_int(v) -> bool:
    """An integer that is not a bool."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def is_real(v) -> bool:
    """A finite real number that is not a bool."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and bool(np.isfinite(v))


def check_params(obj, rules: dict, *, name: str) -> None:
    """Check ``obj``'s parameters against a table of rules, in the table's order.

    ``rules`` maps a parameter to ``(ok, rule)``: ``ok(value)`` says whether the value is allowed and
    ``rule`` completes *"The 'dim' parameter of GeneGloVe must be ..."*; or to a function
    ``check(value, caller)`` that raises its own message (scikit-learn's ``_parameter_constraints``
    is the model).
    """
    for param, rule in rules.items():
        value = getattr(obj, param)
        if callable(rule):
            rule(value, name)
            continue
        ok, text = rule
        if not ok(value):
            raise ValueError(f"The {param!r} parameter of {name} must be {text}. Got {value!r} instead.")


def check_fitted(model, what: str) -> None:
    """Raise NotFittedError naming the call to make, unless ``model`` has ``embedding_``."""
    if not hasattr(model, "embedding_"):
        raise NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet; call fit(X) with a samples x genes count "
            f"matrix before {what}."
        )


def check_training_memory(need: int, n_genes: int, dtype) -> None:
    """Raise InsufficientMemoryError, before any allocation, when training needs more than is available."""
    avail = available_memory_bytes()
    if avail is not None and need > avail:
        raise InsufficientMemoryError(
            f"GeneGloVe: training {n_genes:,} genes needs about {format_bytes(need)} "
            f"(log co-occurrences in {dtype.name} plus vectors), but only {format_bytes(avail)} is available. "
            "Keep fewer genes (genevec.filter_genes(X, min_samples=..., min_counts=...)), "
            + ("or use dtype='float32'." if dtype == np.float64 else "or run on a larger machine.")
        )


def check_checkpoint_options(checkpoint, checkpoint_every, resume: bool, solver: str) -> None:
    """``fit``'s checkpoint arguments: SGD only, a positive period, ``resume`` only with a folder."""
    if checkpoint is not None and solver != "sgd":
        raise ValueError("checkpoint= is for solver='sgd'; the 'svd' solver runs in seconds and needs none.")
    if not isinstance(checkpoint_every, numbers.Integral) or checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be an int >= 1, got {checkpoint_every!r}.")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=DIR: the folder the interrupted run wrote to.")


# ---------------------------------------------------------------------------- solver and kernel inputs
def check_positive(value, name: str, caller: str, *, integer: bool = False, allow_zero: bool = False,
                   say_finite: bool = False) -> None:
    """A positive (or, with ``allow_zero``, non-negative) int or finite real number; not a bool.

    The message reads *"{caller}: {name} must be a positive number, got ..."* (*"a positive finite
    number"* with ``say_finite``, *"a non-negative int"* with ``integer`` and ``allow_zero``).
    """
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    if not ok or (not integer and not np.isfinite(value)):
        what = ("a non-negative" if allow_zero else "a positive") + (
            " int" if integer else " finite number" if say_finite else " number")
        raise ValueError(f"{caller}: {name} must be {what}, got {value!r}.")


def check_int_at_least(value, name: str, low: int, caller: str, *, allow_none: bool = False):
    """An int ``>= low`` (not a bool), or None with ``allow_none``: *"{caller}: {name} must be an int >= {low}"*.

    Examples
    --------
    >>> from genevec._validation import check_int_at_least
    >>> check_int_at_least(3, "k", 1, "evaluate"), check_int_at_least(None, "top", 2, "x", allow_none=True)
    (3, None)
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{caller}: {name} must be an int >= {low}{' or None' if allow_none else ''}, "
                         f"got {value!r}.")
    return int(value)


def check_int_in_range(value, name: str, low: int, high: int | None, caller: str, fix: str) -> int:
    """An int in ``[low, high]`` (``high=None``: no bound above), not a bool; ``fix`` ends the message.

    Not an int raises TypeError; out of range, ValueError *"{caller}: {name} must be in [{low}, {high}], got ...
    {fix}"*.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{caller}: {name} must be an int, got {value!r} of type {type(value).__name__}.")
    if value < low or (high is not None and value > high):
        upper = "inf)" if high is None else f"{high}]"
        raise ValueError(f"{caller}: {name} must be in [{low}, {upper}, got {value}. {fix}")
    return int(value)


def check_n_threads(n_threads, caller: str) -> int:
    """A resolved thread count: an int >= 1 (``effective_n_jobs`` turns ``n_jobs`` into one)."""
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) or n_threads < 1:
        raise ValueError(
            f"{caller}: n_threads must be an int >= 1, got {n_threads!r}. "
            "Resolve n_jobs first with genevec._validation.effective_n_jobs(n_jobs)."
        )
    return int(n_threads)


def check_dtype(dtype, caller: str, fix: str = "") -> np.dtype:
    """float32 or float64, as a numpy dtype; ``fix`` ends the message (e.g. ``" Use dtype='float32'."``)."""
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"{caller}: dtype must be float32 or float64, got {dt.name}.{fix}")
    return dt


def check_tiles(tiles, caller: str) -> None:
    """A TrainingTiles of float32 or float64 values."""
    from ._layout import TrainingTiles

    if not isinstance(tiles, TrainingTiles):
        raise TypeError(
            f"{caller}: tiles must be a genevec._layout.TrainingTiles, got {type(tiles).__name__}. "
            "Build them with genevec.tcm.training_tiles(X) or _layout.tiles_from_dense_tcm(T, gene_groups(n))."
        )
    if tiles.values.dtype not in (np.float32, np.float64):
        raise TypeError(f"{caller}: tile values must be float32 or float64, got {tiles.values.dtype}.")


def check_vectors_for_tiles(tiles, W, C, bw, bc, caller: str, *, in_place: bool = False) -> None:
    """``W, C`` of shape (n_genes, dim) and ``bw, bc`` of shape (n_genes,) for these tiles.

    ``in_place``: each must also be a writable ndarray (a solver updates it in place).
    """
    n = tiles.n_genes
    dim = W.shape[1] if getattr(W, "ndim", 0) == 2 else -1
    for name, a, shape in (("W", W, (n, dim)), ("C", C, (n, dim)), ("bw", bw, (n,)), ("bc", bc, (n,))):
        if in_place and (not isinstance(a, np.ndarray) or not a.flags.writeable):
            raise TypeError(f"{caller}: {name} must be a writable ndarray (it is updated in place), "
                            f"got {type(a).__name__}. Pass np.array({name}).")
        if np.shape(a) != shape:
            raise ValueError(f"{caller}: {name} has shape {np.shape(a)}, expected {shape} for {n:,} genes.")


def check_tiles_and_params(tiles, params, caller: str) -> None:
    """Parameters (a GloVeParams) that the kernels can update in place for these tiles."""
    from dataclasses import fields

    dt = params.W.dtype
    check_dtype(dt, caller, " Pass dtype=np.float32.")
    if tiles.values.dtype != dt:
        raise ValueError(
            f"{caller}: the tiles hold {tiles.values.dtype.name} but the parameters are {dt.name}. "
            f"Build the tiles with dtype=np.{dt.name}, or cast the parameters."
        )
    n, d = params.W.shape
    for f in fields(params):
        a = getattr(params, f.name)
        shape = (n, d) if f.name in ("W", "C", "gW", "gC") else (n,)
        if a.shape != shape or a.dtype != dt or not a.flags.c_contiguous or not a.flags.writeable:
            raise ValueError(
                f"{caller}: params.{f.name} must be a writeable C-contiguous {dt.name} array of shape {shape}, "
                f"got {a.dtype.name} {a.shape}. Build the parameters with init_params()."
            )
    if tiles.n_genes != n:
        raise ValueError(
            f"{caller}: the tiles cover {tiles.n_genes:,} genes but the parameters have {n:,} rows. "
            "Use parameters made for these genes (init_params(tiles.n_genes, dim, ...))."
        )


def check_group_bounds(group_bounds, n_genes: int) -> np.ndarray:
    """Gene group bounds: 1-d ints increasing strictly from 0 to ``n_genes``; returned as int64."""
    b = np.asarray(group_bounds)
    if b.ndim != 1 or b.shape[0] < 2 or b.dtype.kind not in "iu":
        raise ValueError(
            f"training_tiles: group_bounds must be a 1-d int array of B + 1 >= 2 bounds, got {b!r}. "
            "Use genevec._layout.gene_groups(n_genes)."
        )
    b = b.astype(np.int64)
    if b[0] != 0 or b[-1] != n_genes or np.any(np.diff(b) <= 0):
        raise ValueError(
            f"training_tiles: group_bounds must increase strictly from 0 to n_genes={n_genes:,}, got "
            f"{b[:5].tolist()}...{b[-2:].tolist()}. Use genevec._layout.gene_groups({n_genes})."
        )
    return b


def check_block_keys(keys) -> np.ndarray:
    """The four uint32 keys of a block's visiting order, as uint64."""
    keys = np.asarray(keys, dtype=np.uint64).ravel()
    if keys.shape[0] != 4:
        raise ValueError(f"block_order needs 4 uint32 keys, got {keys.shape[0]}.")
    return keys


# ---------------------------------------------------------------------------- other functions' parameters
def check_set_size(value, name: str) -> int:
    """``enrich``'s ``min_size`` or ``max_size``: an int >= 1 (genes in a set), not a bool."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"enrich: {name} must be an int >= 1 (genes in a set), got {value!r}.")
    return int(value)


def check_perplexity(perplexity, n_genes: int, caller: str) -> float:
    """A t-SNE perplexity: a finite number in ``(0, n_genes)``, not a bool; returned as float."""
    if isinstance(perplexity, bool) or not isinstance(perplexity, numbers.Real):
        raise TypeError(f"{caller}: perplexity must be a number, got {perplexity!r}.")
    perplexity = float(perplexity)
    if not (np.isfinite(perplexity) and 0 < perplexity < n_genes):
        raise ValueError(
            f"{caller}: perplexity must be > 0 and smaller than the number of genes ({n_genes:,}), got "
            f"{perplexity:g}. Use e.g. perplexity={max(1, min(30, (n_genes - 1) // 3))}."
        )
    return perplexity


def check_topn(topn, caller: str) -> int | None:
    """A query's ``topn``: an int (how many genes to return) or None (every score), not a bool."""
    if topn is None:
        return None
    if isinstance(topn, bool) or not isinstance(topn, numbers.Integral):
        raise TypeError(
            f"{caller}: topn must be an int (how many genes to return) or None (all scores as an array), "
            f"got {topn!r}."
        )
    return int(topn)


def check_support(support):
    """A NeighbourSupport from a Stability or NeighbourSupport (or None)."""
    if support is None:
        return None
    from .stability import NeighbourSupport, Stability

    if isinstance(support, Stability):
        return support.support
    if isinstance(support, NeighbourSupport):
        return support
    raise TypeError(
        f"GeneVectors: support must be the result of genevec.stability(...) (or its .support), got "
        f"{type(support).__name__}."
    )


def check_filter_limit(name: str, value, *, integral: bool):
    """A ``filter_genes`` limit: None, or a non-negative number (an int with ``integral``), not a bool or NaN."""
    if value is None:
        return None
    kinds = (numbers.Integral,) if integral else (numbers.Real,)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0 or (value != value):
        what = "a non-negative int" if integral else "a non-negative number"
        raise ValueError(f"filter_genes: {name} must be None or {what}, got {value!r}.")
    return value


def check_eigen_power(power, caller: str = "eigen_weighting") -> float | None:
    """Validate an ``eigen_power``: None (no re-weighting) or a finite number in [0, 1]."""
    if power is None:
        return None
    if isinstance(power, bool) or not isinstance(power, numbers.Real) or not (0.0 <= float(power) <= 1.0):
        raise ValueError(
            f"The 'eigen_power' parameter of {caller} must be None (the vectors as trained) or a float in the "
            f"range [0, 1] (0 whitens, 0.5 keeps the trained weighting). Got {power!r} instead."
        )
    return float(power)


GENE_NAME_MODES = ("symbol", "ensembl")


def check_gene_names_mode(gene_names: str) -> None:
    """Raise ValueError unless ``gene_names`` is ``"symbol"`` or ``"ensembl"``."""
    if gene_names not in GENE_NAME_MODES:
        raise ValueError(
            f"gene_names must be 'symbol' (the Description column, e.g. 'TP53') or 'ensembl' (the Name "
            f"column without its version, e.g. 'ENSG00000141510'); got {gene_names!r}."
        )
