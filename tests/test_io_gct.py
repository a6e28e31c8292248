"""GCT reader: the real GTEx files, streaming a tissue, gene labels, and every kind of bad input."""

import gzip
import logging
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import shared_file
from test_io_tables import BAD_COUNTS

import genevec
from genevec.exceptions import CountsError, DataWarning, FileFormatError
from genevec.io import read_gct, read_gct_header

ACMG = ("gtex_v8_acmg59", "GTEx_Analysis_2017-06-05_v8_RNASeQCv1.1.9_gene_reads.acmg_59.gct.gz")
SKIN = ("gtex_v6_skin_bladder", "gtex_v6_skin_bladder_gene_reads.gct.gz")
SKIN_ATTRS = ("gtex_v6_skin_bladder", "gtex_v6_skin_bladder_sample_attributes.txt")

TINY = (
    "#1.2\n3\t3\n"
    "Name\tDescription\tS1\tS2\tS3\n"
    "ENSG00000141510.11\tTP53\t3\t4\t1\n"
    "ENSG00000146648.11\tEGFR\t0\t9\t2\n"
    "ENSG00000283033.1\t\t5\t0\t0\n"
)


def write(tmp_path, text, name="tiny.gct", gz=False, raw=None):
    path = tmp_path / name
    data = raw if raw is not None else text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.fixture(scope="module")
def skin_full():
    return genevec.read_counts(shared_file(*SKIN))


# --- real data -------------------------------------------------------------------------------

def test_acmg59_reads_all_samples_and_warns_about_the_dims_line():
    path = shared_file(*ACMG)
    with pytest.warns(DataWarning, match=r"acmg_59\.gct\.gz: the dims line \(line 2\) declares 56,200 genes x "
                                         r"17,382 samples, but the file holds 59 genes x 17,382 samples"):
        df = genevec.read_counts(path)
    assert df.shape == (17382, 59)
    assert (df.dtypes == np.int64).all()
    assert df.index[0] == "GTEX-1117F-0226-SM-5GZZ7"
    assert df.columns[0] == "SDHB" and {"MUTYH", "PCSK9", "GLA"} <= set(df.columns)
    # first counts of SDHB, as in the file's fourth line
    assert df["SDHB"].iloc[:4].tolist() == [1993, 4989, 2153, 1872]


def test_acmg59_header_only_reads_three_lines():
    declared, samples = read_gct_header(shared_file(*ACMG))
    assert declared == (56200, 17382) and len(samples) == 17382


def test_skin_bladder_full_matches_raw_text(skin_full):
    assert skin_full.shape == (31, 36652)  # 36,653 rows, MIR1302-2 twice (summed)
    with gzip.open(shared_file(*SKIN), "rt") as fh:
        lines = fh.read().splitlines()
    header = lines[2].split("\t")
    rows = {}
    for line in lines[3:]:
        f = line.split("\t")
        rows.setdefault(f[1], []).append(np.array(f[2:], dtype=np.int64))
    assert list(skin_full.index) == header[2:]
    for gene in ("EGFR", "TP53", "DDX11L1", "MIR1302-2"):
        expected = np.sum(rows[gene], axis=0)
        np.testing.assert_array_equal(skin_full[gene].to_numpy(), expected)
    assert len(rows["MIR1302-2"]) == 2


@pytest.mark.parametrize("tissue, n", [("Bladder", 11), ("skin", 20), ("Skin - Sun Exposed (Lower leg)", 2),
                                       ("cells - TRANSFORMED fibroblasts", 13)])
def test_tissue_selection_streams_the_right_columns(skin_full, tissue, n):
    attrs_path = shared_file(*SKIN_ATTRS)
    df = genevec.read_counts(shared_file(*SKIN), attributes=attrs_path, tissue=tissue)
    assert df.shape == (n, 36652)
    attrs = genevec.read_attributes(attrs_path)
    want = attrs.index[(attrs["SMTS"].str.lower() == tissue.lower()) | (attrs["SMTSD"].str.lower() == tissue.lower())]
    assert set(df.index) == set(want)
    assert df.columns.equals(skin_full.columns) and (df.dtypes == np.int64).all()
    np.testing.assert_array_equal(df.to_numpy(), skin_full.loc[df.index].to_numpy())
    assert list(df.index) == [s for s in skin_full.index if s in set(want)]  # file order


def test_streaming_never_parses_unselected_columns(tmp_path):
    # S2 holds garbage: reading S1 and S3 only must not touch it, reading everything must fail.
    text = "#1.2\n2\t3\nName\tDescription\tS1\tS2\tS3\nE1.1\tA\t1\tjunk\t3\nE2.1\tB\t4\t-7.5\t6\n"
    path = write(tmp_path, text)
    df = read_gct(path, samples=["S1", "S3"])
    assert df.to_numpy().tolist() == [[1, 4], [3, 6]]
    with pytest.raises(FileFormatError, match=r"line 4: sample 'S2', gene 'A': the count 'junk' is not a number"):
        read_gct(path)


# --- gene labels and duplicates ----------------------------------------------------------------

def test_symbols_with_missing_symbol_keep_ensembl_id(tmp_path):
    df = genevec.read_counts(write(tmp_path, TINY))
    assert df.columns.tolist() == ["TP53", "EGFR", "ENSG00000283033.1"]
    assert df.loc["S2", "EGFR"] == 9


def test_ensembl_names_drop_the_version(tmp_path):
    df = genevec.read_counts(write(tmp_path, TINY), gene_names="ensembl")
    assert df.columns.tolist() == ["ENSG00000141510", "ENSG00000146648", "ENSG00000283033"]


def test_bad_gene_names_mode(tmp_path):
    with pytest.raises(ValueError, match=r"gene_names must be 'symbol' .* or 'ensembl' .*got 'hgnc'"):
        genevec.read_counts(write(tmp_path, TINY), gene_names="hgnc")


DUP = ("#1.2\n3\t2\nName\tDescription\tS1\tS2\n"
       "ENSG1.1\tY_RNA\t1\t2\nENSG2.1\tTP53\t5\t5\nENSG3.1\tY_RNA\t10\t20\n")


def test_duplicates_sum_first_error(tmp_path, caplog):
    path = write(tmp_path, DUP)
    with caplog.at_level(logging.INFO, logger="genevec.io"):
        df = genevec.read_counts(path)
    assert df.columns.tolist() == ["Y_RNA", "TP53"]
    assert df["Y_RNA"].tolist() == [11, 22]
    assert "1 gene name(s) occur more than once; 1 column(s) merged" in caplog.text
    assert genevec.read_counts(path, duplicates="first")["Y_RNA"].tolist() == [1, 2]
    with pytest.raises(CountsError, match=r"1 gene name\(s\) occur more than once: 'Y_RNA'\. Sum them with "
                                          r"duplicates='sum'"):
        genevec.read_counts(path, duplicates="error")
    with pytest.raises(ValueError, match=r"duplicates must be 'sum' .*got 'mean'"):
        genevec.read_counts(path, duplicates="mean")
    assert genevec.read_counts(path, gene_names="ensembl", duplicates="error").shape == (2, 3)


# --- bad input ---------------------------------------------------------------------------------

def test_missing_file_suggests_similar_names(tmp_path):
    write(tmp_path, TINY, name="gene_reads.gct")
    with pytest.raises(FileNotFoundError, match=r"counts file not found: .*gene_read\.gct.*Did you mean "
                                                r".*gene_reads\.gct'\?"):
        genevec.read_counts(tmp_path / "gene_read.gct")
    with pytest.raises(FileNotFoundError, match=r"does not exist either"):
        genevec.read_counts(tmp_path / "nope" / "x.gct")


def test_not_a_gct(tmp_path):
    path = write(tmp_path, "Name\tDescription\tS1\nE1\tA\t1\n")
    with pytest.raises(FileFormatError, match=r"tiny\.gct, line 1: not a GCT file: the first line is "
                                              r"'Name\\tDescription\\tS1', expected '#1\.2'.*genes_as='rows'"):
        genevec.read_counts(path)
    with pytest.raises(FileFormatError, match=r"line 1: not a GCT file: the first line is ''"):
        genevec.read_counts(write(tmp_path, "", name="empty.gct"))


def test_bad_dims_and_header_lines(tmp_path):
    with pytest.raises(FileFormatError, match=r"line 2: the dims line is '3 rows'; GCT 1\.2 expects two whole"):
        read_gct(write(tmp_path, TINY.replace("3\t3\n", "3 rows\n")))
    with pytest.raises(FileFormatError, match=r"line 3: the header starts with 'Gene\\tSymbol\\tS1'.*Fix line 3"):
        read_gct(write(tmp_path, TINY.replace("Name\tDescription", "Gene\tSymbol")))
    with pytest.raises(FileFormatError, match=r"1 sample ID\(s\) occur more than once \('S1'\)"):
        read_gct(write(tmp_path, TINY.replace("S2\tS3", "S1\tS3")))


@pytest.mark.parametrize("row, found", [("ENSG9.1\tKRAS\t1\t2\n", 4), ("ENSG9.1\tKRAS\t1\t2\t3\t4\n", 6)])
def test_wrong_number_of_fields(tmp_path, row, found):
    path = write(tmp_path, TINY + row)
    with pytest.raises(FileFormatError, match=rf"tiny\.gct, line 7 \(gene 'ENSG9\.1'\): expected 5 tab-separated "
                                              rf"fields .* found {found}\. "):
        genevec.read_counts(path)


@pytest.mark.parametrize("value, exc, what", BAD_COUNTS)
def test_bad_counts_name_line_sample_gene_value(tmp_path, value, exc, what):
    text = TINY.replace("EGFR\t0\t9\t2", f"EGFR\t0\t{value}\t2")
    with pytest.raises(exc, match=rf"tiny\.gct, line 5: sample 'S2', gene 'EGFR': {what}"):
        genevec.read_counts(write(tmp_path, text))


def test_non_integer_allowed_on_request(tmp_path):
    path = write(tmp_path, TINY.replace("EGFR\t0\t9\t2", "EGFR\t0\t9.5\t2"))
    df = genevec.read_counts(path, allow_non_integer=True)
    assert df.dtypes.unique().tolist() == [np.float64] and df.loc["S2", "EGFR"] == 9.5
    assert (genevec.read_counts(write(tmp_path, TINY), allow_non_integer=True).dtypes == np.int64).all()


def test_bad_value_far_down_a_large_file_is_located(tmp_path):
    rows = "".join(f"E{i}.1\tG{i}\t{i}\t1\t2\n" for i in range(5000))
    text = "#1.2\n5001\t3\nName\tDescription\tS1\tS2\tS3\n" + rows + "E9.1\tLAST\t1\t-1\t0\n"
    with pytest.raises(CountsError, match=r"line 5004: sample 'S2', gene 'LAST': the count -1 is negative"):
        read_gct(write(tmp_path, text, gz=True, name="big.gct.gz"))


def test_truncated_gz(tmp_path):
    data = shared_file(*SKIN).read_bytes()
    path = tmp_path / "cut.gct.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"cut\.gct\.gz: the compressed file is truncated or corrupt after "
                                              r"line [\d,]+ .*fetch it again.*gzip -t cut\.gct\.gz"):
        genevec.read_counts(path)
    bad = bytearray(data[:5000])
    bad[3000:3100] = b"\x00" * 100
    path.write_bytes(bytes(bad))
    with pytest.raises(FileFormatError, match=r"truncated or corrupt"):
        genevec.read_counts(path)


def test_windows_line_endings_and_bom_just_work(tmp_path):
    expected = genevec.read_counts(write(tmp_path, TINY))
    raw = b"\xef\xbb\xbf" + TINY.replace("\n", "\r\n").encode()
    for gz in (False, True):
        df = genevec.read_counts(write(tmp_path, "", name="win.gct" + (".gz" if gz else ""), raw=raw, gz=gz))
        pd.testing.assert_frame_equal(df, expected)


def test_blank_trailing_lines_are_ignored(tmp_path):
    pd.testing.assert_frame_equal(read_gct(write(tmp_path, TINY + "\n\n", name="b.gct")),
                                  read_gct(write(tmp_path, TINY)))


def test_no_gene_lines(tmp_path):
    with pytest.raises(FileFormatError, match=r"the header \(line 3\) is followed by no gene line.*declares 3 genes"):
        read_gct(write(tmp_path, TINY.split("ENSG00000141510")[0]))


def test_tissue_absent_from_counts_file(tmp_path):
    path = write(tmp_path, TINY)
    attrs = tmp_path / "attrs.txt"
    attrs.write_text("SAMPID\tSMTS\nS1\tSkin\nS9\tSkin\nX1\tLiver\nX2\tLiver\n")
    with pytest.raises(ValueError, match=r"None of the 2 samples of tissue 'Liver' is in .*tiny\.gct.*'X1', 'X2'"):
        genevec.read_counts(path, attributes=attrs, tissue="Liver")
    with pytest.warns(DataWarning, match=r"1 of the 2 samples of tissue 'skin' are not in .*tiny\.gct \(e\.g\. 'S9'\)"):
        df = genevec.read_counts(path, attributes=attrs, tissue="skin")
    assert df.index.tolist() == ["S1"]


def test_tissue_needs_attributes_and_vice_versa(tmp_path):
    with pytest.raises(ValueError, match=r"tissue= needs attributes= too"):
        genevec.read_counts(write(tmp_path, TINY), tissue="Skin")
    with pytest.raises(ValueError, match=r"attributes= needs tissue= too"):
        genevec.read_counts(write(tmp_path, TINY), attributes=tmp_path / "a.txt")


def test_dims_line_that_matches_gives_no_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_gct(write(tmp_path, TINY))
