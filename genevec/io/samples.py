"""Sample attributes (GTEx SampleAttributesDS) and tissue selection.

GTEx describes each sample in a tab-separated file indexed by ``SAMPID``, with the tissue at two
levels: ``SMTS`` (broad: ``Skin``) and ``SMTSD`` (detailed: ``Skin - Sun Exposed (Lower leg)``).
A tissue is named at either level, case-insensitively.
"""

from __future__ import annotations

import difflib
import io
import logging
import os
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..exceptions import DataWarning, FileFormatError
from .tables import check_file, open_binary, reading_errors, user_stacklevel

log = logging.getLogger(__name__)

__all__ = ["read_attributes", "tissues", "select_tissue", "tissue_samples", "detailed_tissues", "tissue_groups"]

SAMPLE_COLUMN = "SAMPID"
TISSUE_COLUMNS = ("SMTS", "SMTSD")
_SHOW = 5  # sample IDs quoted in a message


def read_attributes(path: str | os.PathLike) -> pd.DataFrame:
    """Read a GTEx SampleAttributesDS-style file: tab-separated, one line per sample.

    Parameters
    ----------
    path : str or PathLike
        Plain or gzipped text with a header line. It must have a ``SAMPID`` column and at least one
        of ``SMTS`` (broad tissue) and ``SMTSD`` (detailed tissue).

    Returns
    -------
    DataFrame
        Indexed by ``SAMPID`` (str); the other columns as pandas infers them, tissue columns as str.

    Raises
    ------
    FileNotFoundError
        No such file (similar names in the folder are suggested).
    FileFormatError
        The ``SAMPID`` or both tissue columns are missing, or a ``SAMPID`` repeats or is empty.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from genevec.io import read_attributes
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "attrs.txt"
    >>> _ = f.write_text("SAMPID\\tSMTS\\tSMTSD\\n"
    ...                  "S1\\tSkin\\tSkin - Sun Exposed (Lower leg)\\nS2\\tBladder\\tBladder\\n")
    >>> read_attributes(f)["SMTS"].tolist()
    ['Skin', 'Bladder']
    """
    p = check_file(path, "attributes file")
    with open_binary(p) as fh, reading_errors(p, lambda: 0):
        raw = fh.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FileFormatError(
            f"{p}, line {line}: not valid UTF-8 text ({exc.reason}). Save the file as UTF-8."
        ) from None
    if not text.strip():
        raise FileFormatError(
            f"{p}: the attributes file is empty; expected a header with {SAMPLE_COLUMN} and SMTS/SMTSD."
        )
    first = text.split("\n", 1)[0].strip()
    if first in ("#1.2", "#1.3"):
        raise FileFormatError(
            f"{p} looks like a GCT count file (line 1 is {first!r}), not a sample attributes table. The "
            f"attributes file is GTEx's SampleAttributesDS.txt: tab-separated, with {SAMPLE_COLUMN} and SMTS/SMTSD "
            "columns. Give the GCT file as the counts, e.g. genevec train counts.gct.gz --attributes "
            "SampleAttributesDS.txt --tissue Pancreas -o vectors.txt, or read_counts('counts.gct.gz', "
            "attributes='SampleAttributesDS.txt', tissue='Pancreas')."
        )
    try:
        attrs = pd.read_csv(io.StringIO(text), sep="\t", dtype={SAMPLE_COLUMN: str, "SMTS": str, "SMTSD": str},
                            keep_default_na=True, low_memory=False)
    except pd.errors.ParserError as exc:
        raise FileFormatError(
            f"{p}: not a tab-separated attributes table ({exc}). Fix the line named above."
        ) from None
    attrs.columns = [str(c).strip() for c in attrs.columns]
    if SAMPLE_COLUMN not in attrs.columns:
        raise FileFormatError(
            f"{p}: no {SAMPLE_COLUMN} column in the header (line 1); found {_preview(attrs.columns)}. "
            f"The attributes file must be tab-separated with the sample IDs in a column named {SAMPLE_COLUMN}, "
            "like GTEx's SampleAttributesDS.txt."
        )
    if not any(c in attrs.columns for c in TISSUE_COLUMNS):
        raise FileFormatError(
            f"{p}: no tissue column in the header (line 1): expected SMTS (broad tissue) and/or SMTSD "
            f"(detailed tissue), found {_preview(attrs.columns)}. Rename the tissue column to SMTS or SMTSD."
        )
    ids = attrs[SAMPLE_COLUMN]
    if ids.isna().any():
        line = int(np.flatnonzero(ids.isna().to_numpy())[0]) + 2
        raise FileFormatError(
            f"{p}, line {line}: empty {SAMPLE_COLUMN}. Every sample needs an ID; fill it or remove the line."
        )
    ids = ids.str.strip()
    dup = ids[ids.duplicated()].unique()
    if dup.size:
        raise FileFormatError(
            f"{p}: {dup.size} {SAMPLE_COLUMN} value(s) occur more than once ({_preview(dup)}). "
            "Keep one line per sample."
        )
    attrs[SAMPLE_COLUMN] = ids
    for col in TISSUE_COLUMNS:
        if col in attrs.columns:
            attrs[col] = attrs[col].str.strip()
    attrs = attrs.set_index(SAMPLE_COLUMN)
    log.info("read %s: %d samples, %d attribute columns", p, attrs.shape[0], attrs.shape[1])
    return attrs


def _preview(items: Sequence, n: int = 8) -> str:
    items = list(items)
    shown = ", ".join(repr(str(x)) for x in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def _as_attributes(attrs: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    """A path is read; a DataFrame is accepted indexed by SAMPID or with a SAMPID column."""
    if not isinstance(attrs, pd.DataFrame):
        if isinstance(attrs, (str, os.PathLike)):
            return read_attributes(attrs)
        raise TypeError(
            f"attrs must be a DataFrame from read_attributes(path) or a path, got {type(attrs).__name__}."
        )
    if SAMPLE_COLUMN in attrs.columns:
        attrs = attrs.set_index(SAMPLE_COLUMN)
    if not any(c in attrs.columns for c in TISSUE_COLUMNS):
        raise ValueError(
            f"the attributes DataFrame has no tissue column: expected SMTS and/or SMTSD, found "
            f"{_preview(attrs.columns)}. Read the file with read_attributes(path)."
        )
    return attrs


def tissues(attrs: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    """Tissue names with their sample counts, at both levels (SMTS and SMTSD).

    Parameters
    ----------
    attrs : DataFrame or path
        From :func:`read_attributes` (or its path).

    Returns
    -------
    DataFrame
        Columns ``level`` (``"SMTS"`` or ``"SMTSD"``), ``tissue`` and ``n_samples``; sorted by level,
        then by decreasing count, then by name.

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.io import tissues
    >>> attrs = pd.DataFrame({"SMTS": ["Skin", "Skin", "Bladder"],
    ...                       "SMTSD": ["Skin - Not Sun Exposed (Suprapubic)", "Cells - Transformed fibroblasts",
    ...                                 "Bladder"]}, index=["S1", "S2", "S3"])
    >>> tissues(attrs)[["level", "tissue", "n_samples"]].values.tolist()[:2]
    [['SMTS', 'Skin', 2], ['SMTS', 'Bladder', 1]]
    """
    attrs = _as_attributes(attrs)
    rows = []
    for level in TISSUE_COLUMNS:
        if level not in attrs.columns:
            continue
        counts = attrs[level].dropna().value_counts()
        for name, n in counts.items():
            rows.append((level, str(name), int(n)))
    out = pd.DataFrame(rows, columns=["level", "tissue", "n_samples"])
    order = {lvl: i for i, lvl in enumerate(TISSUE_COLUMNS)}
    out = out.assign(_lvl=out["level"].map(order), _neg=-out["n_samples"])
    out = out.sort_values(["_lvl", "_neg", "tissue"], kind="mergesort").drop(columns=["_lvl", "_neg"])
    return out.reset_index(drop=True)


def _available_message(attrs: pd.DataFrame) -> str:
    table = tissues(attrs)
    parts = []
    for level, group in table.groupby("level", sort=False):
        listed = ", ".join(f"{t} ({n})" for t, n in zip(group["tissue"], group["n_samples"]))
        parts.append(f"{level}: {listed}")
    return "; ".join(parts)


def tissue_samples(attrs: pd.DataFrame | str | os.PathLike, tissue: str) -> list[str]:
    """IDs of the samples of ``tissue`` (matched against SMTS or SMTSD, case-insensitively).

    Parameters
    ----------
    attrs : DataFrame or path
        From :func:`read_attributes`.
    tissue : str
        A broad (SMTS, ``"Skin"``) or detailed (SMTSD) tissue name, any case.

    Returns
    -------
    list of str
        Sample IDs in the order of ``attrs``.

    Raises
    ------
    ValueError
        Unknown tissue; the message lists the tissues with sample counts and suggests close names.

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.io.samples import tissue_samples
    >>> attrs = pd.DataFrame({"SMTS": ["Skin", "Bladder"], "SMTSD": ["Skin", "Bladder"]}, index=["S1", "S2"])
    >>> tissue_samples(attrs, "skin")
    ['S1']
    """
    attrs = _as_attributes(attrs)
    if not isinstance(tissue, str) or not tissue.strip():
        raise ValueError(f"tissue must be a non-empty str such as 'Pancreas', got {tissue!r}. "
                         "List the tissues with genevec.tissues(attrs).")
    want = tissue.strip().casefold()
    mask = np.zeros(attrs.shape[0], dtype=bool)
    names: dict[str, str] = {}
    for level in TISSUE_COLUMNS:
        if level not in attrs.columns:
            continue
        col = attrs[level].astype("string").str.strip()
        mask |= (col.str.casefold() == want).fillna(False).to_numpy(dtype=bool)
        for name in col.dropna().unique():
            names.setdefault(str(name).casefold(), str(name))
    if not mask.any():
        near = difflib.get_close_matches(want, list(names), n=3, cutoff=0.6)
        if not near:  # a word of a detailed name, e.g. 'fibroblasts'
            near = [k for k in names if want in k][:3]
        hint = (" Did you mean " + " or ".join(repr(names[k]) for k in near) + "?") if near else ""
        raise ValueError(
            f"No samples with SMTS or SMTSD equal to {tissue!r} (matched case-insensitively).{hint} "
            f"Available tissues with sample counts: {_available_message(attrs)}. "
            "List them with genevec.tissues(attrs)."
        )
    return [str(s) for s in attrs.index[mask]]


def tissue_groups(attrs: pd.DataFrame | str | os.PathLike, level: str = "SMTS",
                  tissues: str | Sequence[str] = "all") -> dict[str, list[str]]:
    """The sample IDs of every tissue at one level (SMTS or SMTSD), for reading all tissues in one pass.

    Parameters
    ----------
    attrs : DataFrame or path
        From :func:`read_attributes`.
    level : {"SMTS", "SMTSD"}, default="SMTS"
        The attributes column that names the tissues: broad (``"Skin"``) or detailed
        (``"Skin - Sun Exposed (Lower leg)"``).
    tissues : "all" or sequence of str, default="all"
        Every tissue of the column, or these (matched case-insensitively, returned as the column
        spells them).

    Returns
    -------
    dict of str to list of str
        Tissue -> its sample IDs in the order of ``attrs``; for ``"all"``, tissues by decreasing
        number of samples, then by name; otherwise in the order asked for. Samples without a tissue
        at ``level`` belong to none.

    Raises
    ------
    ValueError
        ``level`` is not SMTS or SMTSD, the attributes lack that column, or a tissue matches nothing
        at ``level`` (the message lists the tissues with their sample counts and close names).

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.io.samples import tissue_groups
    >>> attrs = pd.DataFrame({"SMTS": ["Skin", "Bladder", "Skin"]}, index=["S1", "S2", "S3"])
    >>> tissue_groups(attrs)
    {'Skin': ['S1', 'S3'], 'Bladder': ['S2']}
    >>> tissue_groups(attrs, tissues=["bladder"])
    {'Bladder': ['S2']}
    """
    attrs = _as_attributes(attrs)
    if level not in TISSUE_COLUMNS:
        raise ValueError(f"level must be 'SMTS' (broad tissues, e.g. 'Skin') or 'SMTSD' (detailed tissues, e.g. "
                         f"'Skin - Sun Exposed (Lower leg)'), got {level!r}.")
    if level not in attrs.columns:
        other = next(c for c in TISSUE_COLUMNS if c in attrs.columns)
        raise ValueError(
            f"The attributes have no {level} column, so tissues cannot be told apart at level {level!r} (columns: "
            f"{_preview(attrs.columns)}). Use level={other!r} (on the command line: --level {other})."
        )
    col = attrs[level].astype("string").str.strip()
    col = col[col.notna() & (col != "")]
    counts = col.value_counts()
    order = sorted(counts.index, key=lambda t: (-int(counts[t]), str(t)))
    if isinstance(tissues, str) and tissues.strip().casefold() == "all":
        chosen = order
    else:
        names = [tissues] if isinstance(tissues, str) else list(tissues)
        if not names:
            raise ValueError("tissues is an empty list; pass 'all' or at least one tissue name.")
        by_key = {str(t).casefold(): str(t) for t in order}
        chosen, unknown = [], []
        for name in names:
            key = str(name).strip().casefold()
            if key in by_key:
                chosen.append(by_key[key])
            else:
                unknown.append(str(name))
        if unknown:
            near = difflib.get_close_matches(unknown[0].casefold(), list(by_key), n=3, cutoff=0.6)
            near = near or [k for k in by_key if unknown[0].casefold() in k][:3]
            hint = (" Did you mean " + " or ".join(repr(by_key[k]) for k in near) + "?") if near else ""
            other = [c for c in TISSUE_COLUMNS if c != level and c in attrs.columns]
            if other and (attrs[other[0]].astype("string").str.strip().str.casefold()
                          == unknown[0].strip().casefold()).any():
                hint += f" {unknown[0]!r} is a {other[0]} name: pass level={other[0]!r}."
            listed = ", ".join(f"{t} ({int(counts[t])})" for t in order)
            raise ValueError(f"No {level} tissue is named {', '.join(map(repr, unknown))} (matched case-insensitively)."
                             f"{hint} {level} tissues with their sample counts: {listed}.")
        chosen = list(dict.fromkeys(chosen))
    return {str(t): [str(s) for s in col.index[col == t]] for t in chosen}


def detailed_tissues(attrs: pd.DataFrame | str | os.PathLike, samples: Sequence[str]) -> dict[str, int]:
    """How many of ``samples`` each detailed tissue (SMTSD, else SMTS) holds, largest first.

    What a broad tissue really is: GTEx's SMTS ``"Skin"`` includes the cultured ``"Cells - Transformed
    fibroblasts"``. Samples absent from ``attrs`` or without a tissue count as ``"(unknown)"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.io.samples import detailed_tissues
    >>> attrs = pd.DataFrame({"SMTS": ["Skin", "Skin", "Skin"],
    ...                       "SMTSD": ["Cells - Transformed fibroblasts", "Skin - Sun Exposed (Lower leg)",
    ...                                 "Cells - Transformed fibroblasts"]}, index=["S1", "S2", "S3"])
    >>> detailed_tissues(attrs, ["S1", "S2", "S3"])
    {'Cells - Transformed fibroblasts': 2, 'Skin - Sun Exposed (Lower leg)': 1}
    """
    attrs = _as_attributes(attrs)
    level = "SMTSD" if "SMTSD" in attrs.columns else "SMTS"
    names = attrs[level].reindex([str(s) for s in samples]).fillna("(unknown)").astype(str)
    counts = names.value_counts()
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {str(k): int(v) for k, v in order}


def match_samples(available: Sequence[str], wanted: Sequence[str], *, tissue: str, source: str) -> np.ndarray:
    """Positions in ``available`` of the ``wanted`` samples present, in the order of ``available``.

    Wanted samples absent from ``available`` are reported with a DataWarning (how many, a few IDs);
    when none is present a ValueError says so.
    """
    wanted_set = set(wanted)
    positions = np.array([i for i, s in enumerate(available) if s in wanted_set], dtype=np.intp)
    present = {available[i] for i in positions}
    missing = [s for s in wanted if s not in present]
    if positions.size == 0:
        raise ValueError(
            f"None of the {len(wanted):,} samples of tissue {tissue!r} is in {source} "
            f"({len(available):,} samples there, e.g. {_preview(available, 3)}; the tissue's are e.g. "
            f"{_preview(wanted, 3)}). Check that the attributes file belongs to this counts file "
            "(same GTEx release), or choose another tissue."
        )
    if missing:
        warnings.warn(
            f"{len(missing):,} of the {len(wanted):,} samples of tissue {tissue!r} are not in {source} "
            f"(e.g. {_preview(missing, _SHOW)}); using the {positions.size:,} that are. This is expected "
            "when the attributes list samples without RNA-seq (e.g. GTEx WGS/WES samples).",
            DataWarning,
            stacklevel=user_stacklevel(),
        )
    log.info("tissue %r: %d samples in %s (%d listed, %d absent)", tissue, positions.size, source,
             len(wanted), len(missing))
    return positions


def select_tissue(
    counts_df: pd.DataFrame, attrs: pd.DataFrame | str | os.PathLike, tissue: str
) -> pd.DataFrame:
    """Rows (samples) of ``counts_df`` that belong to ``tissue``.

    Parameters
    ----------
    counts_df : DataFrame, shape (n_samples, n_genes)
        Samples x genes counts indexed by sample ID (as :func:`read_counts` returns).
    attrs : DataFrame or path
        From :func:`read_attributes`.
    tissue : str
        Broad (SMTS: ``"Pancreas"``, ``"Skin"``) or detailed (SMTSD) name, case-insensitive.

    Returns
    -------
    DataFrame
        The tissue's rows, in the order of ``counts_df``.

    Raises
    ------
    ValueError
        Unknown tissue (available tissues and close matches listed), or none of its samples in
        ``counts_df``.

    Warns
    -----
    DataWarning
        Samples of the tissue that ``counts_df`` lacks (how many, a few IDs).

    Examples
    --------
    >>> import pandas as pd
    >>> from genevec.io import select_tissue
    >>> counts = pd.DataFrame({"TP53": [1, 2, 3]}, index=["S1", "S2", "S3"])
    >>> attrs = pd.DataFrame({"SMTS": ["Skin", "Bladder", "Skin"]}, index=["S1", "S2", "S3"])
    >>> select_tissue(counts, attrs, "SKIN").index.tolist()
    ['S1', 'S3']
    """
    if not isinstance(counts_df, pd.DataFrame):
        raise TypeError(
            f"counts_df must be a samples x genes DataFrame indexed by sample ID (from read_counts), "
            f"got {type(counts_df).__name__}."
        )
    wanted = tissue_samples(attrs, tissue)
    available = [str(s) for s in counts_df.index]
    positions = match_samples(available, wanted, tissue=tissue, source="the counts")
    return counts_df.iloc[positions]
