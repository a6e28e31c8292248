"""Full names of human genes, from the NCBI Gene table shipped with genevec.

``EGFR`` is "epidermal growth factor receptor": the app's tables and ``genevec similar`` show the name
beside each neighbour so that a reader can judge a list of symbols. The table (22,955 protein-coding
genes and small structural RNAs; symbol -> name; pseudogenes and long non-coding RNAs are left out
to keep the package small) comes from
Bioconductor's org.Hs.eg.db 3.16 (NCBI Gene of 2022-09-12); its source, licence and the script that
builds it are in ``genevec/datasets/names/PROVENANCE.md``. Symbols are matched exactly (NCBI's
official symbols, case-sensitive); an Ensembl ID, an alias or an old symbol has no name here.

Examples
--------
>>> from genevec.names import gene_name, gene_names
>>> gene_name("EGFR"), gene_name("not-a-gene")
('epidermal growth factor receptor', '')
>>> len(gene_names()) > 20_000
True
"""

from __future__ import annotations

import logging
import lzma
import threading
from collections.abc import Iterable
from importlib import resources

log = logging.getLogger(__name__)

__all__ = ["gene_names", "gene_name", "names_of", "NAMES_FILE"]

#: The shipped table, in ``genevec/datasets/names``.
NAMES_FILE = "gene_names.tsv.xz"

_lock = threading.Lock()
_table: dict[str, str] | None = None


def gene_names() -> dict[str, str]:
    """The shipped symbol -> full name table (read once per process, ~0.05 s; about 3 MB in memory).

    Returns
    -------
    dict of str to str
        NCBI Gene symbol -> full name. The same dict is returned on every call: do not modify it.

    Examples
    --------
    >>> from genevec.names import gene_names
    >>> gene_names()["TP53"]
    'tumor protein p53'
    """
    global _table
    with _lock:
        if _table is None:
            ref = resources.files("genevec.datasets").joinpath("names", NAMES_FILE)
            with ref.open("rb") as raw, lzma.open(raw, "rt", encoding="utf-8") as fh:
                header = fh.readline().rstrip("\n").split("\t")
                if header != ["symbol", "name"]:  # pragma: no cover - a broken install
                    raise RuntimeError(f"genevec's {NAMES_FILE} has the header {header}; reinstall genevec.")
                _table = dict(line.rstrip("\n").split("\t", 1) for line in fh)
            log.debug("read %d gene names", len(_table))
        return _table


def gene_name(symbol: str) -> str:
    """The full name of a gene symbol, or ``""`` when the table has none.

    Examples
    --------
    >>> from genevec.names import gene_name
    >>> gene_name("KRAS")
    'KRAS proto-oncogene, GTPase'
    """
    return gene_names().get(symbol, "") if isinstance(symbol, str) else ""


def names_of(genes: Iterable[str]) -> list[str]:
    """The full name of each gene (``""`` where unknown), in order.

    Examples
    --------
    >>> from genevec.names import names_of
    >>> names_of(["BRCA1", "ENSG00000237973"])
    ['BRCA1 DNA repair associated', '']
    """
    table = gene_names()
    return [table.get(g, "") if isinstance(g, str) else "" for g in genes]
