"""read_gct_split (every tissue of a GCT file in one pass) against read_counts per tissue + the expression rule.

The slow, obvious reference for one tissue: ``read_counts(path, attributes=..., tissue=..., gene_names="ensembl")``
gives one column per line of the file; the expression rule (>= min_reads in >= ceil(min_fraction * n) samples)
picks the lines; a GCT holding just those lines, read with ``read_counts(..., tissue=...)``, is what
``SplitCounts.take`` must return (genes sharing a symbol are merged after the rule, by read_counts' own code).

Just over ~500 lines: mirrors ``io/split.py`` (the one-pass split, its expression rule, its errors), each
against that reference.
"""

import functools
import gzip
import math
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

import genevec
from genevec.datasets import demo_paths
from genevec.exceptions import CountsError, DataWarning, FileFormatError
from genevec.io import read_gct
from genevec.io import split as split_module
from genevec.io.samples import tissue_groups
from genevec.io.split import ExpressionFilter, SplitCounts, read_gct_split

# --- helpers and the reference ----------------------------------------------------------------


def gct_text(names, descs, counts, samples, dims=None):
    """GCT 1.2 text; counts is lines x samples."""
    n_lines, n_samples = len(names), len(samples)
    dims = dims or (n_lines, n_samples)
    out = [f"#1.2\n{dims[0]}\t{dims[1]}\n", "Name\tDescription\t" + "\t".join(samples) + "\n"]
    for name, desc, row in zip(names, descs, counts):
        out.append(f"{name}\t{desc}\t" + "\t".join(str(int(v)) for v in row) + "\n")
    return "".join(out)


def write(path, text, gz=False):
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def read_text(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", newline="") as fh:
        return fh.read()


def needed(fraction, n):
    """Smallest whole number of samples >= fraction * n, in exact decimal arithmetic (at least 1)."""
    return max(1, math.ceil(Fraction(str(fraction)) * n))


@functools.lru_cache(maxsize=16)
def per_line(path, attrs, tissue):
    """One column per line of the file (Ensembl IDs are unique in these files)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # samples listed but absent: tested on their own
        return genevec.read_counts(path, attributes=attrs, tissue=tissue, gene_names="ensembl")


def expressed_ref(path, attrs, tissue, expression):
    X = per_line(path, attrs, tissue)
    return ((X >= expression.min_reads).sum(axis=0) >= needed(expression.min_fraction, X.shape[0])).to_numpy()


def reference(path, attrs, tissue, lines, tmp_path, **read_kw):
    """read_counts of ``tissue`` over only the chosen lines of ``path`` (a bool per gene line)."""
    text = read_text(path).splitlines()
    genes = [line for line in text[3:] if line.strip()]
    assert len(genes) == len(lines)
    chosen = [line for line, keep in zip(genes, lines) if keep]
    n_samples = len(text[2].split("\t")) - 2
    if not chosen:
        return None
    sub = tmp_path / f"reference_{tissue.replace(' ', '_')}_{abs(hash(tuple(lines)))}.gct"
    sub.write_text(f"#1.2\n{len(chosen)}\t{n_samples}\n{text[2]}\n" + "\n".join(chosen) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return genevec.read_counts(sub, attributes=attrs, tissue=tissue, **read_kw)


def check_against_reference(split, path, attrs, expression, tmp_path, shared=False, **read_kw):
    tissues = split.tissues
    masks = {t: expressed_ref(path, attrs, t, expression) for t in tissues}
    everywhere = np.logical_and.reduce([masks[t] for t in tissues])
    for j, t in enumerate(tissues):
        X = per_line(path, attrs, t)
        assert split.samples[t] == X.index.tolist()
        np.testing.assert_array_equal(split.expressed[:, j], masks[t])
        np.testing.assert_array_equal(split.totals[:, j], X.sum(axis=0).to_numpy())
        lines = everywhere if shared else masks[t]
        np.testing.assert_array_equal(split.kept[:, j], lines)
        got = split.take(t)
        expected = reference(path, attrs, t, lines, tmp_path, **read_kw)
        if expected is None:
            assert got.shape == (len(split.samples[t]), 0)
            assert got.index.tolist() == split.samples[t]
        else:
            assert (got.dtypes == np.int64).all()
            pd.testing.assert_frame_equal(got, expected)
    return masks


def synthetic(tmp_path, seed, *, n_lines=600, gz=False, name="synthetic"):
    """A GCT file of three tissues with duplicated and missing symbols, plus its attributes file.

    The file's sample columns are shuffled across tissues, two samples belong to no tissue, and the
    attributes list two Liver samples that the file lacks.
    """
    rng = np.random.default_rng(seed)
    sizes = {"Lung": 7, "Liver": 4, "Heart": 9}
    samples, tissue_of = [], {}
    for t, n in sizes.items():
        for i in range(n):
            samples.append(f"GTEX-{t[:2].upper()}{i}-{seed}")
            tissue_of[samples[-1]] = t
    samples += [f"GTEX-NONE{i}" for i in range(2)]
    rng.shuffle(samples)
    # per line a base level and a per-tissue factor: some lines expressed everywhere, some nowhere
    base = rng.lognormal(1.5, 1.5, size=n_lines)
    factor = {t: rng.choice([0.0, 0.3, 1.0, 3.0], size=n_lines) for t in sizes}
    counts = np.empty((n_lines, len(samples)), dtype=np.int64)
    for j, s in enumerate(samples):
        f = factor[tissue_of[s]] if s in tissue_of else np.ones(n_lines)
        counts[:, j] = rng.poisson(base * f)
    names = [f"ENSG{i:011d}.{1 + i % 3}" for i in range(n_lines)]
    pool = [f"SYM{i}" for i in range(int(n_lines * 0.8))]
    descs = [str(rng.choice(pool)) if rng.random() > 0.05 else "" for _ in range(n_lines)]
    suffix = ".gct.gz" if gz else ".gct"
    path = write(tmp_path / (name + suffix), gct_text(names, descs, counts, samples), gz=gz)
    attrs = tmp_path / f"{name}_attributes.txt"
    rows = [f"{s}\t{tissue_of[s]}\t{tissue_of[s]} - detail" for s in samples if s in tissue_of]
    rows += [f"GTEX-NONE{i}\t\t" for i in range(2)] + [f"GTEX-GONE{i}\tLiver\tLiver - detail" for i in range(2)]
    attrs.write_text("SAMPID\tSMTS\tSMTSD\n" + "\n".join(rows) + "\n")
    return path, attrs


# --- ExpressionFilter -------------------------------------------------------------------------

def test_samples_needed_is_the_exact_ceiling():
    for fraction in (0.001, 0.1, 0.2, 0.25, 0.3, 0.35, 0.5, 0.6, 0.7, 0.75, 0.9, 0.95, 0.999, 1.0):
        f = ExpressionFilter(min_reads=1, min_fraction=fraction)
        for n in list(range(1, 300)) + [1000, 3288, 17382]:
            assert f.samples_needed(n) == needed(fraction, n), (fraction, n)


def test_expression_filter_validation_and_text():
    f = ExpressionFilter(min_reads=6, min_fraction=0.2)
    assert str(f) == ">= 6 reads in >= 20% of the samples"
    assert f.to_dict() == {"min_reads": 6, "min_fraction": 0.2}
    assert ExpressionFilter() == ExpressionFilter(10, 0.5)
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ValueError, match=rf"min_reads must be an int >= 1 .*got {bad!r}"):
            ExpressionFilter(min_reads=bad)
    for bad in (0, 0.0, -0.5, 1.5, True, "0.5", float("nan")):
        with pytest.raises(ValueError, match=r"min_fraction must be a number in \(0, 1\] .*got "):
            ExpressionFilter(min_fraction=bad)


# --- against read_counts per tissue -------------------------------------------------------------

@pytest.mark.parametrize("seed, min_reads, min_fraction", [(0, 10, 0.5), (1, 1, 0.1), (2, 5, 1.0), (3, 30, 0.3)])
@pytest.mark.parametrize("shared", [False, True])
def test_synthetic_matches_read_counts_per_tissue(tmp_path, seed, min_reads, min_fraction, shared):
    path, attrs = synthetic(tmp_path, seed)
    expression = ExpressionFilter(min_reads, min_fraction)
    split = read_gct_split(path, tissue_groups(attrs), expression=expression, shared=shared)
    assert isinstance(split, SplitCounts)
    assert split.tissues == ["Heart", "Lung", "Liver"]  # tissue_groups: by decreasing size
    assert split.expressed.shape == split.kept.shape == split.totals.shape == (600, 3)
    masks = check_against_reference(split, path, attrs, expression, tmp_path, shared=shared)
    # the synthetic tissues differ: the test sees lines expressed in some tissues only
    stacked = np.column_stack(list(masks.values()))
    assert 0 < stacked.all(axis=1).sum() < stacked.any(axis=1).sum()


def test_demo_file_matches_read_counts_per_tissue(tmp_path):
    counts, attrs = demo_paths()
    groups = tissue_groups(attrs)
    assert {t: len(s) for t, s in groups.items()} == {"Skin": 20, "Bladder": 11}
    expression = ExpressionFilter()
    split = read_gct_split(counts, groups, expression=expression)
    assert split.missing == {"Skin": 0, "Bladder": 0}
    assert split.expressed.shape == (36653, 2)
    masks = check_against_reference(split, counts, attrs, expression, tmp_path)
    assert 15_000 < masks["Skin"].sum() < 25_000 and (masks["Skin"] != masks["Bladder"]).any()


def test_demo_shared_keeps_exactly_the_lines_expressed_in_every_tissue(tmp_path):
    counts, attrs = demo_paths()
    expression = ExpressionFilter(min_reads=20, min_fraction=0.6)
    split = read_gct_split(counts, tissue_groups(attrs), expression=expression, shared=True)
    masks = check_against_reference(split, counts, attrs, expression, tmp_path, shared=True)
    # the shared universe is smaller than either tissue's own
    both = masks["Skin"] & masks["Bladder"]
    assert both.sum() < masks["Skin"].sum() and both.sum() < masks["Bladder"].sum()


def test_gzipped_and_plain_files_give_the_same_result(tmp_path):
    counts, attrs = demo_paths()
    plain = tmp_path / "demo.gct"
    plain.write_bytes(gzip.decompress(counts.read_bytes()))
    groups = tissue_groups(attrs)
    a = read_gct_split(counts, groups)
    b = read_gct_split(plain, groups)
    assert a.samples == b.samples and a.missing == b.missing
    for field in ("expressed", "kept", "totals", "labels"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    for t in groups:
        pd.testing.assert_frame_equal(a.take(t), b.take(t))


def test_rule_is_applied_per_line_before_genes_sharing_a_symbol_are_merged(tmp_path):
    samples = ["S1", "S2", "S3", "S4"]
    rows = [("E1.1", "DUP", [9, 9, 9, 9]),     # neither DUP line passes; their sum (18 each) would
            ("E2.1", "DUP", [9, 9, 9, 9]),
            ("E3.1", "MIX", [50, 50, 0, 0]),   # passes (2 of 4 samples >= 10) ...
            ("E4.1", "MIX", [5, 5, 5, 5]),     # ... this one does not, so it is not added to MIX
            ("E5.1", "MIX", [0, 10, 10, 0]),   # passes: added to MIX
            ("E6.1", "", [10, 10, 0, 0])]      # no symbol: labelled by its ID
    path = write(tmp_path / "dup.gct", gct_text([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                                                samples))
    split = read_gct_split(path, {"T": samples}, expression=ExpressionFilter(10, 0.5))
    np.testing.assert_array_equal(split.expressed[:, 0], [False, False, True, False, True, True])
    assert split.labels.tolist() == ["DUP", "DUP", "MIX", "MIX", "MIX", "E6.1"]
    df = split.take("T")
    assert df.columns.tolist() == ["MIX", "E6.1"] and df.index.tolist() == samples
    assert df["MIX"].tolist() == [50, 60, 10, 0] and df["E6.1"].tolist() == [10, 10, 0, 0]


def test_duplicates_and_gene_names_are_passed_to_take(tmp_path):
    path, attrs = synthetic(tmp_path, 4)
    expression = ExpressionFilter(3, 0.5)
    groups = tissue_groups(attrs)
    for kw in ({"gene_names": "ensembl"}, {"duplicates": "first"}):
        split = read_gct_split(path, groups, expression=expression, **kw)
        check_against_reference(split, path, attrs, expression, tmp_path, **kw)
    split = read_gct_split(path, groups, expression=expression, duplicates="error")
    with pytest.raises(CountsError, match=r"synthetic\.gct \(Heart\): \d+ gene name\(s\) occur more than once"):
        split.take("Heart")


def test_result_does_not_depend_on_the_block_size(tmp_path, monkeypatch):
    path, attrs = synthetic(tmp_path, 5, n_lines=300)
    groups = tissue_groups(attrs)
    expected = read_gct_split(path, groups, expression=ExpressionFilter(2, 0.3))
    frames = {t: expected.take(t) for t in groups}
    for lines in (1, 7, 299, 300, 301):
        monkeypatch.setattr(split_module, "BLOCK_LINES", lines)
        got = read_gct_split(path, groups, expression=ExpressionFilter(2, 0.3))
        np.testing.assert_array_equal(got.kept, expected.kept)
        for t in groups:
            pd.testing.assert_frame_equal(got.take(t), frames[t])


def test_counts_of_2_to_the_32_and_beyond_survive(tmp_path, monkeypatch):
    big = [2**32 - 1, 2**32, 2**32 + 5, 2**40 + 3, 2**53 - 1]
    samples = ["A1", "A2", "B1", "B2"]
    rows = [[10, 10, 10, 10], [big[0], 11, 12, 13], [big[1], big[2], 20, 20], [30, 30, big[3], 1],
            [40, 40, 40, 40], [big[4], 50, 50, 50]]
    path = write(tmp_path / "big.gct", gct_text([f"E{i}.1" for i in range(6)], [f"G{i}" for i in range(6)], rows,
                                                samples))
    attrs = tmp_path / "attrs.txt"
    attrs.write_text("SAMPID\tSMTS\nA1\tAdipose\nA2\tAdipose\nB1\tBrain\nB2\tBrain\n")
    for lines in (2, 256):  # blocks of plain uint32 beside blocks that must stay int64, and one mixed block
        monkeypatch.setattr(split_module, "BLOCK_LINES", lines)
        split = read_gct_split(path, tissue_groups(attrs), expression=ExpressionFilter(1, 0.5))
        for t, cols in (("Adipose", [0, 1]), ("Brain", [2, 3])):
            df = split.take(t)
            np.testing.assert_array_equal(df.to_numpy(), np.array(rows, dtype=np.int64)[:, cols].T)
            pd.testing.assert_frame_equal(df, genevec.read_counts(path, attributes=attrs, tissue=t))
        np.testing.assert_array_equal(split.totals, [[20, 20], [big[0] + 11, 25], [big[1] + big[2], 40],
                                                     [60, big[3] + 1], [80, 80], [big[4] + 50, 100]])


# --- samples: store, take, missing, absent tissues ------------------------------------------------

def test_store_keeps_only_the_tissues_asked_for_and_shared_still_counts_every_tissue(tmp_path):
    path, attrs = synthetic(tmp_path, 6)
    groups = tissue_groups(attrs)
    expression = ExpressionFilter(5, 0.5)
    full = read_gct_split(path, groups, expression=expression, shared=True)
    part = read_gct_split(path, groups, expression=expression, shared=True, store=["Liver"])
    np.testing.assert_array_equal(part.kept, full.kept)
    np.testing.assert_array_equal(part.expressed, full.expressed)
    assert part.nbytes() < full.nbytes()
    pd.testing.assert_frame_equal(part.take("Liver"), full.take("Liver"))
    assert part.nbytes() == 0
    with pytest.raises(KeyError, match=r"the counts of tissue 'Lung' were not kept by this read, or were taken"):
        part.take("Lung")


def test_take_twice_raises_and_frees_the_counts(tmp_path):
    path, attrs = synthetic(tmp_path, 7)
    split = read_gct_split(path, tissue_groups(attrs), expression=ExpressionFilter(1, 0.1))
    before = split.nbytes()
    first = split.take("Heart")
    assert 0 < split.nbytes() < before
    with pytest.raises(KeyError, match=r"tissue 'Heart' were not kept by this read, or were taken already"):
        split.take("Heart")
    with pytest.raises(KeyError, match=r"'Kidney'"):
        split.take("Kidney")
    assert first.shape[0] == 9


def test_take_lines_keeps_a_subset_of_the_kept_lines(tmp_path):
    samples = ["S1", "S2"]
    rows = [[10, 10], [0, 0], [20, 30], [40, 1], [5, 50]]
    path = write(tmp_path / "t.gct", gct_text([f"E{i}.1" for i in range(5)], ["A", "B", "C", "A", "D"], rows,
                                              samples))
    split = read_gct_split(path, {"T": samples}, expression=ExpressionFilter(10, 0.5))
    np.testing.assert_array_equal(split.kept[:, 0], [True, False, True, True, True])
    df = split.take("T", lines=np.array([True, True, False, True, False]))  # line 2 is not kept: stays out
    assert df.columns.tolist() == ["A"] and df["A"].tolist() == [50, 11]


def test_missing_counts_samples_listed_but_absent(tmp_path):
    path, attrs = synthetic(tmp_path, 8)
    groups = tissue_groups(attrs)
    assert len(groups["Liver"]) == 6  # 4 in the file, 2 not
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the split reader reports absences in .missing, it does not warn
        split = read_gct_split(path, groups)
    assert split.missing == {"Heart": 0, "Lung": 0, "Liver": 2}
    assert len(split.samples["Liver"]) == 4 and not any("GONE" in s for s in split.samples["Liver"])
    # a sample listed twice counts once; an absent one listed twice counts once too
    split = read_gct_split(path, {"Liver": groups["Liver"] + groups["Liver"][:1] + ["GTEX-GONE0", "X"]})
    assert split.missing == {"Liver": 3}
    assert split.samples["Liver"] == [s for s in read_text(path).splitlines()[2].split("\t")[2:]
                                      if s in set(groups["Liver"])]  # file order


def test_tissue_without_samples_in_the_file_is_named(tmp_path):
    path, attrs = synthetic(tmp_path, 9)
    groups = tissue_groups(attrs)
    groups["Kidney"] = ["GTEX-K1", "GTEX-K2"]
    with pytest.raises(ValueError, match=r"None of the 2 samples of tissue 'Kidney' is in .*synthetic\.gct "
                                         r"\(22 samples there, e\.g\. .*; the tissue's are e\.g\. GTEX-K1, GTEX-K2\)\. "
                                         r"Check that the attributes belong to this counts file"):
        read_gct_split(path, groups)
    with pytest.raises(ValueError, match=r"groups is empty; give at least one tissue"):
        read_gct_split(path, {})


# --- malformed input: the same messages as read_gct --------------------------------------------

HEAD = "#1.2\n4\t3\nName\tDescription\tS1\tS2\tS3\n"
GOOD = "ENSG1.1\tTP53\t30\t40\t1\nENSG2.1\tEGFR\t0\t9\t2\nENSG3.1\tKRAS\t7\t7\t7\n"


def outcome(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            return "ok", call()
        except Exception as exc:  # compared below: type and message
            return type(exc), str(exc)


@pytest.mark.parametrize("row", [
    "ENSG9.1\tMYC\t1\tabc\t3",       # not a number
    "ENSG9.1\tMYC\t1\t-3\t3",        # negative
    "ENSG9.1\tMYC\t1\t2.5\t3",       # not whole
    "ENSG9.1\tMYC\t1\t\t3",          # missing
    "ENSG9.1\tMYC\tNA\t1\t3",
    "ENSG9.1\tMYC\t1\tnan\t3",
    "ENSG9.1\tMYC\t1\t99999999999999999999\t3",   # beyond int64
    "ENSG9.1\tMYC\t1\t9007199254740992\t3",       # 2**53
    "\tMYC\t1\t2\t3",                # empty Name
    " \t\t1\t2\t3",                  # blank Name, no symbol
    "ENSG9.1\t\t1\t2",               # cut short, no symbol
    "junk",                          # no tab at all
    "ENSG9.1\tMYC\t1\t3.0\t3",       # well-formed after all: same values as read_gct
    "ENSG9.1\tMYC\t1\t 7\t+3",
    "ENSG9.1\tMYC\t1\t1e3\t0",
])
@pytest.mark.parametrize("gz", [False, True])
def test_malformed_lines_are_reported_as_read_gct_reports_them(tmp_path, row, gz):
    path = write(tmp_path / ("bad.gct.gz" if gz else "bad.gct"), HEAD + GOOD + row + "\n", gz=gz)
    want = outcome(lambda: read_gct(path).to_numpy().tolist())
    got = outcome(lambda: read_gct_split(path, {"T": ["S1", "S2", "S3"]}, expression=ExpressionFilter(1, 0.01))
                  .take("T").to_numpy().tolist())
    assert got == want
    if want[0] != "ok":
        assert "line 7" in want[1] and "bad.gct" in want[1]


@pytest.mark.parametrize("row, found", [("ENSG9.1\tMYC\t1\t2", 4), ("ENSG9.1\tMYC\t1\t2\t3\t4", 6)])
def test_wrong_field_count_gives_read_gcts_message(tmp_path, row, found):
    path = write(tmp_path / "bad.gct", HEAD + GOOD + row + "\n")
    with pytest.raises(FileFormatError) as gct_error:
        read_gct(path)
    with pytest.raises(FileFormatError) as split_error:
        read_gct_split(path, {"T": ["S1", "S2", "S3"]})
    pattern = (rf"bad\.gct, line 7 \(gene 'ENSG9\.1'\): expected 5 tab-separated fields \(Name, Description and "
               rf"3 samples, as in the header on line 3\), found {found}\. The line is cut short or has extra tabs: "
               "fix or remove it.")
    assert gct_error.match(pattern) and split_error.match(pattern)
    # read_gct names the line by its ID, read_gct_split by its symbol; apart from that, the same words
    assert (str(split_error.value).replace("'MYC'", "'ENSG9.1'") == str(gct_error.value))


def test_bad_value_far_down_is_located_past_many_blocks(tmp_path):
    rows = "".join(f"E{i}.1\tG{i}\t{i}\t1\t2\n" for i in range(2000))
    text = "#1.2\n2001\t3\nName\tDescription\tS1\tS2\tS3\n" + rows + "E9.1\tLAST\t1\t-1\t0\n"
    path = write(tmp_path / "big.gct.gz", text, gz=True)
    with pytest.raises(CountsError, match=r"big\.gct\.gz, line 2004: sample 'S2', gene 'LAST': the count -1 is "
                                          r"negative"):
        read_gct_split(path, {"T": ["S1"], "U": ["S2", "S3"]})


def test_dims_line_mismatch_warns_as_read_gct(tmp_path):
    path = write(tmp_path / "dims.gct", HEAD.replace("4\t3", "56200\t17382") + GOOD)
    with pytest.warns(DataWarning) as gct_warnings:
        read_gct(path)
    with pytest.warns(DataWarning, match=r"dims\.gct: the dims line \(line 2\) declares 56,200 genes x 17,382 "
                                         r"samples, but the file holds 3 genes x 3 samples") as split_warnings:
        read_gct_split(path, {"T": ["S1", "S2"]})
    assert [str(w.message) for w in split_warnings] == [str(w.message) for w in gct_warnings]
    assert split_warnings[0].filename == __file__  # points at the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_gct_split(write(tmp_path / "ok.gct", HEAD.replace("4\t3", "3\t3") + GOOD), {"T": ["S1", "S2"]})


def test_file_level_errors_match_read_gct(tmp_path):
    cases = {
        "nogenes.gct": HEAD,
        "notgct.gct": "Name\tDescription\tS1\nE1\tA\t1\n",
        "dims.gct": HEAD.replace("4\t3", "4 rows") + GOOD,
        "dupsample.gct": HEAD.replace("S2\tS3", "S1\tS3") + GOOD,
    }
    for name, text in cases.items():
        path = write(tmp_path / name, text)
        want = outcome(lambda: read_gct(path))
        assert want[0] is FileFormatError
        assert outcome(lambda: read_gct_split(path, {"T": ["S1"]})) == want
    with pytest.raises(FileNotFoundError, match=r"counts file not found"):
        read_gct_split(tmp_path / "absent.gct", {"T": ["S1"]})
    with pytest.raises(ValueError, match=r"gene_names must be 'symbol'"):
        read_gct_split(tmp_path / "nogenes.gct", {"T": ["S1"]}, gene_names="hgnc")


# --- tissue_groups --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_attrs():
    return genevec.read_attributes(demo_paths()[1])


@pytest.mark.parametrize("level", ["SMTS", "SMTSD"])
def test_tissue_groups_against_the_attributes_column(demo_attrs, level):
    groups = tissue_groups(demo_attrs, level=level)
    col = demo_attrs[level]
    expected = {t: demo_attrs.index[col == t].tolist() for t in col.unique()}
    assert groups == expected
    sizes = [len(s) for s in groups.values()]
    assert list(groups) == sorted(groups, key=lambda t: (-len(groups[t]), t)) and sizes == sorted(sizes)[::-1]
    assert groups == tissue_groups(demo_paths()[1], level=level, tissues="ALL")  # a path; 'all' in any case


def test_tissue_groups_matches_names_case_insensitively(demo_attrs):
    groups = tissue_groups(demo_attrs, tissues=["bladder", " SKIN ", "Skin"])
    assert set(groups) == {"Bladder", "Skin"}  # spelled as the column spells them, each once
    assert groups["Bladder"] == demo_attrs.index[demo_attrs["SMTS"] == "Bladder"].tolist()
    assert tissue_groups(demo_attrs, level="SMTSD", tissues="cells - transformed FIBROBLASTS") == {
        "Cells - Transformed fibroblasts": demo_attrs.index[demo_attrs["SMTSD"] == "Cells - Transformed fibroblasts"]
        .tolist()}


def test_tissue_groups_unknown_tissue_lists_the_tissues_and_close_names(demo_attrs):
    with pytest.raises(ValueError, match=r"No SMTS tissue is named 'Bladdr' \(matched case-insensitively\)\. Did "
                                         r"you mean 'Bladder'\? SMTS tissues with their sample counts: Skin \(20\), "
                                         r"Bladder \(11\)\.$"):
        tissue_groups(demo_attrs, tissues=["Skin", "Bladdr"])
    with pytest.raises(ValueError, match=r"No SMTS tissue is named 'Cells - Transformed fibroblasts'.* "
                                         r"'Cells - Transformed fibroblasts' is a SMTSD name: pass level='SMTSD'\."):
        tissue_groups(demo_attrs, tissues=["Cells - Transformed fibroblasts"])
    with pytest.raises(ValueError, match=r"No SMTSD tissue is named 'Skin - Sun Exposed' .*Did you mean 'Skin - "
                                         r"Sun Exposed \(Lower leg\)'.*SMTSD tissues with their sample counts: Cells - "
                                         r"Transformed fibroblasts \(13\), Bladder \(11\)"):
        tissue_groups(demo_attrs, level="SMTSD", tissues=["Skin - Sun Exposed"])
    with pytest.raises(ValueError, match=r"tissues is an empty list; pass 'all' or at least one tissue name"):
        tissue_groups(demo_attrs, tissues=[])


def test_tissue_groups_level_validation_and_missing_column(demo_attrs):
    for bad in ("smts", "tissue", "SMTS "):
        with pytest.raises(ValueError, match=rf"level must be 'SMTS' \(broad tissues, e\.g\. 'Skin'\) or 'SMTSD' "
                                             rf"\(detailed tissues.*got {bad!r}\."):
            tissue_groups(demo_attrs, level=bad)
    only_detailed = demo_attrs[["SMTSD", "AGE"]]
    with pytest.raises(ValueError, match=r"The attributes have no SMTS column, so tissues cannot be told apart at "
                                         r"level 'SMTS' \(columns: 'SMTSD', 'AGE'\)\. Use level='SMTSD' \(on the "
                                         r"command line: --level SMTSD\)\."):
        tissue_groups(only_detailed)
    with pytest.raises(ValueError, match=r"no SMTSD column.*Use level='SMTS'"):
        tissue_groups(demo_attrs[["SMTS"]], level="SMTSD")


def test_samples_without_a_tissue_belong_to_none():
    attrs = pd.DataFrame({"SMTS": ["Skin", None, " ", "Skin", "Lung"]}, index=["S1", "S2", "S3", "S4", "S5"])
    assert tissue_groups(attrs) == {"Skin": ["S1", "S4"], "Lung": ["S5"]}
