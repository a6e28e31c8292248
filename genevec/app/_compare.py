"""The Compare tissues tab, as plain functions without Shiny.

A gene's nearest genes in each tissue of a collection, side by side (:meth:`genevec.TissueModels.compare`),
and the genes whose neighbours change most between two tissues, beyond split-half noise
(:meth:`genevec.TissueModels.shifts`). Each function that reads what the user chose returns a
sentence instead of raising when the choice cannot be answered; the Shiny layer shows it.
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

#: Neighbours per tissue the side-by-side table shows at most.
MAX_TOPN = 100
#: Shifted genes the table lists at most (the CSV holds every shared gene).
MAX_SHIFTS = 1000

_shift_lock = threading.Lock()

COMPARE_EMPTY = "Type a gene symbol in the box above to see its nearest genes in each tissue."
SHIFT_COLUMNS = ["Gene", "Score", "P", "Q", "Shifted", "Jaccard", "Expected Jaccard", "Cosine"]


class GeneUniverse:
    """Every gene of a collection's tissues, in the tissues' order: what the Compare tab's gene picker lists.

    It has what the app's gene pickers ask of a model (``genes``, ``in``, ``len``), so the shared
    search index serves it like a model.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import GeneVectors
    >>> from genevec.app._compare import GeneUniverse
    >>> u = GeneUniverse({"a": GeneVectors(np.eye(2), ["X", "Y"]), "b": GeneVectors(np.eye(2), ["Y", "Z"])})
    >>> u.genes, "Z" in u, len(u)
    (['X', 'Y', 'Z'], True, 3)
    """

    def __init__(self, collection: Any):
        self.genes = list(dict.fromkeys(g for t in collection for g in collection[t].genes))
        self._set = frozenset(self.genes)

    def __contains__(self, gene: object) -> bool:
        return gene in self._set

    def __len__(self) -> int:
        return len(self.genes)

    def __iter__(self) -> Iterator[str]:
        return iter(self.genes)


def whole_number(value: Any, low: int, high: int, what: str) -> str | None:
    """The sentence a number box shows when ``value`` is not a whole number in ``low..high`` (None when it is).

    Examples
    --------
    >>> from genevec.app._compare import whole_number
    >>> whole_number(10, 1, 100, "Neighbours per tissue") is None
    True
    >>> whole_number(500, 1, 100, "Neighbours per tissue")
    'Neighbours per tissue: give a whole number from 1 to 100 (got 500).'
    """
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value
          and low <= value <= high and float(value).is_integer())
    return None if ok else f"{what}: give a whole number from {low} to {high:,} (got {value!r})."


def _tissue_list(chosen: Any) -> list[str]:
    if isinstance(chosen, str):
        chosen = [chosen]
    return [t for t in (chosen or ()) if isinstance(t, str) and t]


def side_by_side(collection: Any, gene: str, topn: Any, tissues: Any) -> tuple[pd.DataFrame, dict[str, str]] | str:
    """``gene``'s ``topn`` nearest genes in each chosen tissue, side by side, or why there are none.

    Parameters
    ----------
    collection : TissueModels
    gene : str
        ``""`` when no gene is chosen.
    topn : int
        Neighbours per tissue, 1 to :data:`MAX_TOPN`.
    tissues : sequence of str
        The chosen tissues (the collection's names).

    Returns
    -------
    (table, absent) or str
        ``table``: ``Rank``, then per tissue that has the gene a column named after the tissue (its
        neighbours, nearest first) and ``<tissue> cosine``. ``absent``: each chosen tissue without the
        gene and why (:meth:`genevec.TissueModels.compare`). A sentence naming the problem and the fix
        when the choice cannot be answered (no gene, no tissue, a bad number, a gene no chosen tissue has).

    Examples
    --------
    >>> import genevec
    >>> from genevec.datasets import demo_paths
    >>> from genevec.app._compare import side_by_side
    >>> models = genevec.fit_tissues(*demo_paths(), min_samples=5, top_genes=300, n_splits=2)
    >>> table, absent = side_by_side(models, "KRT14", 3, ["Skin", "Bladder"])
    >>> list(table.columns), len(table), absent
    (['Rank', 'Skin', 'Skin cosine', 'Bladder', 'Bladder cosine'], 3, {})
    >>> side_by_side(models, "KRT14", 3, [])
    'Choose at least one tissue in the Tissues box to see the neighbours of KRT14 in it.'
    """
    from ..exceptions import GeneNotFoundError

    if not gene:
        return COMPARE_EMPTY
    chosen = _tissue_list(tissues)
    if not chosen:
        return f"Choose at least one tissue in the Tissues box to see the neighbours of {gene} in it."
    bad = whole_number(topn, 1, MAX_TOPN, "Neighbours per tissue")
    if bad:
        return bad
    try:
        result = collection.compare(gene, topn=int(topn), tissues=chosen)
    except GeneNotFoundError as exc:
        return str(exc.args[0])
    except KeyError as exc:                          # a tissue no select box offers
        return str(exc.args[0])
    table = pd.DataFrame({"Rank": result.index.to_numpy()})
    for t in dict.fromkeys(result.columns.get_level_values("tissue")):
        table[t] = result[(t, "gene")].to_numpy()
        table[f"{t} cosine"] = result[(t, "cosine")].to_numpy()
    return table, dict(result.attrs.get("absent", {}))


def absent_lines(gene: str, absent: dict[str, str]) -> list[str]:
    """One sentence per chosen tissue that has no vector for ``gene``, saying why.

    Examples
    --------
    >>> from genevec.app._compare import absent_lines
    >>> absent_lines("KRT14", {"Bladder": "filtered out at training (top_genes=300)"})
    ['KRT14 is not in tissue Bladder: filtered out at training (top_genes=300).']
    """
    return [f"{gene} is not in tissue {t}: {why}." for t, why in absent.items()]


def side_by_side_display(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """The side-by-side table for the screen: cosines to ``digits`` decimals (the CSV keeps every digit)."""
    out = table.copy()
    for col in out.columns:
        if col.endswith(" cosine"):
            out[col] = out[col].round(digits)
    return out


def compare_caption(gene: str, table: pd.DataFrame, absent: dict[str, str]) -> str:
    """What the side-by-side table shows, in one sentence.

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.app._compare import compare_caption
    >>> t = pd.DataFrame({"Rank": [1, 2], "Skin": ["A", "B"], "Skin cosine": [0.9, 0.8]})
    >>> compare_caption("KRT14", t, {"Bladder": "filtered out"})
    'The 2 nearest genes of KRT14 in 1 tissue (cosine within each tissue); 1 chosen tissue lacks it.'
    """
    n = sum(1 for c in table.columns if c.endswith(" cosine"))
    text = (f"The {len(table)} nearest genes of {gene} in {n} tissue{'s' if n != 1 else ''} "
            "(cosine within each tissue)")
    if absent:
        text += f"; {len(absent)} chosen tissue{' lacks' if len(absent) == 1 else 's lack'} it"
    return text + "."


def shift_problem(collection: Any, a: Any, b: Any, top: Any) -> str | None:
    """Why the shifts between tissues ``a`` and ``b`` cannot be listed (None when they can).

    Examples
    --------
    >>> from genevec.app._compare import shift_problem
    >>> shift_problem(["Skin", "Bladder"], "Skin", "Skin", 50)
    'Tissue A and tissue B are both Skin: choose two different tissues to see which genes change neighbours.'
    >>> shift_problem(["Skin"], "Skin", "Skin", 50)
    'This collection has one tissue (Skin): shifts compare two. Fit more tissues with genevec train --tissue all.'
    """
    tissues = list(collection)
    if len(tissues) < 2:
        return (f"This collection has one tissue ({tissues[0]}): shifts compare two. Fit more tissues with "
                "genevec train --tissue all.")
    if not (isinstance(a, str) and a in tissues and isinstance(b, str) and b in tissues):
        return "Choose tissue A and tissue B to see which genes change neighbours between them."
    if a == b:
        return (f"Tissue A and tissue B are both {a}: choose two different tissues to see which genes change "
                "neighbours.")
    return whole_number(top, 1, MAX_SHIFTS, "Genes to list")


def all_shifts(collection: Any, a: str, b: str) -> pd.DataFrame:
    """Every gene tissues ``a`` and ``b`` share, most shifted first (:meth:`genevec.TissueModels.shifts`, ``top=None``).

    One computation at a time in this process: the collection keeps the last pair's table only, so
    sessions that ask for different pairs at once take turns rather than replace it under each other.
    """
    with _shift_lock:
        return collection.shifts(a, b, top=None)


def shift_table(full: pd.DataFrame) -> pd.DataFrame:
    """A :meth:`genevec.TissueModels.shifts` table with the app's column names, every row (the CSV).

    ``Gene, Score, P, Q, Shifted, Jaccard, Expected Jaccard, Cosine, Stability in <a>, Stability in <b>,
    Neighbours in <a>, Neighbours in <b>``, most shifted first; ``<a>`` and ``<b>`` are the tissues'
    names (``full.attrs["tissues"]``).
    """
    a, b = full.attrs["tissues"]
    names = {"gene": "Gene", "score": "Score", "p_value": "P", "q_value": "Q", "shifted": "Shifted",
             "jaccard": "Jaccard", "expected_jaccard": "Expected Jaccard", "cosine": "Cosine",
             "stability_a": f"Stability in {a}", "stability_b": f"Stability in {b}",
             "neighbours_a": f"Neighbours in {a}", "neighbours_b": f"Neighbours in {b}"}
    out = full.loc[:, list(names)].rename(columns=names)
    out.attrs = dict(full.attrs)
    return out


def shift_display(table: pd.DataFrame, top: int) -> pd.DataFrame:
    """The first ``top`` rows of :func:`shift_table` for the screen: rounded, ``Shifted`` as yes/no, no P or
    stability columns (the CSV has them)."""
    a, b = table.attrs["tissues"]
    out = table.head(int(top)).loc[:, ["Gene", "Score", "Q", "Shifted", "Jaccard", "Expected Jaccard", "Cosine",
                                       f"Neighbours in {a}", f"Neighbours in {b}"]].copy()
    for col, nd in (("Score", 2), ("Jaccard", 2), ("Expected Jaccard", 2), ("Cosine", 3)):
        out[col] = out[col].round(nd)
    out["Q"] = [f"{v:.2g}" for v in out["Q"]]
    out["Shifted"] = np.where(out["Shifted"].astype(bool), "yes", "no")
    return out


def shift_caption(table: pd.DataFrame, shown: int) -> str:
    """What the shift table shows, in one sentence.

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.app._compare import shift_caption
    >>> t = pd.DataFrame({"Gene": ["A", "B", "C"]})
    >>> t.attrs.update(tissues=("Skin", "Bladder"), k=10, n_shifted=1, alpha=0.05)
    >>> shift_caption(t, 2)
    'Skin vs Bladder: 3 shared genes, most shifted first; 1 shifted at q < 0.05. Showing 2 of 3; the CSV holds all.'
    """
    a, b = table.attrs["tissues"]
    n, n_shifted = len(table), int(table.attrs.get("n_shifted", 0))
    text = (f"{a} vs {b}: {n:,} shared genes, most shifted first; {n_shifted:,} shifted at "
            f"q < {table.attrs.get('alpha', 0.05):g}.")
    if shown < n:
        text += f" Showing {shown:,} of {n:,}; the CSV holds all."
    return text


def shift_explanation(k: int) -> str:
    """How to read the shift table's columns."""
    return (f"A gene's shift: how few of its {k} nearest genes the two tissues share (Jaccard), against how many "
            "they would share if the tissues differed only by sampling noise (Expected Jaccard, from each "
            "tissue's split-half stability). Score = -log10 of the chance that noise alone leaves an overlap this "
            "small; Q: Benjamini-Hochberg over the shared genes; Cosine: of the gene's aligned vectors.")


def summary_table(collection: Any) -> pd.DataFrame:
    """One row per tissue for the About tab: samples, genes, split-half stability, GO precision@10, alignment.

    The columns of :meth:`genevec.TissueModels.summary`, named for the page and rounded to 2 decimals.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> from genevec.app._compare import summary_table
    >>> summary = pd.DataFrame({"samples": [12], "genes": [300], "stability": [0.613], "go_precision": [0.2049],
    ...                         "go_random": [0.051], "go_pearson": [0.18], "aligned_cosine": [0.874]}, index=["Skin"])
    >>> print(summary_table(SimpleNamespace(summary=lambda: summary)).to_string(index=False))
    Tissue  Samples  Genes  Split-half stability  GO precision@10  Random  Pearson  Aligned cosine
      Skin       12    300                  0.61              0.2    0.05     0.18            0.87
    """
    s = collection.summary()
    out = pd.DataFrame({"Tissue": s.index.astype(str), "Samples": s["samples"].to_numpy(),
                        "Genes": s["genes"].to_numpy(),
                        "Split-half stability": s["stability"].round(2).to_numpy(),
                        "GO precision@10": s["go_precision"].astype(float).round(2).to_numpy(),
                        "Random": s["go_random"].astype(float).round(2).to_numpy(),
                        "Pearson": s["go_pearson"].astype(float).round(2).to_numpy(),
                        "Aligned cosine": s["aligned_cosine"].astype(float).round(2).to_numpy()})
    return out


def skipped_lines(collection: Any) -> list[str]:
    """One sentence per tissue left out when the collection was made.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from genevec.app._compare import skipped_lines
    >>> skipped_lines(SimpleNamespace(skipped=[{"tissue": "Kidney", "n_samples": 2, "reason": "2 samples"}]))
    ['Kidney (2 samples) was left out: 2 samples.']
    """
    return [f"{s['tissue']} ({s.get('n_samples', '?')} samples) was left out: {s['reason']}."
            for s in getattr(collection, "skipped", [])]


def settings_rows(collection: Any) -> list[tuple[str, str]]:
    """``(label, value)`` rows of how the collection was made, for the About tab."""
    st = collection.settings
    rows = [("Tissue level", str(st.get("level", "?"))),
            ("Genes", {"shared": "shared: the genes expressed in every tissue",
                       "union": "union: each tissue keeps the genes it expresses"}.get(st.get("genes"),
                                                                                     str(st.get("genes"))))]
    if st.get("reference"):
        rows.append(("Reference tissue", f"{st['reference']} (every other tissue is rotated onto it)"))
    if st.get("k") is not None:
        rows.append(("Neighbours compared (k)", str(st["k"])))
    if st.get("n_splits") is not None:
        rows.append(("Split-half noise", f"{st['n_splits']} random splits of each tissue's samples into halves"))
    counts = st.get("counts_file")
    if isinstance(counts, dict) and counts.get("name"):
        rows.append(("Counts file", str(counts["name"])))
    return rows

