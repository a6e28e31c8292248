"""TSV/CSV count tables, AnnData, in-memory inputs and the suffix dispatch of read_counts."""

import gzip
import sys

import numpy as np
import pandas as pd
import pytest

import genevec
from genevec.exceptions import CountsError, FileFormatError
from genevec.io import read_table

ROWS_TSV = "gene\tS1\tS2\tS3\nTP53\t3\t4\t1\nEGFR\t0\t9\t2\n"
EXPECTED = pd.DataFrame([[3, 0], [4, 9], [1, 2]], index=pd.Index(["S1", "S2", "S3"], name="sample"),
                        columns=pd.Index(["TP53", "EGFR"], name="gene"))

#: A bad count, the error every reader raises for it and what the message says (the readers share
#: parse_counts, so test_io_gct uses these too).
BAD_COUNTS = [
    ("abc", FileFormatError, r"the count 'abc' is not a number"),
    ("x", FileFormatError, r"the count 'x' is not a number"),
    ("", FileFormatError, r"the count '' is missing"),
    ("NA", FileFormatError, r"the count 'NA' is missing"),
    ("-3", CountsError, r"the count -3 is negative"),
    ("-1", CountsError, r"the count -1 is negative"),
    ("nan", CountsError, r"the count is nan \(not finite\)"),
    ("NaN", CountsError, r"the count is nan \(not finite\)"),
    ("2.5", CountsError, r"the count 2\.5 is not a whole number.*allow_non_integer=True"),
    ("0.5", CountsError, r"the count 0\.5 is not a whole number"),
]


def write(tmp_path, name, text=None, raw=None, gz=False):
    data = raw if raw is not None else text.encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def columns_text(sep="\t"):
    return sep.join(["sample", "TP53", "EGFR"]) + "\n" + "".join(
        sep.join([s, str(a), str(b)]) + "\n" for s, a, b in (("S1", 3, 0), ("S2", 4, 9), ("S3", 1, 2)))


@pytest.mark.parametrize("name, text, genes_as, gz", [
    ("c.tsv", ROWS_TSV, "rows", False),
    ("c.txt", ROWS_TSV, "rows", False),
    ("c.csv", ROWS_TSV.replace("\t", ","), "rows", False),
    ("c.tsv.gz", ROWS_TSV, "rows", True),
    ("c.tsv", columns_text(), "columns", False),
    ("c.csv.gz", columns_text(","), "columns", True),
])
def test_both_orientations_and_suffixes(tmp_path, name, text, genes_as, gz):
    df = genevec.read_counts(write(tmp_path, name, text, gz=gz), genes_as=genes_as)
    pd.testing.assert_frame_equal(df, EXPECTED)


def test_orientation_must_be_stated(tmp_path):
    path = write(tmp_path, "c.tsv", ROWS_TSV)
    with pytest.raises(ValueError, match=r"c\.tsv: a count table's orientation must be stated\. Pass "
                                         r"genes_as='columns' if each line is a sample .* genes_as='rows'"):
        genevec.read_counts(path)
    with pytest.raises(ValueError, match=r"orientation must be stated \(got genes_as='genes'\)"):
        genevec.read_counts(path, genes_as="genes")


def test_windows_line_endings_and_bom(tmp_path):
    raw = b"\xef\xbb\xbf" + ROWS_TSV.replace("\n", "\r\n").encode()
    pd.testing.assert_frame_equal(genevec.read_counts(write(tmp_path, "w.tsv", raw=raw), genes_as="rows"), EXPECTED)
    pd.testing.assert_frame_equal(genevec.read_counts(write(tmp_path, "w.tsv.gz", raw=raw, gz=True),
                                                      genes_as="rows"), EXPECTED)


def test_wrong_number_of_fields(tmp_path):
    path = write(tmp_path, "c.tsv", ROWS_TSV + "KRAS\t1\t2\n")
    with pytest.raises(FileFormatError, match=r"c\.tsv, line 4 \(gene 'KRAS'\): expected 4 fields like the header "
                                              r"\(line 1\), found 3\."):
        genevec.read_counts(path, genes_as="rows")
    r_style = "S1\tS2\tS3\nTP53\t3\t4\t1\n"
    with pytest.raises(FileFormatError, match=r"line 2 \(gene 'TP53'\): expected 3 fields .* found 4\..*R "
                                              r"write\.table style"):
        genevec.read_counts(write(tmp_path, "r.tsv", r_style), genes_as="rows")


@pytest.mark.parametrize("value, exc, what", BAD_COUNTS)
def test_bad_values_located(tmp_path, value, exc, what):
    rows = ROWS_TSV.replace("EGFR\t0\t9", f"EGFR\t0\t{value}")
    with pytest.raises(exc, match=rf"c\.tsv, line 3: sample 'S2', gene 'EGFR': {what}"):
        genevec.read_counts(write(tmp_path, "c.tsv", rows), genes_as="rows")
    cols = columns_text().replace("S2\t4\t9", f"S2\t4\t{value}")
    with pytest.raises(exc, match=rf"c2\.tsv, line 3: sample 'S2', gene 'EGFR': {what}"):
        genevec.read_counts(write(tmp_path, "c2.tsv", cols), genes_as="columns")


def test_empty_and_header_only(tmp_path):
    with pytest.raises(FileFormatError, match=r"e\.tsv: the file is empty"):
        genevec.read_counts(write(tmp_path, "e.tsv", ""), genes_as="rows")
    with pytest.raises(FileFormatError, match=r"h\.tsv: the header \(line 1\) is followed by no data line"):
        genevec.read_counts(write(tmp_path, "h.tsv", "gene\tS1\n"), genes_as="rows")
    with pytest.raises(FileFormatError, match=r"line 1: the header has a single field.*Check the delimiter"):
        genevec.read_counts(write(tmp_path, "semi.csv", "gene;S1\nA;1\n"), genes_as="rows")


def test_duplicated_samples_and_genes(tmp_path):
    with pytest.raises(FileFormatError, match=r"1 sample ID\(s\) occur more than once \('S1'\)"):
        genevec.read_counts(write(tmp_path, "d.tsv", "gene\tS1\tS1\nA\t1\t2\n"), genes_as="rows")
    df = genevec.read_counts(write(tmp_path, "g.tsv", "gene\tS1\nA.1\t1\nA.2\t2\nB\t3\n"), genes_as="rows",
                             gene_names="ensembl")
    assert df.columns.tolist() == ["A", "B"] and df.loc["S1"].tolist() == [3, 3]


def test_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"cannot tell the format of .*c\.xlsx.*Supported: \.gct and \.gct\.gz"):
        genevec.read_counts(write(tmp_path, "c.xlsx", "x"))


# --- in-memory inputs ------------------------------------------------------------------------

def test_dataframe_is_validated_and_returned_as_int64():
    df = pd.DataFrame({"TP53": [3.0, 4.0], "EGFR": [0.0, 9.0]}, index=["S1", "S2"])
    out = genevec.read_counts(df)
    assert (out.dtypes == np.int64).all() and out.loc["S2", "EGFR"] == 9
    with pytest.raises(CountsError, match=r"negative value.*sample S2, gene EGFR"):
        genevec.read_counts(df.assign(EGFR=[0.0, -9.0]))


def test_dataframe_with_repeated_gene_names():
    df = pd.DataFrame([[1, 2, 3]], index=["S1"], columns=["A", "B", "A"])
    assert genevec.read_counts(df).loc["S1"].tolist() == [4, 2]
    with pytest.raises(CountsError, match=r"occur more than once: 'A'"):
        genevec.read_counts(df, duplicates="error")


def test_dataframe_with_tissue():
    df = pd.DataFrame({"TP53": [1, 2, 3]}, index=["S1", "S2", "S3"])
    attrs = pd.DataFrame({"SAMPID": ["S1", "S2", "S3"], "SMTS": ["Skin", "Bladder", "Skin"]})
    assert genevec.read_counts(df, attributes=attrs, tissue="skin").index.tolist() == ["S1", "S3"]


def test_other_types_rejected():
    with pytest.raises(TypeError, match=r"read_counts expects a file path.*got ndarray.*pandas\.DataFrame"):
        genevec.read_counts(np.zeros((2, 2)))


def test_anndata_in_memory_and_h5ad(tmp_path):
    anndata = pytest.importorskip("anndata")  # a test extra: installed in CI, so this never skips there
    import scipy.sparse as sp

    X = np.array([[3.0, 0.0], [4.0, 9.0], [1.0, 2.0]])
    a = anndata.AnnData(np.log1p(X), layers={"counts": sp.csr_matrix(X)})
    a.obs_names, a.var_names = ["S1", "S2", "S3"], ["TP53", "EGFR"]
    pd.testing.assert_frame_equal(genevec.read_counts(a, layer="counts"), EXPECTED)
    with pytest.raises(CountsError, match=r"non-integer value"):
        genevec.read_counts(a)
    path = tmp_path / "c.h5ad"
    a.write_h5ad(path)
    pd.testing.assert_frame_equal(genevec.read_counts(path, layer="counts"), EXPECTED)
    with pytest.raises(ValueError, match=r"c\.h5ad: no layer 'raw'; the layers are 'counts'\. Pass one of them"):
        genevec.read_counts(path, layer="raw")


def test_h5ad_without_anndata_says_how_to_install(tmp_path, monkeypatch):
    path = write(tmp_path, "c.h5ad", "not really")
    monkeypatch.setitem(sys.modules, "anndata", None)
    with pytest.raises(ImportError, match=r'needs the optional package anndata.*pip install "genevec\[anndata\]"'):
        genevec.read_counts(path)


def test_corrupt_h5ad(tmp_path):
    pytest.importorskip("anndata")
    with pytest.raises(FileFormatError, match=r"c\.h5ad: cannot be read as \.h5ad"):
        genevec.read_counts(write(tmp_path, "c.h5ad", "not an hdf5 file"))


def test_read_table_direct_call(tmp_path):
    assert read_table(write(tmp_path, "c.tsv", ROWS_TSV), genes_as="rows").shape == (3, 2)
