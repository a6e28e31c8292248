"""The shipped gene name table: content, provenance and its checksum."""

import hashlib
import lzma
import re
from importlib import resources

from genevec.names import NAMES_FILE, gene_name, gene_names, names_of


def test_known_names_and_misses():
    assert gene_name("EGFR") == "epidermal growth factor receptor"
    assert gene_name("SNORD3A") == "small nucleolar RNA, C/D box 3A"         # small structural RNAs too
    assert gene_name("MTND2P28") == "" and gene_name("LINC01128") == ""       # not shipped: pseudogenes, lncRNAs
    assert gene_name("egfr") == "" and gene_name("ENSG00000146648") == "" and gene_name(None) == ""
    assert names_of(["TP53", "nope", "KRAS"]) == ["tumor protein p53", "", "KRAS proto-oncogene, GTPase"]
    table = gene_names()
    assert 22_000 < len(table) < 24_000 and gene_names() is table
    assert not any(name.startswith("uncharacterized") for name in table.values())


def test_provenance_states_source_licence_and_the_checksum_of_the_shipped_file():
    folder = resources.files("genevec.datasets").joinpath("names")
    text = folder.joinpath("PROVENANCE.md").read_text()
    for needle in ("org.Hs.eg.db 3.16.0", "r-bioc-org.hs.eg.db", "Artistic-2.0", "public domain",
                   "tools/build_gene_names.py", f"{len(gene_names()):,} human genes"):
        assert needle in text, needle
    sha = re.search(r"sha256 of the uncompressed table \| ([0-9a-f]{64})", text).group(1)
    raw = lzma.decompress(folder.joinpath(NAMES_FILE).read_bytes())
    assert hashlib.sha256(raw).hexdigest() == sha
    lines = raw.decode().splitlines()
    assert lines[0] == "symbol\tname" and lines[1:] == sorted(lines[1:])
