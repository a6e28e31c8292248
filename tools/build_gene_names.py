"""Build genevec's gene symbol -> full name table from Bioconductor's org.Hs.eg.db.

Reads the SQLite database inside Debian's ``r-bioc-org.hs.eg.db`` (``apt-get install -y
r-bioc-org.hs.eg.db``; no R is needed) and writes ``genevec/datasets/names/gene_names.tsv.xz``:
a header ``symbol<TAB>name``, then one line per named gene, sorted by symbol. Kept: every NCBI gene
that is protein-coding or a small structural RNA (snoRNA, snRNA, scRNA, rRNA, tRNA) whose name is
not a placeholder ("uncharacterized LOC..."). Left out to keep the installed package under 5 MB (the
table would be twice the size with them): pseudogenes, long non-coding RNAs, biological regions,
"other"/"unknown" loci and aliases. ``--types`` builds a larger table.

Usage::

    python tools/build_gene_names.py [--db PATH] [--out PATH]

It prints the number of genes, the sizes and the sha256 of the uncompressed table, for
``genevec/datasets/names/PROVENANCE.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import lzma
import sqlite3
import subprocess
from pathlib import Path

DB = "/usr/lib/R/site-library/org.Hs.eg.db/extdata/org.Hs.eg.sqlite"
OUT = Path(__file__).resolve().parents[1] / "genevec" / "datasets" / "names" / "gene_names.tsv.xz"
TYPES = ("protein-coding", "snoRNA", "snRNA", "scRNA", "rRNA", "tRNA")
# xz tuned for sorted text: 4 literal-context bits, no position bits (a few % smaller than -9e).
FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "lc": 4, "lp": 0, "pb": 0}]


def build(db: str, types: tuple[str, ...] = TYPES) -> tuple[bytes, dict]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    meta = dict(con.execute("SELECT name, value FROM metadata"))
    rows = con.execute(
        "SELECT i.symbol, i.gene_name FROM gene_info i JOIN genetype t ON i._id = t._id "
        f"WHERE t.gene_type IN ({','.join('?' * len(types))})", types).fetchall()
    con.close()
    table = sorted({(s.strip(), n.strip()) for s, n in rows
                    if s.strip() and n.strip() and not n.startswith("uncharacterized")})
    symbols = [s for s, _ in table]
    assert len(set(symbols)) == len(symbols), "a symbol names two genes"
    assert not any("\t" in s or "\n" in s or "\t" in n or "\n" in n for s, n in table)
    text = ("symbol\tname\n" + "".join(f"{s}\t{n}\n" for s, n in table)).encode("utf-8")
    return text, meta | {"n_genes": len(table)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DB, help="org.Hs.eg.sqlite (default: %(default)s)")
    parser.add_argument("--out", default=str(OUT), help="the .tsv.xz to write (default: %(default)s)")
    parser.add_argument("--types", nargs="+", default=list(TYPES),
                        help="NCBI gene types to keep (default: %(default)s; others: ncRNA pseudo other unknown)")
    args = parser.parse_args()
    text, meta = build(args.db, tuple(args.types))
    packed = lzma.compress(text, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, filters=FILTERS)
    Path(args.out).write_bytes(packed)
    try:
        version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "r-bioc-org.hs.eg.db"],
                                 capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        version = "unknown (not installed with dpkg)"
    print(f"{meta['n_genes']:,} genes; {len(text):,} bytes, {len(packed):,} compressed -> {args.out}")
    print(f"sha256 (uncompressed): {hashlib.sha256(text).hexdigest()}")
    print(f"r-bioc-org.hs.eg.db {version}; Entrez Gene of {meta.get('EGSOURCEDATE')}")


if __name__ == "__main__":
    main()
