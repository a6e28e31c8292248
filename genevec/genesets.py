"""Gene-set collections: the ones shipped with genevec, GMT files, and plain dicts.

A gene-set collection maps a set's name to the genes (HGNC symbols) in it. genevec ships the
collections whose licences allow it (see ``genevec/datasets/genesets/PROVENANCE.md``):

``"go_bp"``
    Gene Ontology biological processes with 10-500 genes, annotations propagated up the ontology
    (all evidence codes), built from Bioconductor's org.Hs.eg.db 3.16 (GO of 2022-09-12) and
    GO.db 3.16 for the names. GO data: CC BY 4.0.
``"reactome"``
    Reactome pathways (the reactome.org GMT export). Reactome annotation files: CC0.

MSigDB's Hallmark and KEGG are not shipped (their licences do not allow it): pass their GMT files.

Examples
--------
>>> from genevec.genesets import load_gene_sets
>>> go = load_gene_sets("go_bp")
>>> go.name, len(go) > 6000, "TP53" in go["GO:0000002"]
('go_bp', True, True)
>>> load_gene_sets({"my set": ["EGFR", "ERBB2"]}).name
'custom'
"""

from __future__ import annotations

import gzip
import lzma
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["GeneSets", "load_gene_sets", "read_gmt", "SHIPPED", "collection_title", "membership"]

#: Shipped collections: name -> (file in genevec/datasets/genesets, one-line description).
SHIPPED = {
    "go_bp": ("go_bp.gmt.xz", "GO biological processes, 10-500 genes, propagated (org.Hs.eg.db 3.16; CC BY 4.0)"),
    "reactome": ("reactome.gmt.xz", "Reactome pathways (reactome.org GMT export; CC0)"),
}

#: How reports name a collection: (title, one of its sets).
TITLES = {"go_bp": ("GO biological processes", "a GO biological process"),
          "reactome": ("Reactome pathways", "a Reactome pathway")}


def collection_title(name: str, *, member: bool = False) -> str:
    """A collection's name in a sentence: ``"GO biological processes"`` (``member=True``: ``"a GO biological process"``).

    Examples
    --------
    >>> from genevec.genesets import collection_title
    >>> collection_title("go_bp"), collection_title("h.all", member=True)
    ('GO biological processes', 'a set')
    """
    return TITLES.get(name, (f"{name} sets", "a set"))[1 if member else 0]


GeneSetSource = Union[str, os.PathLike, Mapping[str, Iterable[str]], "GeneSets"]


@dataclass(frozen=True)
class GeneSets(Mapping):
    """A named collection of gene sets: a read-only mapping of set name to a frozenset of genes.

    Attributes
    ----------
    name : str
        The collection's label in reports (``"go_bp"``, a GMT file's stem, or ``"custom"``).
    sets : dict of str to frozenset of str
    descriptions : dict of str to str
        The second GMT field of each set (a term name or URL), when read from a GMT file.
    """

    name: str
    sets: dict
    descriptions: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.sets[key]

    def __iter__(self):
        return iter(self.sets)

    def __len__(self):
        return len(self.sets)

    def __repr__(self):
        return f"GeneSets({self.name!r}, {len(self):,} sets, {len(self.genes()):,} genes)"

    def genes(self) -> set:
        """Every gene of every set."""
        out: set = set()
        for members in self.sets.values():
            out |= members
        return out

    def describe(self, set_name: str) -> str:
        """A readable label: GO's term name, else the set's own name (Reactome, MSigDB).

        The GMT description is used when it reads as words (it has a lower-case letter: GO's
        "axonogenesis" does); an identifier (``R-HSA-164843``) or a URL (MSigDB) is not, and the set's
        name is returned.
        """
        text = self.descriptions.get(set_name, "").strip()
        return text if any(c.islower() for c in text) and not text.startswith("http") else set_name


def read_gmt(path: str | os.PathLike, *, name: str | None = None) -> GeneSets:
    """Read a GMT file (plain, ``.gz`` or ``.xz``): one set per line, ``name <TAB> description <TAB> gene ...``.

    Parameters
    ----------
    path : str or PathLike
    name : str, optional
        Label of the collection; default the file name without ``.gmt``/``.gz``.

    Returns
    -------
    GeneSets

    Raises
    ------
    FileNotFoundError
        No such file (similar names in its folder are suggested).
    FileFormatError
        A line without a tab-separated name and description, or a file with no set at all.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "two.gmt")
    >>> _ = open(path, "w").write("A\\tfirst\\tEGFR\\tERBB2\\nB\\tsecond\\tTP53\\n")
    >>> read_gmt(path)
    GeneSets('two', 2 sets, 3 genes)
    """
    from .exceptions import FileFormatError
    from .io.tables import check_file

    p = check_file(path, "gene-set (GMT) file")
    if name is None:
        name = p.name
        for suffix in (".gz", ".xz", ".gmt", ".txt"):
            name = name.removesuffix(suffix)
    opener = gzip.open if p.name.endswith(".gz") else lzma.open if p.name.endswith(".xz") else open
    sets: dict[str, frozenset] = {}
    descriptions: dict[str, str] = {}
    try:
        with opener(p, "rt", encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, 1):
                line = line.rstrip("\r\n")
                if not line.strip() or line.startswith("#"):
                    continue
                fields = line.split("\t")
                if len(fields) < 2 or not fields[0].strip():
                    raise FileFormatError(
                        f"{p}, line {line_no}: a GMT line needs a set name, a description and genes, separated "
                        f"by tabs; got {line[:60]!r}. Is this a GMT file (MSigDB, Enrichr and Reactome export them)?"
                    )
                set_name = fields[0].strip()
                genes = frozenset(g.strip() for g in fields[2:] if g.strip())
                if set_name in sets:
                    genes = genes | sets[set_name]
                sets[set_name] = genes
                descriptions[set_name] = fields[1].strip()
    except UnicodeDecodeError:
        raise FileFormatError(f"{p}: is not UTF-8 text; a GMT file is tab-separated text.") from None
    except (OSError, EOFError, lzma.LZMAError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise FileFormatError(f"{p}: cannot be read ({exc}); is the compressed file complete?") from None
    if not sets:
        raise FileFormatError(f"{p}: holds no gene set; a GMT file has one line per set.")
    return GeneSets(name, sets, descriptions)


def _shipped(name: str) -> GeneSets:
    file_name = SHIPPED[name][0]
    with resources.as_file(resources.files("genevec.datasets").joinpath("genesets", file_name)) as path:
        return read_gmt(path, name=name)


_CACHE: dict[str, GeneSets] = {}


def load_gene_sets(source: GeneSetSource) -> GeneSets:
    """Load a gene-set collection: a shipped name, a GMT path, a dict, or a GeneSets (returned as is).

    Parameters
    ----------
    source : str, PathLike, dict or GeneSets
        ``"go_bp"`` or ``"reactome"`` (shipped, see :data:`SHIPPED`), the path of a GMT file, or
        a dict of set name to genes (labelled ``"custom"``).

    Returns
    -------
    GeneSets

    Raises
    ------
    ValueError
        A string that is neither a shipped name nor an existing file (the shipped names are listed).
    TypeError
        Anything else.
    """
    if isinstance(source, GeneSets):
        return source
    if isinstance(source, Mapping):
        sets = {}
        for key, genes in source.items():
            if isinstance(genes, str) or not isinstance(genes, Iterable):
                raise TypeError(
                    f"load_gene_sets: each set must be a list of gene symbols; set {key!r} is {genes!r}. "
                    'Pass e.g. {"my set": ["EGFR", "ERBB2"]}.'
                )
            sets[str(key)] = frozenset(str(g) for g in genes)
        if not sets:
            raise ValueError("load_gene_sets: the dict of gene sets is empty; pass at least one set.")
        return GeneSets("custom", sets)
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text in SHIPPED:
            if text not in _CACHE:
                _CACHE[text] = _shipped(text)
            return _CACHE[text]
        if os.path.exists(text) or os.sep in text or text.endswith((".gmt", ".gz", ".xz", ".txt")):
            return read_gmt(Path(text))
        shipped = ", ".join(f"{k!r}" for k in SHIPPED)
        raise ValueError(
            f"Unknown gene-set collection {text!r}: it is neither a shipped collection ({shipped}) nor an "
            "existing GMT file. Pass one of those names, or the path of a .gmt file."
        )
    raise TypeError(
        f"gene_sets must be a shipped collection name, a GMT path, a dict of set name to genes, or a list of "
        f"these; got {type(source).__name__}."
    )


def membership(genes: Sequence[str], gene_sets: Mapping[str, Iterable[str]], *, min_size: int = 1,
               max_size: int | None = None, dtype=np.float64) -> tuple[sp.csr_matrix, list[str]]:
    """The genes x sets 0/1 matrix of the sets that hold ``min_size`` to ``max_size`` of ``genes``.

    The one layout of a collection over a gene universe, used by :func:`genevec.evaluate` (sets of
    5-500 of the model's genes) and by the enrichment tests (every set that holds one of them).

    Parameters
    ----------
    genes : sequence of str
        The universe, in row order.
    gene_sets : mapping of set name to genes
    min_size, max_size : int
        Keep the sets with ``min_size <= |set & genes| <= max_size`` (``max_size=None``: no bound).
    dtype : numpy dtype, default=float64

    Returns
    -------
    M : csr_matrix of ``dtype``, shape (len(genes), n_kept_sets)
    kept : list of str
        Names of the kept sets, in column order.

    Examples
    --------
    >>> from genevec.genesets import membership
    >>> M, kept = membership(["A", "B", "C"], {"s1": ["A", "C", "Z"], "s2": ["Z"], "s3": ["B"]})
    >>> kept, M.toarray().tolist()
    (['s1', 's3'], [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    """
    import scipy.sparse as sp

    index = {g: i for i, g in enumerate(genes)}
    rows: list[int] = []
    cols: list[int] = []
    kept: list[str] = []
    for name, members in gene_sets.items():
        hit = sorted({index[g] for g in members if g in index})
        if min_size <= len(hit) and (max_size is None or len(hit) <= max_size):
            rows.extend(hit)
            cols.extend([len(kept)] * len(hit))
            kept.append(name)
    M = sp.csr_matrix((np.ones(len(rows), dtype=dtype), (rows, cols)), shape=(len(genes), len(kept)))
    return M, kept
