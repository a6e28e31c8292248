"""Sample attributes, tissue listing and tissue selection."""

import gzip

import pandas as pd
import pytest
from conftest import shared_file

import genevec
from genevec.exceptions import DataWarning, FileFormatError
from genevec.io import read_attributes, select_tissue, tissues

ATTRS = ("gtex_v6_skin_bladder", "gtex_v6_skin_bladder_sample_attributes.txt")


@pytest.fixture(scope="module")
def attrs():
    return read_attributes(shared_file(*ATTRS))


def test_real_attributes(attrs):
    assert attrs.shape[0] == 31 and attrs.index.name == "SAMPID"
    assert {"SMTS", "SMTSD", "SMRIN", "AGE"} <= set(attrs.columns)
    assert attrs["SMTS"].value_counts().to_dict() == {"Skin": 20, "Bladder": 11}


def test_tissues_lists_both_levels_with_counts(attrs):
    t = tissues(attrs)
    got = {(lvl, name): n for lvl, name, n in t[["level", "tissue", "n_samples"]].itertuples(index=False)}
    assert got == {("SMTS", "Skin"): 20, ("SMTS", "Bladder"): 11,
                   ("SMTSD", "Cells - Transformed fibroblasts"): 13, ("SMTSD", "Bladder"): 11,
                   ("SMTSD", "Skin - Not Sun Exposed (Suprapubic)"): 5, ("SMTSD", "Skin - Sun Exposed (Lower leg)"): 2}
    assert t["level"].tolist()[:2] == ["SMTS", "SMTS"] and t["n_samples"].tolist()[2] == 13  # sorted
    pd.testing.assert_frame_equal(tissues(shared_file(*ATTRS)), t)  # a path works too


def test_attributes_with_only_smtsd():
    a = read_attributes(shared_file("gtex_v8_whole_blood_3000", "gtex_v8_whole_blood_sample_attributes.txt"))
    assert tissues(a).values.tolist() == [["SMTSD", "Whole Blood", 755]]


def test_select_tissue_case_insensitive_both_levels():
    counts = pd.DataFrame({"A": range(4)}, index=["S1", "S2", "S3", "S4"])
    attrs = pd.DataFrame({"SMTS": ["Skin", "Bladder", "Skin", "Skin"],
                          "SMTSD": ["Skin - Sun Exposed (Lower leg)", "Bladder", "Cells - Transformed fibroblasts",
                                    "Skin - Sun Exposed (Lower leg)"]}, index=["S1", "S2", "S3", "S4"])
    assert select_tissue(counts, attrs, "sKiN").index.tolist() == ["S1", "S3", "S4"]
    assert select_tissue(counts, attrs, " skin - sun exposed (lower leg) ").index.tolist() == ["S1", "S4"]
    assert select_tissue(counts.iloc[::-1], attrs, "Skin").index.tolist() == ["S4", "S3", "S1"]  # counts' order


def test_unknown_tissue_lists_and_suggests(attrs):
    counts = pd.DataFrame({"A": range(31)}, index=attrs.index)
    with pytest.raises(ValueError, match=r"No samples with SMTS or SMTSD equal to 'Bladdr' .*Did you mean "
                                         r"'Bladder'\? Available tissues with sample counts: SMTS: Skin \(20\), "
                                         r"Bladder \(11\); SMTSD: Cells - Transformed fibroblasts \(13\)"):
        select_tissue(counts, attrs, "Bladdr")
    with pytest.raises(ValueError, match=r"Did you mean 'Cells - Transformed fibroblasts'\?"):
        select_tissue(counts, attrs, "fibroblasts")
    with pytest.raises(ValueError, match=r"equal to 'Pancreas'.*Available tissues"):
        select_tissue(counts, attrs, "Pancreas")
    with pytest.raises(ValueError, match=r"tissue must be a non-empty str"):
        select_tissue(counts, attrs, "")


def test_absent_samples_are_reported_not_dropped_silently(attrs):
    counts = pd.DataFrame({"A": range(31)}, index=attrs.index).drop(index=attrs.index[attrs["SMTS"] == "Bladder"][:3])
    with pytest.warns(DataWarning, match=r"3 of the 11 samples of tissue 'Bladder' are not in the counts "
                                         r"\(e\.g\. 'GTEX-"):
        out = select_tissue(counts, attrs, "Bladder")
    assert out.shape[0] == 8
    with pytest.raises(ValueError, match=r"None of the 11 samples of tissue 'bladder' is in the counts"):
        select_tissue(counts.drop(index=out.index), attrs, "bladder")


def test_select_tissue_type_errors(attrs):
    with pytest.raises(TypeError, match=r"counts_df must be a samples x genes DataFrame"):
        select_tissue([[1]], attrs, "Skin")
    with pytest.raises(TypeError, match=r"attrs must be a DataFrame from read_attributes\(path\) or a path"):
        select_tissue(pd.DataFrame({"A": [1]}), 42, "Skin")
    with pytest.raises(ValueError, match=r"no tissue column: expected SMTS and/or SMTSD, found 'AGE'"):
        select_tissue(pd.DataFrame({"A": [1]}), pd.DataFrame({"AGE": [1]}), "Skin")


def test_attribute_file_errors(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("SAMPLE\tSMTS\nS1\tSkin\n")
    with pytest.raises(FileFormatError, match=r"a\.txt: no SAMPID column in the header \(line 1\); found "
                                              r"'SAMPLE', 'SMTS'"):
        read_attributes(f)
    f.write_text("SAMPID\tTISSUE\nS1\tSkin\n")
    with pytest.raises(FileFormatError, match=r"a\.txt: no tissue column in the header \(line 1\): expected SMTS "
                                              r"\(broad tissue\) and/or SMTSD.*found 'SAMPID', 'TISSUE'"):
        read_attributes(f)
    f.write_text("SAMPID\tSMTS\nS1\tSkin\nS1\tLung\n")
    with pytest.raises(FileFormatError, match=r"1 SAMPID value\(s\) occur more than once \('S1'\)"):
        read_attributes(f)
    f.write_text("SAMPID\tSMTS\nS1\tSkin\n\tLung\n")
    with pytest.raises(FileFormatError, match=r"a\.txt, line 3: empty SAMPID"):
        read_attributes(f)
    f.write_text("")
    with pytest.raises(FileFormatError, match=r"a\.txt: the attributes file is empty"):
        read_attributes(f)
    with pytest.raises(FileNotFoundError, match=r"attributes file not found: .*b\.txt.*Did you mean .*a\.txt"):
        read_attributes(tmp_path / "b.txt")


def test_attributes_bom_crlf_and_gzip(tmp_path):
    raw = b"\xef\xbb\xbfSAMPID\tSMTS\r\nS1\tSkin\r\nS2\tBladder\r\n"
    f = tmp_path / "a.txt.gz"
    f.write_bytes(gzip.compress(raw))
    a = read_attributes(f)
    assert a.index.tolist() == ["S1", "S2"] and a["SMTS"].tolist() == ["Skin", "Bladder"]
    f.write_bytes(gzip.compress(raw)[:-10])
    with pytest.raises(FileFormatError, match=r"a\.txt\.gz: the compressed file is truncated or corrupt \("):
        read_attributes(f)


def test_public_names_resolve():
    assert genevec.tissues is tissues and genevec.select_tissue is select_tissue
    assert genevec.read_attributes is read_attributes
