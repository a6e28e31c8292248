"""genevec.fit_tissues: every tissue of a GCT file in one read, each fitted as on its own, aligned, resumable."""

from __future__ import annotations

import gzip
import json
import warnings

import numpy as np
import pandas as pd
import pytest

import genevec
from genevec.collection import load_tissues
from genevec.datasets import demo_paths
from genevec.exceptions import DataWarning
from genevec.io.split import ExpressionFilter

SMALL = dict(min_samples=5, top_genes=300, n_splits=2)


@pytest.fixture(scope="module")
def demo_models():
    return genevec.fit_tissues(*demo_paths(), **SMALL)


def reference_fit(tissue: str, genes):
    """The slow obvious way: read the tissue alone, keep the same genes, fit the default estimator."""
    counts, attrs = demo_paths()
    X = genevec.read_counts(counts, attributes=genevec.read_attributes(attrs), tissue=tissue)
    return genevec.GeneGloVe(random_state=0).fit(X[list(genes)])


def test_each_tissue_is_fitted_as_if_read_alone(demo_models):
    assert demo_models.tissues == ["Skin", "Bladder"]            # most samples first: Skin is the reference
    assert [demo_models.n_samples(t) for t in demo_models.tissues] == [20, 11]
    for t in demo_models.tissues:
        gv = demo_models[t]
        ref = reference_fit(t, gv.genes)
        assert list(ref.genes_) == list(gv.genes)
        if t == "Skin":                                           # the reference is not rotated
            np.testing.assert_array_equal(gv.vectors, ref.embedding_.astype(np.float64))
        else:                                                     # rotated: the same cosines, the same neighbours
            U = ref.embedding_.astype(np.float64)
            U /= np.linalg.norm(U, axis=1, keepdims=True)
            V = gv.vectors / np.linalg.norm(gv.vectors, axis=1, keepdims=True)
            np.testing.assert_allclose(V @ V.T, U @ U.T, atol=1e-9)
            for gene in gv.genes[:20]:
                assert [g for g, _ in gv.most_similar(gene, topn=10)] == \
                       [g for g, _ in ref.most_similar(gene, topn=10)]


def test_shared_genes_are_expressed_in_every_tissue_by_the_filter(demo_models):
    counts, attrs = demo_paths()
    a = genevec.read_attributes(attrs)
    rule = ExpressionFilter()
    genes = demo_models["Skin"].genes
    assert demo_models["Bladder"].genes == genes
    for t in demo_models.tissues:
        X = genevec.read_counts(counts, attributes=a, tissue=t)[genes]
        assert ((X >= rule.min_reads).sum(axis=0) >= rule.samples_needed(len(X))).all()


def test_top_genes_keeps_the_most_expressed_shared_genes():
    counts, attrs = demo_paths()
    models = genevec.fit_tissues(counts, attrs, min_samples=5, top_genes=50, n_splits=1)
    full = genevec.fit_tissues(counts, attrs, min_samples=5, top_genes=400, n_splits=1)
    a = genevec.read_attributes(attrs)
    cpm = []
    for t in ("Skin", "Bladder"):
        X = genevec.read_counts(counts, attributes=a, tissue=t)
        cpm.append(X.sum() / X.to_numpy().sum() * 1e6)
    mean_cpm = pd.concat(cpm, axis=1).mean(axis=1)
    kept = mean_cpm[list(full["Skin"].genes)].sort_values(ascending=False)
    assert set(models["Skin"].genes) == set(kept.index[:50])


def test_results_do_not_depend_on_n_jobs():
    one = genevec.fit_tissues(*demo_paths(), n_jobs=1, **SMALL)
    two = genevec.fit_tissues(*demo_paths(), n_jobs=2, **SMALL)
    for t in one.tissues:
        np.testing.assert_array_equal(one[t].vectors, two[t].vectors)
        np.testing.assert_array_equal(one.stability(t).to_numpy(), two.stability(t).to_numpy())
    pd.testing.assert_frame_equal(one.shifts("Skin", "Bladder", top=None), two.shifts("Skin", "Bladder", top=None))


def test_small_tissues_are_skipped_with_one_line(capsys):
    models = genevec.fit_tissues(*demo_paths(), min_samples=15, top_genes=200, n_splits=1, verbose=1)
    assert models.tissues == ["Skin"]
    assert models.skipped == [{"tissue": "Bladder", "n_samples": 11,
                               "reason": "11 samples in the counts file, fewer than min_samples=15"}]
    err = capsys.readouterr().err
    skip_lines = [line for line in err.splitlines() if "skipping" in line]
    assert len(skip_lines) == 1 and "Bladder (11)" in skip_lines[0] and "Lower min_samples" in skip_lines[0]
    with pytest.raises(KeyError, match="left out when the collection was made: 11 samples"):
        models["Bladder"]


def test_progress_is_a_line_per_tissue_with_samples_genes_seconds_and_verdict(capsys):
    genevec.fit_tissues(*demo_paths(), verbose=1, **SMALL)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[tissues] ")]
    per_tissue = [line for line in lines if line.startswith(("[tissues] 1/2", "[tissues] 2/2"))]
    assert len(per_tissue) == 2
    assert "Skin: 20 samples, 300 genes" in per_tissue[0] and "Bladder: 11 samples" in per_tissue[1]
    assert all(" s (fit " in line and "GO biological process" in line for line in per_tissue)
    assert any("in one pass" in line for line in lines)


def test_level_smtsd_fits_the_detailed_tissues():
    counts, attrs = demo_paths()
    a = genevec.read_attributes(attrs)
    models = genevec.fit_tissues(counts, attrs, level="SMTSD", min_samples=5, top_genes=200, n_splits=1)
    sizes = a["SMTSD"].value_counts()
    assert set(models.tissues) == {t for t, n in sizes.items() if n >= 5}
    for t in models.tissues:
        assert models.n_samples(t) == sizes[t]


def test_union_gives_each_tissue_its_genes_and_compare_says_why_one_is_absent():
    models = genevec.fit_tissues(*demo_paths(), min_samples=5, genes="union", top_genes=300, n_splits=1)
    only_skin = sorted(set(models["Skin"].genes) - set(models["Bladder"].genes))
    assert only_skin
    table = models.compare(only_skin[0], topn=3)
    assert list(dict.fromkeys(table.columns.get_level_values(0))) == ["Skin"]
    a = genevec.read_attributes(demo_paths()[1])
    X = genevec.read_counts(demo_paths()[0], attributes=a, tissue="Bladder")
    for gene in only_skin[:20]:
        why = models.compare(gene, topn=3).attrs["absent"]["Bladder"]
        expressed = (X[gene] >= 10).sum() >= 6 if gene in X else False
        if expressed:
            assert why == "expressed in Bladder, but not among the top_genes=300 most expressed"
        else:
            assert why == "not expressed in Bladder (fewer than 10 reads in 50% of its 11 samples)"
    shifts = models.shifts("Skin", "Bladder", top=None)
    assert set(shifts["gene"]) == set(models["Skin"].genes) & set(models["Bladder"].genes)


# ------------------------------------------------------------------------------ files and resuming


def test_output_folder_round_trips_and_gensim_reads_every_file(tmp_path, demo_models):
    gensim = pytest.importorskip("gensim")
    models = genevec.fit_tissues(*demo_paths(), output=tmp_path / "coll", **SMALL)
    again = load_tissues(tmp_path / "coll")
    assert again.tissues == models.tissues
    manifest = json.loads((tmp_path / "coll" / "manifest.json").read_text())
    assert manifest["genevec_version"] == genevec.__version__
    assert {e["tissue"]: e["n_samples"] for e in manifest["tissues"]} == {"Skin": 20, "Bladder": 11}
    assert all(e["quality"]["collections"]["go_bp"] for e in manifest["tissues"])
    assert manifest["settings"]["level"] == "SMTS" and manifest["settings"]["reference"] == "Skin"
    for t in models.tissues:
        np.testing.assert_array_equal(again[t].vectors, models[t].vectors)
        np.testing.assert_array_equal(models[t].vectors, demo_models[t].vectors)   # writing changes nothing
        kv = gensim.models.KeyedVectors.load_word2vec_format(tmp_path / "coll" / again[t].metadata["tissue"]["file"])
        assert list(kv.index_to_key) == list(models[t].genes)
        np.testing.assert_allclose(kv.vectors, models[t].vectors, rtol=1e-6)
    pd.testing.assert_frame_equal(again.shifts("Skin", "Bladder"), models.shifts("Skin", "Bladder"))


def test_a_killed_run_resumes_from_the_finished_tissues(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "coll"
    import genevec.tissue_fit as tissues_module

    real = tissues_module._tissue_vectors
    calls = []

    def dies_on_the_second(*args):
        calls.append(args[5])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(tissues_module, "_tissue_vectors", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        genevec.fit_tissues(*demo_paths(), output=folder, **SMALL)
    assert sorted(p.name for p in folder.iterdir()) == ["skin.txt", "skin.txt.json"]   # no manifest yet
    with pytest.raises(genevec.exceptions.FileFormatError, match="did not finish.*resumes"):
        load_tissues(folder)
    monkeypatch.setattr(tissues_module, "_tissue_vectors", real)
    resumed = genevec.fit_tissues(*demo_paths(), output=folder, verbose=1, **SMALL)
    assert "resuming: 1 of 2 tissue(s)" in capsys.readouterr().err
    assert "Skin" not in resumed.timings and "Bladder" in resumed.timings      # Skin was loaded, not refitted
    whole = genevec.fit_tissues(*demo_paths(), **SMALL)
    for t in whole.tissues:
        np.testing.assert_array_equal(resumed[t].vectors, whole[t].vectors)


def test_resuming_with_other_settings_is_refused(tmp_path):
    folder = tmp_path / "coll"
    genevec.fit_tissues(*demo_paths(), output=folder, **SMALL)
    with pytest.raises(ValueError, match=r"from another run \(different: .*top_genes.*new folder"):
        genevec.fit_tissues(*demo_paths(), output=folder, min_samples=5, top_genes=200, n_splits=2)


def test_a_damaged_tissue_file_is_refitted_on_resume(tmp_path, capsys):
    folder = tmp_path / "coll"
    first = genevec.fit_tissues(*demo_paths(), output=folder, **SMALL)
    path = folder / "bladder.txt"
    path.write_text(path.read_text().replace("\n", "\n ", 3))
    again = genevec.fit_tissues(*demo_paths(), output=folder, verbose=1, **SMALL)
    assert "Bladder" in again.timings and "Skin" not in again.timings
    np.testing.assert_array_equal(again["Bladder"].vectors, first["Bladder"].vectors)
    assert load_tissues(folder).tissues == ["Skin", "Bladder"]


# ------------------------------------------------------------------------------ bad input


def test_attributes_without_the_level_column(tmp_path):
    counts, attrs = demo_paths()
    a = pd.read_csv(attrs, sep="\t", dtype=str)
    p = tmp_path / "attrs.txt"
    a.drop(columns=["SMTSD"]).to_csv(p, sep="\t", index=False)
    with pytest.raises(ValueError, match=r"no SMTSD column.*Use level='SMTS' \(on the command line: --level SMTS\)"):
        genevec.fit_tissues(counts, p, level="SMTSD")


def test_a_tissue_name_that_matches_nothing_lists_the_tissues_with_counts():
    with pytest.raises(ValueError, match=r"No SMTS tissue is named 'Skn'.*Did you mean 'Skin'.*Skin \(20\), "
                                         r"Bladder \(11\)"):
        genevec.fit_tissues(*demo_paths(), tissues=["Skn"], min_samples=5)


def test_tissues_missing_from_the_counts_file_are_reported(tmp_path):
    counts, attrs = demo_paths()
    a = pd.read_csv(attrs, sep="\t", dtype=str)
    extra = a.iloc[:3].copy()
    extra["SAMPID"] = [f"GTEX-NOPE-{i}" for i in range(3)]
    extra["SMTS"] = "Liver"
    extra2 = a[a["SMTS"] == "Skin"].iloc[:2].copy()
    extra2["SAMPID"] = [f"GTEX-GONE-{i}" for i in range(2)]
    p = tmp_path / "attrs.txt"
    pd.concat([a, extra, extra2]).to_csv(p, sep="\t", index=False)
    with pytest.raises(ValueError, match=r"None of the samples of 'Liver' \(3 listed\) is in .*same GTEx release"):
        genevec.fit_tissues(counts, p, tissues=["Liver", "Skin"], min_samples=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        models = genevec.fit_tissues(counts, p, min_samples=5, top_genes=100, n_splits=1)
    assert [s["tissue"] for s in models.skipped] == ["Liver"]
    assert "0 samples in the counts file" in models.skipped[0]["reason"]
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert any("2 samples listed in the attributes" in m and "Skin 2" in m for m in messages)


def test_no_tissue_with_enough_samples():
    with pytest.raises(ValueError, match=r"No SMTS tissue has min_samples=50 samples.*Skin \(20\), Bladder \(11\)"
                                         r".*--min-samples"):
        genevec.fit_tissues(*demo_paths(), min_samples=50)


def test_two_tissues_that_share_no_expressed_gene(tmp_path):
    samples = [f"S{i}" for i in range(8)]
    lines = ["#1.2", "4\t8", "Name\tDescription\t" + "\t".join(samples)]
    for g, (a, b) in enumerate([(50, 0), (60, 0), (0, 70), (0, 80)]):
        lines.append(f"ENSG{g}.1\tG{g}\t" + "\t".join(str(a if i < 4 else b) for i in range(8)))
    gct = tmp_path / "x.gct"
    gct.write_text("\n".join(lines) + "\n")
    attrs = tmp_path / "a.txt"
    attrs.write_text("SAMPID\tSMTS\n" + "".join(f"S{i}\t{'Lung' if i < 4 else 'Liver'}\n" for i in range(8)))
    with pytest.raises(ValueError, match=r"Only 0 gene\(s\) are expressed .* in every one of the 2 tissues.*"
                                         r"'Liver' and 'Lung' share 0 expressed gene.*genes='union'"):
        genevec.fit_tissues(gct, attrs, min_samples=4)
    with pytest.raises(ValueError, match=r"'Lung' cannot be aligned to the reference tissue 'Liver'.*share 0 "
                                         r"expressed gene"):
        genevec.fit_tissues(gct, attrs, min_samples=4, genes="union", k=1, estimator=genevec.GeneGloVe(dim=1))


@pytest.mark.parametrize("kwargs, message", [
    ({"genes": "all"}, "genes must be 'shared'"),
    ({"min_samples": 0}, "min_samples must be an int >= 4"),
    ({"min_samples": 2}, "min_samples must be at least 4, got 2: each tissue's noise is measured by fitting two halves"),
    ({"n_splits": 0}, "n_splits must be an int >= 1"),
    ({"top_genes": 5}, "top_genes must be an int >= 12"),
    ({"reference": "Liver"}, "the reference 'Liver' is not among the fitted tissues: Skin, Bladder"),
    ({"level": "tissue"}, "level must be 'SMTS'"),
])
def test_bad_parameters_are_named(kwargs, message):
    params = dict(SMALL) | kwargs
    with pytest.raises(ValueError, match=message):
        genevec.fit_tissues(*demo_paths(), **params)


def test_output_that_is_a_file(tmp_path):
    f = tmp_path / "f.txt"
    f.write_text("x")
    with pytest.raises(ValueError, match="is a file; give a folder"):
        genevec.fit_tissues(*demo_paths(), output=f, **SMALL)


def test_a_gzipped_copy_gives_the_same_collection(tmp_path, demo_models):
    counts, attrs = demo_paths()
    plain = tmp_path / "counts.gct"
    with gzip.open(counts, "rb") as src:
        plain.write_bytes(src.read())
    models = genevec.fit_tissues(plain, attrs, **SMALL)
    for t in models.tissues:
        np.testing.assert_array_equal(models[t].vectors, demo_models[t].vectors)


def test_genevec_tissues_stays_the_function_after_fit_tissues_is_used():
    import subprocess
    import sys

    code = ("import genevec; genevec.fit_tissues; import genevec.tissue_fit; "
            "print(callable(genevec.tissues) and genevec.tissues.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "genevec.io.samples"


def test_gene_names_with_whitespace_are_refused_before_any_fit(tmp_path):
    samples = [f"S{i}" for i in range(8)]
    lines = ["#1.2", "14\t8", "Name\tDescription\t" + "\t".join(samples)]
    rng = np.random.default_rng(0)
    for g in range(14):
        name = "5S rRNA" if g == 3 else f"G{g}"
        lines.append(f"ENSG{g}.1\t{name}\t" + "\t".join(str(v) for v in rng.integers(20, 200, 8)))
    gct = tmp_path / "x.gct"
    gct.write_text("\n".join(lines) + "\n")
    attrs = tmp_path / "a.txt"
    attrs.write_text("SAMPID\tSMTS\n" + "".join(f"S{i}\t{'Lung' if i < 4 else 'Liver'}\n" for i in range(8)))
    kw = dict(min_samples=4, k=3, n_splits=1, estimator=genevec.GeneGloVe(dim=4))
    with pytest.raises(ValueError, match=r"1 gene name\(s\) contain whitespace.*'5S rRNA' \(line 7\).*Nothing was "
                                         r"fitted.*--gene-names ensembl"):
        genevec.fit_tissues(gct, attrs, output=tmp_path / "coll", **kw)
    assert not any((tmp_path / "coll").glob("*.txt"))
    models = genevec.fit_tissues(gct, attrs, gene_names="ensembl", output=tmp_path / "ids", **kw)
    assert "ENSG3" in models["Lung"].genes


def test_an_interrupted_tissue_fit_stops_the_run_and_is_not_saved_as_finished(tmp_path, ctrl_c_in_epoch):
    ctrl_c_in_epoch(2)
    folder = tmp_path / "coll"
    sgd = genevec.GeneGloVe(solver="sgd", max_iter=5, dim=8)
    with pytest.raises(KeyboardInterrupt, match="interrupted after epoch 1"):
        genevec.fit_tissues(*demo_paths(), output=folder, estimator=sgd, **SMALL)
    assert not folder.exists() or list(folder.iterdir()) == []        # no tissue saved, no manifest
