"""Querying gene vectors: nearest genes and analogies.

:class:`GeneVectors` holds one vector per gene and answers the questions of the exp2vec study
with gensim's ``KeyedVectors`` names and semantics (``most_similar``, ``most_similar_cosmul``,
``similarity``, ``key_to_index``, ``index_to_key``, ``kv["A"]``). Files are word2vec text, so
gensim, text2vec and most embedding tools read them; the format lives in
:mod:`genevec.io.word2vec`, whose :func:`load_vectors` is also importable from here.

Over ~500 lines for a reason: it is one class, gensim's ``KeyedVectors`` surface, and nearly half
of its lines are numpydoc docstrings whose examples run as tests.
"""

from __future__ import annotations

import difflib
import logging
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ._threads import one_blas_thread
from ._validation import check_support, check_topn
from .exceptions import GeneNotFoundError
from .io.word2vec import _genes, load_vectors, write_word2vec

log = logging.getLogger(__name__)

__all__ = ["GeneVectors", "load_vectors"]

#: Epsilon of 3CosMul's denominator (Levy & Goldberg 2014, eq. 4; the value gensim uses).
COSMUL_EPSILON = 1e-6

_ANALOGY_MODES = ("gensim", "original", "cosmul")

def _unit_rows(X: np.ndarray) -> np.ndarray:
    """Rows of ``X`` scaled to unit L2 norm, in X's dtype; all-zero rows stay zero (no NaN)."""
    X64 = X.astype(np.float64, copy=False)
    norms = np.sqrt(np.einsum("ij,ij->i", X64, X64))
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return (X64 * scale[:, None]).astype(X.dtype, copy=False)


def _unit(v: np.ndarray) -> np.ndarray:
    """``v / ||v||`` in float64; the zero vector stays zero."""
    v = np.asarray(v, dtype=np.float64)
    n = math.sqrt(float(v @ v))
    return v / n if n > 0 else np.zeros_like(v)


def _top_indices(scores: np.ndarray, k: int, exclude: Sequence[int] = ()) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first, ties by index; ``exclude`` never returned.

    ``np.argpartition`` finds a threshold in O(n); only the candidates at or above it are sorted,
    so the order equals a stable descending argsort of the full array.
    """
    n = scores.shape[0]
    if exclude:
        scores = scores.copy()
        scores[list(exclude)] = -np.inf
        k = min(k, n - len(set(exclude)))
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    if k < n:  # with exclusions k < n always, and the threshold is a finite score
        part = np.argpartition(scores, n - k)[n - k:]
        cand = np.flatnonzero(scores >= scores[part].min())
    else:
        cand = np.arange(n)
    order = np.lexsort((cand, -scores[cand]))
    return cand[order[:k]]


class GeneVectors:
    """Gene vectors with gensim's ``KeyedVectors`` query API.

    Parameters
    ----------
    vectors : array-like of shape (n_genes, dim)
        One row per gene. float32 and float64 are kept; other numbers become float64. The array is
        copied and the copy made read-only (so cached unit vectors can never go stale).
    genes : sequence of str
        Gene symbols, one per row, unique and non-empty.
    metadata : mapping, optional
        Parameters the vectors were trained with (``dim``, ``x_max``, ...), saved beside them by
        :meth:`save` in a JSON sidecar. Keys must be strings.
    support : NeighbourSupport or Stability, optional
        How often each neighbour came back over refits (:func:`genevec.stability`): shown by
        :meth:`neighbor_table` and ``most_similar(..., with_support=True)``, saved in the sidecar.

    Attributes
    ----------
    vectors : ndarray of shape (n_genes, dim)
        The vectors (read-only).
    index_to_key : list of str
        Gene of each row; :attr:`genes` is the same list.
    key_to_index : dict of str to int
        Row of each gene.
    metadata : dict
        Training parameters (empty if none were given).
    support : NeighbourSupport or None
        Neighbour support from :func:`genevec.stability`, if attached.

    See Also
    --------
    load_vectors : Read vectors saved with :meth:`save` (or by gensim).
    genevec.GeneGloVe : Learns the vectors; its ``vectors_`` is a GeneVectors.

    Notes
    -----
    Cosine similarity of a zero vector is defined here as 0 (gensim returns NaN): a gene whose
    vector is all zeros scores 0 against every query, and a query whose terms cancel out (e.g.
    ``positive="A", negative="A"``) scores 0 against every gene. Scores are clipped to [-1, 1]
    against rounding. The first query builds the unit-norm copy of the vectors (n_genes x dim,
    same dtype: 10 MB for 25,321 genes x 100 in float32); each query then costs one
    matrix-vector product, O(n_genes x dim).

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import GeneVectors
    >>> gv = GeneVectors(np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32),
    ...                  ["EGFR", "ERBB2", "TP53"], metadata={"dim": 2})
    >>> gv
    GeneVectors(3 genes x 2 dims, float32, metadata: dim)
    >>> len(gv), gv.dim, "TP53" in gv, gv.key_to_index["ERBB2"]
    (3, 2, True, 1)
    >>> gv["TP53"].tolist()
    [0.0, 1.0]
    >>> [g for g, _ in gv.most_similar("EGFR", topn=2)]
    ['ERBB2', 'TP53']
    """

    def __init__(self, vectors: ArrayLike, genes: Sequence[str], *, metadata: Mapping[str, Any] | None = None,
                 support: Any = None):
        V = np.asarray(vectors)
        if V.dtype.kind not in "biuf":
            raise TypeError(f"GeneVectors: vectors must be numbers, got an array of dtype {V.dtype}.")
        if V.ndim != 2:
            raise ValueError(
                f"GeneVectors: vectors must be a 2-d array (n_genes, dim), got shape {V.shape}. "
                "For one gene pass vectors.reshape(1, -1)."
            )
        if V.shape[0] < 1 or V.shape[1] < 1:
            raise ValueError(
                f"GeneVectors: vectors must have at least one gene and one dimension, got shape {V.shape}."
            )
        dtype = V.dtype if V.dtype in (np.float32, np.float64) else np.float64
        V = np.array(V, dtype=dtype, order="C", copy=True)
        if not np.isfinite(V).all():
            row = int(np.flatnonzero(~np.isfinite(V).all(axis=1))[0])
            raise ValueError(
                f"GeneVectors: the vector of gene {row} has a non-finite value "
                f"({V[row][~np.isfinite(V[row])][0]}); vectors must be finite. "
                "If training diverged, lower learning_rate."
            )
        if isinstance(genes, str):
            raise TypeError(f"GeneVectors: genes must be a sequence of str, got the single string {genes!r}.")
        names = list(genes)
        if len(names) != V.shape[0]:
            raise ValueError(
                f"GeneVectors: got {len(names):,} gene names for {V.shape[0]:,} vectors; pass one name per row."
            )
        for i, g in enumerate(names):
            if not isinstance(g, str):
                raise TypeError(
                    f"GeneVectors: gene names must be str, but name {i} is {g!r} ({type(g).__name__}). "
                    "Convert them, e.g. [str(g) for g in genes]."
                )
            if not g:
                raise ValueError(f"GeneVectors: gene name {i} is the empty string; every gene needs a symbol.")
        names = [str(g) for g in names]  # np.str_ -> str
        key_to_index = {g: i for i, g in enumerate(names)}
        if len(key_to_index) != len(names):
            seen: set[str] = set()
            dups = [g for g in names if g in seen or seen.add(g)]
            raise ValueError(
                f"GeneVectors: {len(set(dups)):,} gene names occur more than once ({', '.join(map(repr, dups[:5]))}). "
                "Make them unique, e.g. by merging duplicate symbols before training."
            )
        if metadata is None:
            meta: dict[str, Any] = {}
        elif isinstance(metadata, Mapping):
            meta = dict(metadata)
            bad = [k for k in meta if not isinstance(k, str)]
            if bad:
                raise TypeError(f"GeneVectors: metadata keys must be str (they go to JSON), got {bad[0]!r}.")
        else:
            raise TypeError(f"GeneVectors: metadata must be a dict or None, got {type(metadata).__name__}.")
        V.setflags(write=False)
        self.vectors = V
        self.index_to_key = names
        self.key_to_index = key_to_index
        self.metadata = meta
        self.support = check_support(support)
        self._normed: np.ndarray | None = None
        self._lower: dict[str, list[str]] | None = None

    # ------------------------------------------------------------------ container protocol
    @property
    def genes(self) -> list[str]:
        """Gene symbols in row order (the same list as :attr:`index_to_key`)."""
        return self.index_to_key

    @property
    def dim(self) -> int:
        """Length of each vector."""
        return int(self.vectors.shape[1])

    @property
    def vector_size(self) -> int:
        """Length of each vector (gensim's name for :attr:`dim`)."""
        return self.dim

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, gene: object) -> bool:
        return isinstance(gene, str) and gene in self.key_to_index

    def __getitem__(self, genes: str | Sequence[str]) -> np.ndarray:
        """The vector of a gene (shape ``(dim,)``), or of a list of genes (shape ``(len(genes), dim)``)."""
        if isinstance(genes, str):
            return self.vectors[self._index(genes)]
        if isinstance(genes, (list, tuple, np.ndarray, pd.Index)):
            return self.vectors[[self._index(g) for g in genes]].reshape(-1, self.dim)
        raise TypeError(
            f"GeneVectors: index with a gene symbol or a list of them, got {genes!r}. "
            "For row i use .vectors[i]."
        )

    def __repr__(self) -> str:
        keys = list(self.metadata)
        shown = ", ".join(keys[:4]) + (f", ... ({len(keys)} keys)" if len(keys) > 4 else "")
        meta = f", metadata: {shown}" if keys else ""
        dims = "1 dim" if self.dim == 1 else f"{self.dim} dims"
        return f"GeneVectors({_genes(len(self))} x {dims}, {self.vectors.dtype}{meta})"

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_normed"] = None
        state["_lower"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("support", None)  # pickled before genevec 0.2
        self.vectors = np.array(self.vectors, order="C", copy=True)
        self.vectors.setflags(write=False)

    def get_normed_vectors(self) -> np.ndarray:
        """The vectors scaled to unit L2 norm, one row per gene; all-zero vectors stay zero.

        Returns
        -------
        ndarray of shape (n_genes, dim)
            Read-only, same dtype as :attr:`vectors`, computed once and cached.

        Examples
        --------
        >>> import numpy as np
        >>> from genevec import GeneVectors
        >>> GeneVectors(np.array([[3.0, 4.0], [0.0, 0.0]]), ["A", "B"]).get_normed_vectors().round(6).tolist()
        [[0.6, 0.8], [0.0, 0.0]]
        """
        if self._normed is None:
            normed = _unit_rows(self.vectors)
            normed.setflags(write=False)
            self._normed = normed
        return self._normed

    def with_support(self, support: Any) -> "GeneVectors":
        """The same vectors with neighbour support attached (from :func:`genevec.stability`).

        Parameters
        ----------
        support : Stability, NeighbourSupport or None
            ``None`` removes it.

        Returns
        -------
        GeneVectors
            A new object; the vectors and metadata are shared, not copied.

        Examples
        --------
        >>> from genevec import GeneGloVe, datasets, stability
        >>> counts = datasets.load_demo(n_genes=200)
        >>> model = GeneGloVe(dim=8).fit(counts)
        >>> gv = model.vectors_.with_support(stability(counts, GeneGloVe(dim=8), n_resamples=3, mode="seed"))
        >>> gv.neighbor_table("EGFR", topn=2).columns.tolist()
        ['Gene', 'Similarity', 'Support']
        """
        out = GeneVectors.__new__(GeneVectors)
        out.__dict__.update(self.__dict__)
        out.support = check_support(support)
        return out

    # ------------------------------------------------------------------ gene lookup
    def _index(self, gene: Any) -> int:
        try:
            return self.key_to_index[gene]
        except (KeyError, TypeError):
            pass
        if not isinstance(gene, str):
            raise TypeError(
                f"Genes are looked up by symbol (str), got {gene!r} ({type(gene).__name__}). "
                "For row i use .vectors[i] or .genes[i]."
            )
        raise GeneNotFoundError(self._not_found_message(gene))

    def _not_found_message(self, gene: str) -> str:
        if self._lower is None:
            lower: dict[str, list[str]] = {}
            for g in self.index_to_key:
                lower.setdefault(g.lower(), []).append(g)
            self._lower = lower
        near = list(self._lower.get(gene.lower(), []))[:3]
        if len(near) < 3:
            near += [g for g in difflib.get_close_matches(gene, self.index_to_key, n=3) if g not in near]
        near = near[:3]
        hint = f" Did you mean {', '.join(map(repr, near))}?" if near else ""
        return (
            f"{gene!r} is not among the {len(self):,} genes of this model.{hint} "
            "Genes are matched by symbol, case-sensitively; see .genes."
        )

    # ------------------------------------------------------------------ query terms
    def _terms(self, values: Any, default_weight: float, caller: str, *, weights: bool = True) -> list:
        """Parse gensim-style query terms into ``(unit vector float64, weight, row or None)``."""
        if values is None:
            return []
        if isinstance(values, str) or (isinstance(values, np.ndarray) and values.ndim == 1):
            items = [values]
        elif isinstance(values, np.ndarray) and values.ndim == 2:
            items = list(values)
        elif (isinstance(values, tuple) and len(values) == 2 and isinstance(values[0], (str, np.ndarray))
              and isinstance(values[1], numbers.Real) and not isinstance(values[1], bool)):
            items = [values]  # a single (term, weight) pair
        elif isinstance(values, Iterable) and not isinstance(values, (bytes, Mapping)):
            items = list(values)
        else:
            raise TypeError(
                f"{caller}: expected a gene, a vector or a list of them, got {values!r} ({type(values).__name__})."
            )
        normed = None
        terms = []
        for item in items:
            weight = default_weight
            if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[1], numbers.Real) \
                    and not isinstance(item[1], bool) and isinstance(item[0], (str, np.ndarray)):
                if not weights:
                    raise TypeError(
                        f"{caller}: takes no weights, got the pair {item!r}; pass the gene or vector alone."
                    )
                item, weight = item[0], float(item[1])
            if isinstance(item, str):
                row = self._index(item)
                if normed is None:
                    normed = self.get_normed_vectors()
                terms.append((normed[row].astype(np.float64), weight, row))
            elif isinstance(item, np.ndarray):
                if item.ndim != 1 or item.shape[0] != self.dim or item.dtype.kind not in "biuf":
                    raise ValueError(
                        f"{caller}: a raw vector must be a 1-d numeric array of length dim={self.dim}, "
                        f"got shape {item.shape} and dtype {item.dtype}."
                    )
                if not np.isfinite(item).all():
                    raise ValueError(f"{caller}: the query vector has non-finite values; pass finite numbers.")
                terms.append((_unit(item), weight, None))
            else:
                raise TypeError(
                    f"{caller}: cannot use {item!r} ({type(item).__name__}) as a query term; pass a gene symbol "
                    f"(str), a vector (ndarray of shape ({self.dim},)) or a (gene, weight) pair."
                )
        return terms

    def _query(self, positive: Any, negative: Any, caller: str) -> tuple[np.ndarray, list[int]]:
        """Unit-norm weighted mean of the terms (as gensim's get_mean_vector) and the rows to exclude."""
        terms = self._terms(positive, 1.0, caller) + self._terms(negative, -1.0, caller)
        if not terms:
            raise ValueError(
                f"{caller} needs at least one gene or vector in positive or negative; got none. "
                f"Example: {caller}(positive=['EGFR'])."
            )
        mean = np.zeros(self.dim, dtype=np.float64)
        total = 0.0
        for unit, weight, _ in terms:
            mean += weight * unit
            total += abs(weight)
        if total > 0:
            mean /= total
        exclude = sorted({row for _, _, row in terms if row is not None})
        return _unit(mean), exclude

    def _cosines(self, query: np.ndarray) -> np.ndarray:
        """Cosine of every gene with a unit-norm (or zero) query, in the vectors' dtype, clipped to [-1, 1]."""
        normed = self.get_normed_vectors()
        with one_blas_thread():
            scores = normed @ query.astype(normed.dtype)
        np.clip(scores, -1.0, 1.0, out=scores)
        return scores

    def _pairs(self, scores: np.ndarray, topn: int, exclude: Sequence[int]) -> list[tuple[str, float]]:
        return [(self.index_to_key[i], float(scores[i])) for i in _top_indices(scores, topn, exclude)]

    # ------------------------------------------------------------------ queries
    def most_similar(self, positive: Any = None, negative: Any = None, topn: int | None = 10, *,
                     with_support: bool = False) -> list[tuple[str, float]] | np.ndarray:
        """Genes whose vectors are closest by cosine to the mean of ``positive`` minus ``negative``.

        gensim's ``KeyedVectors.most_similar``: each term is scaled to unit length, terms are
        averaged with weight +1 (positive) and -1 (negative), the mean is scaled to unit length and
        compared by cosine with every gene. The query genes themselves are left out.

        Parameters
        ----------
        positive, negative : str, ndarray, (str or ndarray, float) pair, or a list of these, optional
            Genes (symbols), raw vectors of length ``dim``, or ``(term, weight)`` pairs. As in gensim,
            a pair's weight is used as given, in ``negative`` too (so pass ``("B", -2.0)`` there).
            Raw vectors are scaled to unit length like genes (gensim adds them unscaled).
        topn : int or None, default=10
            How many genes to return. ``None`` returns the cosine of every gene (query genes
            included) as an array in row order; ``topn < 1`` returns ``[]``.
        with_support : bool, default=False
            Return ``(gene, cosine, support)`` triples, ``support`` being the fraction of
            :func:`genevec.stability` refits in which the gene was among the query gene's top ``k``
            (needs one query gene and attached support, see :meth:`with_support`).

        Returns
        -------
        list of (str, float), or ndarray of shape (n_genes,)
            ``(gene, cosine)`` best first; equal scores in row order.

        Raises
        ------
        GeneNotFoundError
            A query gene is not in the vocabulary (the message suggests close symbols).
        ValueError
            No terms at all, or a raw vector of the wrong length.

        See Also
        --------
        most_similar_cosmul : 3CosMul, less dominated by one large similarity.
        neighbors : The nearest genes of many genes as a table.

        Notes
        -----
        One matrix-vector product over the unit vectors, O(n_genes x dim), then
        ``np.argpartition`` for the top ``topn`` in O(n_genes). A zero query (terms that cancel)
        scores 0 everywhere. See the class Notes for zero vectors.

        Examples
        --------
        >>> import numpy as np
        >>> from genevec import GeneVectors
        >>> gv = GeneVectors(np.array([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]]), ["A", "B", "C", "D"])
        >>> gv.most_similar("A", topn=2)
        [('B', 0.8), ('C', 0.0)]
        >>> [g for g, _ in gv.most_similar(positive=["A", "C"], topn=1)]
        ['B']
        >>> gv.most_similar(np.array([0.0, 2.0]), topn=None).round(3).tolist()
        [0.0, 0.6, 1.0, 0.0]
        """
        topn = check_topn(topn, "most_similar")
        if with_support:
            gene = self._support_query(positive, negative, topn)
        if topn is not None and topn < 1:
            return []
        query, exclude = self._query(positive, negative, "most_similar")
        scores = self._cosines(query)
        if topn is None:
            return scores
        pairs = self._pairs(scores, topn, exclude)
        if with_support:
            support = self.support.of(gene, [g for g, _ in pairs])
            return [(g, s, float(v)) for (g, s), v in zip(pairs, support)]
        return pairs

    def _support_query(self, positive: Any, negative: Any, topn: int | None) -> str:
        """The one query gene of ``most_similar(..., with_support=True)``, or a clear error."""
        if self.support is None:
            raise ValueError(
                "most_similar(with_support=True): these vectors have no neighbour support. Compute it with "
                "genevec.stability(counts, ...) and attach it: vectors.with_support(result) "
                "(or train with `genevec train --stability 20`)."
            )
        if not isinstance(positive, str) or negative is not None or topn is None:
            raise ValueError(
                "most_similar(with_support=True): support is a property of one gene's neighbours; pass a single "
                f"gene as positive, no negative and an int topn (got positive={positive!r}, negative={negative!r}, "
                f"topn={topn!r})."
            )
        return positive

    def most_similar_cosmul(self, positive: Any = None, negative: Any = None, topn: int | None = 10
                            ) -> list[tuple[str, float]] | np.ndarray:
        """Nearest genes by 3CosMul, the multiplicative analogy objective of Levy & Goldberg (2014).

        Equation (4) of Levy & Goldberg, with cosines shifted to [0, 1] as their footnote 7 and
        gensim do::

            score(x) = prod_{p in positive} s(x, p) / (prod_{n in negative} s(x, n) + 1e-6),
            s(x, y) = (1 + cos(x, y)) / 2

        With ``positive=[a, c]`` and ``negative=[b]`` this is 3CosMul for ``a - b + c``. Unlike the
        additive mean of :meth:`most_similar`, one large similarity cannot dominate the others.

        Parameters
        ----------
        positive, negative : str, ndarray or list of these
            Genes or raw vectors (scaled to unit length); no weights. ``positive`` must not be empty.
        topn : int or None, default=10
            How many genes to return; ``None`` returns every score as an array in row order.

        Returns
        -------
        list of (str, float), or ndarray of shape (n_genes,)
            ``(gene, score)`` best first, query genes left out; scores are >= 0, not cosines.

        References
        ----------
        O. Levy and Y. Goldberg, "Linguistic Regularities in Sparse and Explicit Word
        Representations", CoNLL 2014, eq. (4). https://aclanthology.org/W14-1618

        Examples
        --------
        >>> import numpy as np
        >>> from genevec import GeneVectors
        >>> gv = GeneVectors(np.array([[1, 0], [0, 1], [1, 1], [1, -1]]), ["A", "B", "C", "D"])
        >>> gv.most_similar_cosmul(positive=["A"], negative=["B"], topn=1)[0][0]
        'D'
        """
        topn = check_topn(topn, "most_similar_cosmul")
        if topn is not None and topn < 1:
            return []
        pos = self._terms(positive, 1.0, "most_similar_cosmul", weights=False)
        neg = self._terms(negative, -1.0, "most_similar_cosmul", weights=False)
        if not pos:
            raise ValueError(
                "most_similar_cosmul needs at least one gene or vector in positive; got none. "
                "Example: most_similar_cosmul(positive=['BRCA1', 'TP53'], negative=['BRCA2'])."
            )
        num = np.ones(len(self), dtype=np.float64)
        den = np.ones(len(self), dtype=np.float64)
        for terms, prod in ((pos, num), (neg, den)):
            for unit, _, _ in terms:
                prod *= (1.0 + self._cosines(unit)) / 2.0
        # With no negative term the denominator is prod([]) + eps = 1 + eps, as in gensim.
        scores = num / (den + COSMUL_EPSILON)
        if topn is None:
            return scores
        exclude = sorted({row for _, _, row in pos + neg if row is not None})
        return self._pairs(scores, topn, exclude)

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two genes' vectors (0 if either vector is zero).

        Examples
        --------
        >>> import numpy as np
        >>> from genevec import GeneVectors
        >>> gv = GeneVectors(np.array([[1.0, 0.0], [0.6, 0.8]]), ["A", "B"])
        >>> round(gv.similarity("A", "B"), 6)
        0.6
        """
        normed = self.get_normed_vectors()
        ua = normed[self._index(a)].astype(np.float64)
        ub = normed[self._index(b)].astype(np.float64)
        return float(min(1.0, max(-1.0, float(ua @ ub))))

    def analogy(self, a: str, b: str, c: str, topn: int | None = 5, *, mode: str = "gensim"
                ) -> list[tuple[str, float]] | np.ndarray:
        """Solve "a - b = ? - c", i.e. the genes closest to ``a - b + c``.

        The blog's "BRCA1 - BRCA2 = ? - TP53" is ``analogy("BRCA1", "BRCA2", "TP53")``.

        Parameters
        ----------
        a, b, c : str
            Gene symbols.
        topn : int or None, default=5
            How many genes to return; ``None`` returns every score as an array in row order.
        mode : {"gensim", "original", "cosmul"}, default="gensim"
            ``"gensim"``: 3CosAdd, ``most_similar(positive=[a, c], negative=[b])`` (unit vectors,
            ``a``, ``b`` and ``c`` left out). ``"original"``: the exp2vec Shiny app: the raw vectors
            ``a - b + c`` compared by cosine with every gene, ``a``, ``b`` and ``c`` kept in the
            results. ``"cosmul"``: 3CosMul, ``most_similar_cosmul(positive=[a, c], negative=[b])``.

        Returns
        -------
        list of (str, float), or ndarray of shape (n_genes,)
            ``(gene, score)`` best first.

        Examples
        --------
        >>> import numpy as np
        >>> from genevec import GeneVectors
        >>> gv = GeneVectors(np.array([[2, 1], [1, 1], [1, 3], [2, 3]]), ["A", "B", "C", "D"])
        >>> gv.analogy("A", "B", "C", topn=1)[0][0]
        'D'
        >>> [g for g, _ in gv.analogy("A", "B", "C", topn=2, mode="original")]  # B is kept
        ['D', 'B']
        """
        if mode not in _ANALOGY_MODES:
            raise ValueError(
                f"analogy: mode must be one of {', '.join(map(repr, _ANALOGY_MODES))}, got {mode!r}. "
                "'gensim' leaves the query genes out; 'original' reproduces the exp2vec app."
            )
        for name, gene in (("a", a), ("b", b), ("c", c)):
            if not isinstance(gene, str):
                raise TypeError(f"analogy: {name} must be a gene symbol (str), got {gene!r}.")
        if mode == "gensim":
            return self.most_similar(positive=[a, c], negative=[b], topn=topn)
        if mode == "cosmul":
            return self.most_similar_cosmul(positive=[a, c], negative=[b], topn=topn)
        topn = check_topn(topn, "analogy")
        if topn is not None and topn < 1:
            return []
        V = self.vectors
        target = (V[self._index(a)].astype(np.float64) - V[self._index(b)] + V[self._index(c)])
        scores = self._cosines(_unit(target))
        if topn is None:
            return scores
        return self._pairs(scores, topn, ())

    def enrich(self, gene: str, topn: int = 50, gene_sets: Any = "go_bp", *, min_size: int = 5,
               max_size: int = 500) -> Any:
        """The gene sets over-represented among ``gene``'s ``topn`` nearest genes.

        A hypergeometric test per set against the model's other genes, with Benjamini-Hochberg q
        values; see :func:`genevec.enrich.neighbour_enrichment`.

        Parameters
        ----------
        gene : str
        topn : int, default=50
            Neighbours to test.
        gene_sets : str, path, dict or GeneSets, default="go_bp"
            ``"go_bp"`` or ``"reactome"`` (shipped), a GMT file or a dict.
        min_size, max_size : int, default=5, 500
            Sets with fewer or more genes among the model's are not tested.

        Returns
        -------
        genevec.enrich.Enrichment
            ``.table`` (Set, Name, Overlap, Size, Expected, Fold, P, Q, Genes) and ``.summary()``.

        Examples
        --------
        >>> import numpy as np
        >>> from genevec import GeneVectors
        >>> rng = np.random.default_rng(0)
        >>> genes = [f"G{i}" for i in range(40)]
        >>> V = rng.normal(size=(40, 4)); V[:8] += [9, 0, 0, 0]       # G0..G7 point one way
        >>> result = GeneVectors(V, genes).enrich("G0", topn=7, gene_sets={"module": genes[:8], "rest": genes[8:]})
        >>> result.table[["Set", "Overlap", "Size"]].values.tolist()
        [['module', 7, 7]]
        >>> result.summary()
        "G0's 7 nearest genes are enriched in module (7 of 7, 1.3 expected, q = 1.3e-07); 2 custom sets tested."
        """
        from .enrich import neighbour_enrichment

        return neighbour_enrichment(self, gene, topn, gene_sets, min_size=min_size, max_size=max_size)

    def neighbors(self, genes: str | Sequence[str], topn: int = 5) -> pd.DataFrame:
        """The study's neighbour table: one row per query gene, its nearest genes in columns n1..n{topn}.

        Parameters
        ----------
        genes : str or sequence of str
            Query genes; the row order follows it.
        topn : int, default=5
            Neighbours per gene (at most ``len(self) - 1``, the number of other genes).

        Returns
        -------
        DataFrame of shape (len(genes), min(topn, n_genes - 1))
            Index ``gene`` (the query genes); column ``nk`` holds the k-th nearest other gene by
            cosine, as ``most_similar(gene)`` orders them.

        Notes
        -----
        Queries run 256 at a time as one matrix product, so a score may differ from
        ``most_similar``'s in the last bit; the genes agree unless two scores tie to ~1e-7.

        Examples
        --------
        >>> import numpy as np
        >>> from genevec import GeneVectors
        >>> gv = GeneVectors(np.array([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]]), ["A", "B", "C", "D"])
        >>> table = gv.neighbors(["A", "C"], topn=2)
        >>> table.shape, table.index.tolist(), table.columns.tolist()
        ((2, 2), ['A', 'C'], ['n1', 'n2'])
        >>> table.loc["A"].tolist(), table.loc["C"].tolist()
        (['B', 'C'], ['B', 'A'])
        """
        if isinstance(topn, bool) or not isinstance(topn, numbers.Integral) or topn < 1:
            raise ValueError(f"neighbors: topn must be an int >= 1 (neighbours per gene), got {topn!r}.")
        query = [genes] if isinstance(genes, str) else list(genes)
        rows = np.array([self._index(g) for g in query], dtype=np.intp)
        k = min(int(topn), len(self) - 1)
        normed = self.get_normed_vectors()
        table = np.empty((len(query), k), dtype=object)
        for start in range(0, len(query), 256):
            block = rows[start:start + 256]
            with one_blas_thread():
                S = normed[block] @ normed.T
            np.clip(S, -1.0, 1.0, out=S)
            for j, row in enumerate(block):
                table[start + j] = [self.index_to_key[i] for i in _top_indices(S[j], k, (int(row),))]
        return pd.DataFrame(table, index=pd.Index(query, name="gene"),
                            columns=[f"n{i + 1}" for i in range(k)])

    def neighbor_table(self, gene: str, topn: int | None = None) -> pd.DataFrame:
        """Every other gene with its cosine to ``gene``, best first: the app's table.

        Parameters
        ----------
        gene : str
            Query gene (left out of the table).
        topn : int or None, default=None
            Keep the first ``topn`` rows; ``None`` keeps all ``n_genes - 1``.

        Returns
        -------
        DataFrame with columns ``Gene`` (str) and ``Similarity`` (float)
            Sorted by decreasing similarity, ties in row order; index 0..n-1. With support attached
            (:meth:`with_support`) a third column ``Support``: the fraction of refits in which the
            gene was among ``gene``'s top ``k`` (NaN for genes the refits did not see).

        Examples
        --------
        >>> import numpy as np
        >>> from genevec import GeneVectors
        >>> gv = GeneVectors(np.array([[1, 0], [0.8, 0.6], [0, 1]]), ["A", "B", "C"])
        >>> gv.neighbor_table("A")
          Gene  Similarity
        0    B         0.8
        1    C         0.0
        """
        if not isinstance(gene, str):
            raise TypeError(f"neighbor_table: gene must be a gene symbol (str), got {gene!r}.")
        topn = check_topn(topn, "neighbor_table")
        k = len(self) - 1 if topn is None else max(0, topn)
        query, exclude = self._query([gene], None, "neighbor_table")
        scores = self._cosines(query)
        idx = _top_indices(scores, k, exclude)
        names = [self.index_to_key[i] for i in idx]
        table = pd.DataFrame({"Gene": names, "Similarity": scores[idx].astype(np.float64)})
        if self.support is not None:
            table["Support"] = self.support.of(gene, names)
        return table

    # ------------------------------------------------------------------ AnnData
    @classmethod
    def from_anndata(cls, adata: Any, key: str = "genevec") -> GeneVectors:
        """The vectors stored in ``adata.varm[key]`` by :func:`genevec.fit_anndata` or :meth:`to_anndata`.

        Genes whose row is NaN (no vector) are left out; ``metadata`` is ``adata.uns[key]["params"]``.

        See Also
        --------
        genevec.fit_anndata
        """
        from .anndata_api import vectors_from_anndata

        return vectors_from_anndata(adata, key=key)

    def to_anndata(self, adata: Any = None, *, key: str = "genevec") -> Any:
        """Store the vectors in ``adata.varm[key]`` (NaN rows for genes of ``adata`` without a vector).

        ``adata.uns[key]`` receives the metadata as ``params``. Without ``adata``, returns a new
        AnnData with no cells and one ``var`` per gene; ``GeneVectors.from_anndata`` reads either back.

        Examples
        --------
        >>> import numpy as np
        >>> from genevec import GeneVectors
        >>> gv = GeneVectors(np.eye(3, 2), ["A", "B", "C"], metadata={"dim": 2})
        >>> a = gv.to_anndata()
        >>> a.varm["genevec"].shape, GeneVectors.from_anndata(a).genes
        ((3, 2), ['A', 'B', 'C'])
        """
        from .anndata_api import vectors_to_anndata

        return vectors_to_anndata(self, adata, key=key)

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike) -> None:
        """Write the vectors in word2vec text format, and the metadata to ``<path>.json``.

        Line 1 is ``"n_genes dim"``, then one line per gene: the symbol and ``dim`` numbers,
        separated by single spaces. Numbers are written with the fewest digits that read back to
        the same bits (``%.9g`` for float32, ``%.17g`` for float64), so :func:`load_vectors`
        round-trips exactly. A path ending in ``.gz`` is gzip-compressed.

        The JSON sidecar ``<path>.json`` holds :attr:`metadata` and the dtype. It is written when
        there is metadata or the dtype is float64 (word2vec readers assume float32); otherwise a
        sidecar left at ``<path>.json`` by an earlier save is removed so it cannot be misattributed.
        Both files are written atomically (:func:`genevec._atomic.atomic_write`), vectors first.

        Parameters
        ----------
        path : str or os.PathLike
            File to write (replaced if it exists).

        Raises
        ------
        ValueError
            A gene symbol contains whitespace, which word2vec text uses as its separator (nothing
            is written; rename the gene first).
        TypeError
            The metadata cannot be written as JSON (nothing is written).

        See Also
        --------
        load_vectors : Read the file back; gensim's ``KeyedVectors.load_word2vec_format`` reads it too.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from genevec import GeneVectors, load_vectors
        >>> gv = GeneVectors(np.array([[0.5, -1.25], [3.0, 0.1]], dtype=np.float32), ["A", "B"],
        ...                  metadata={"x_max": 100})
        >>> path = os.path.join(tempfile.mkdtemp(), "vectors.txt")
        >>> gv.save(path)
        >>> print(open(path).read(), end="")
        2 2
        A 0.5 -1.25
        B 3 0.100000001
        >>> back = load_vectors(path)
        >>> np.array_equal(back.vectors, gv.vectors), back.metadata
        (True, {'x_max': 100})
        """
        write_word2vec(path, self.vectors, self.index_to_key, metadata=self.metadata, support=self.support)
