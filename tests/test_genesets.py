"""Gene-set collections: shipped files, GMT parsing, dicts, and the errors for bad input."""

import gzip
import lzma

import numpy as np
import pytest

from genevec.exceptions import FileFormatError
from genevec.genesets import SHIPPED, GeneSets, load_gene_sets, membership, read_gmt


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_collections_load_with_symbols(name):
    sets = load_gene_sets(name)
    assert sets.name == name
    assert len(sets) > 1000
    genes = sets.genes()
    assert {"TP53", "EGFR"} <= genes
    assert load_gene_sets(name) is sets  # parsed once per process


def test_go_terms_have_readable_names():
    go = load_gene_sets("go_bp")
    assert go.describe("GO:0000002") == "mitochondrial genome maintenance"
    assert "TP53" in go["GO:0000002"]
    reactome = load_gene_sets("reactome")
    name = next(iter(reactome))
    assert reactome.describe(name) == name  # the description is the R-HSA identifier


def test_read_gmt_plain_and_gzip(tmp_path):
    text = "A\tfirst set\tEGFR\tERBB2\t\n\nB\thttp://x\tTP53\tEGFR\nA\tsecond line\tKRAS\n"
    plain = tmp_path / "mine.gmt"
    plain.write_text(text)
    packed = tmp_path / "mine.gmt.gz"
    with gzip.open(packed, "wt") as fh:
        fh.write(text)
    xz = tmp_path / "mine.gmt.xz"
    with lzma.open(xz, "wt") as fh:
        fh.write(text)
    for path in (plain, packed, xz):
        sets = read_gmt(path)
        assert sets.name == "mine"
        assert dict(sets) == {"A": frozenset({"EGFR", "ERBB2", "KRAS"}), "B": frozenset({"TP53", "EGFR"})}
        assert sets.describe("A") == "second line" and sets.describe("B") == "B"
    assert load_gene_sets(str(plain)).name == "mine"


def test_read_gmt_errors(tmp_path):
    bad = tmp_path / "bad.gmt"
    bad.write_text("A\tok\tEGFR\nno tabs here\n")
    with pytest.raises(FileFormatError, match=r"bad\.gmt, line 2: a GMT line needs a set name"):
        read_gmt(bad)
    empty = tmp_path / "empty.gmt"
    empty.write_text("\n# comment\n")
    with pytest.raises(FileFormatError, match="holds no gene set"):
        read_gmt(empty)
    with pytest.raises(FileNotFoundError, match="gene-set"):
        read_gmt(tmp_path / "missing.gmt")
    binary = tmp_path / "bin.gmt"
    binary.write_bytes(b"\xff\xfe\x00A\tB\n")
    with pytest.raises(FileFormatError, match="not UTF-8"):
        read_gmt(binary)


def test_load_gene_sets_dict_and_errors():
    sets = load_gene_sets({"s": ["A", "B"], 3: ("C",)})
    assert isinstance(sets, GeneSets) and sets.name == "custom"
    assert sets["3"] == frozenset({"C"})
    assert load_gene_sets(sets) is sets
    with pytest.raises(ValueError, match=r"Unknown gene-set collection 'go-bp'.*'go_bp'"):
        load_gene_sets("go-bp")
    with pytest.raises(TypeError, match="each set must be a list of gene symbols; set 's'"):
        load_gene_sets({"s": "EGFR"})
    with pytest.raises(ValueError, match="empty"):
        load_gene_sets({})
    with pytest.raises(TypeError, match="gene_sets must be"):
        load_gene_sets(42)


@pytest.mark.parametrize("min_size, max_size", [(1, None), (2, 3), (5, 500)])
def test_membership_against_a_loop_over_genes_and_sets(min_size, max_size):
    rng = np.random.default_rng(0)
    genes = [f"G{i}" for i in range(40)]
    sets = {f"s{j}": list(rng.choice([f"G{i}" for i in range(60)], size=int(rng.integers(0, 12))))
            for j in range(30)}                          # members beyond the universe, repeats, empty sets
    M, kept = membership(genes, sets, min_size=min_size, max_size=max_size)
    expected = [name for name, members in sets.items()
                if min_size <= len(set(members) & set(genes)) <= (max_size or len(genes))]
    assert kept == expected and M.dtype == np.float64 and M.shape == (len(genes), len(kept))
    dense = M.toarray()
    for c, name in enumerate(kept):
        for r, gene in enumerate(genes):
            assert dense[r, c] == (gene in sets[name])
    assert membership(genes, sets, dtype=np.int32)[0].dtype == np.int32
