"""TissueModels and its folder: queries, and a missing or damaged file is an error that names it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import genevec
from genevec.collection import file_name, load_tissues
from genevec.datasets import demo_paths
from genevec.exceptions import FileFormatError, GeneNotFoundError


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("collection") / "coll"
    models = genevec.fit_tissues(*demo_paths(), min_samples=5, top_genes=300, n_splits=2, output=folder)
    return folder, models


@pytest.fixture
def copy(saved, tmp_path):
    folder = tmp_path / "coll"
    shutil.copytree(saved[0], folder)
    return folder


def test_file_names_are_safe_and_distinct():
    assert file_name("Brain - Caudate (basal ganglia)") == "brain_caudate_basal_ganglia.txt"
    assert file_name("Cells - EBV-transformed lymphocytes") == "cells_ebv_transformed_lymphocytes.txt"
    assert file_name("../etc") == "etc.txt"
    assert file_name("Skin", taken=["skin.txt", "skin_2.txt"]) == "skin_3.txt"


def test_tissues_are_matched_case_insensitively_and_unknown_ones_listed(saved):
    _, models = saved
    assert models["skin"] is models["Skin"] and "BLADDER" in models and "Liver" not in models
    with pytest.raises(KeyError, match=r"No tissue 'Skn'.*Did you mean 'Skin'.*Skin \(20\), Bladder \(11\)"):
        models["Skn"]
    assert "TissueModels(2 tissues at level SMTS" in repr(models)


def test_compare_puts_each_tissues_own_neighbours_side_by_side(saved):
    _, models = saved
    table = models.compare("KRT14", topn=5)
    assert table.shape == (5, 4) and list(table.index) == [1, 2, 3, 4, 5]
    for t in models.tissues:
        hits = models[t].most_similar("KRT14", topn=5)
        assert list(table[(t, "gene")]) == [g for g, _ in hits]
        np.testing.assert_allclose(table[(t, "cosine")], [s for _, s in hits])
    assert list(models.compare("KRT14", topn=2, tissues=["bladder"]).columns.get_level_values(0)) == ["Bladder"] * 2
    with pytest.raises(GeneNotFoundError, match=r"'KRT41' has no vector in any of Skin, Bladder.*'KRT14'"):
        models.compare("KRT41")
    with pytest.raises(ValueError, match="tissues is empty"):
        models.compare("KRT14", tissues=[])


def test_shifts_rank_the_genes_and_validate_their_input(saved):
    _, models = saved
    full = models.shifts("Skin", "Bladder", top=None)
    assert len(full) == 300 and set(full["gene"]) == set(models["Skin"].genes)
    assert (np.diff(full["p_value"].to_numpy()) >= 0).all()              # most shifted first
    np.testing.assert_allclose(full["score"], -np.log10(full["p_value"]))
    head = models.shifts("skin", "BLADDER", top=7)
    assert list(head["gene"]) == list(full["gene"][:7])
    assert head.attrs["tissues"] == ("Skin", "Bladder") and head.attrs["k"] == 10
    # the neighbour columns are each tissue's own top 10 among the shared genes
    row = full.iloc[0]
    assert row["neighbours_a"].split(", ") == [g for g, _ in models["Skin"].most_similar(row["gene"], topn=10)]
    with pytest.raises(ValueError, match="got 'Skin' twice. Pick another, one of: Bladder"):
        models.shifts("Skin", "skin")
    with pytest.raises(ValueError, match="top must be an int >= 1 or None"):
        models.shifts("Skin", "Bladder", top=0)


def test_summary_has_quality_beside_pearson_and_random(saved):
    _, models = saved
    s = models.summary()
    assert list(s.index) == ["Skin", "Bladder"]
    assert (s["go_precision"] > s["go_random"]).all() and s["go_pearson"].notna().all()
    assert s.loc["Skin", "aligned_cosine"] == 1.0 and 0 < s.loc["Bladder", "aligned_cosine"] < 1
    assert ((s["stability"] >= 0) & (s["stability"] <= 1)).all()


def test_save_elsewhere_and_load(saved, tmp_path):
    _, models = saved
    models.save(tmp_path / "again")
    loaded = load_tissues(tmp_path / "again")
    assert loaded.tissues == models.tissues
    for t in models.tissues:
        np.testing.assert_array_equal(loaded[t].vectors, models[t].vectors)


def test_a_missing_tissue_file_is_named(copy):
    (copy / "bladder.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"bladder.txt: a file of tissue 'Bladder', listed in .*manifest.json, "
                                                r"is missing.*run the genevec train command again"):
        load_tissues(copy)


def test_a_changed_tissue_file_is_named(copy):
    path = copy / "skin.txt.json"
    meta = json.loads(path.read_text())
    meta["metadata"]["tissue"]["n_samples"] = 99
    path.write_text(json.dumps(meta))
    with pytest.raises(FileFormatError, match=r"skin.txt.json: a file of tissue 'Skin' changed since manifest.json"):
        load_tissues(copy)


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    ('{"format": "something else", "tissues": []}', "is not a tissue collection manifest written by genevec"),
    ('{"format": "genevec.TissueModels", "version": 99, "tissues": [{"tissue": "x"}]}', "newer genevec"),
    ('{"format": "genevec.TissueModels", "version": 1, "tissues": [{"tissue": "x"}]}',
     "a tissue entry without tissue, file and sha256"),
    ('{"format": "genevec.TissueModels", "version": 1, "tissues": [{"tissue": "x", "file": "../x.txt", '
     '"sha256": "0"}]}', "outside the collection folder"),
])
def test_a_corrupt_manifest_is_named(copy, content, message):
    (copy / "manifest.json").write_text(content)
    with pytest.raises(FileFormatError, match=message):
        load_tissues(copy)


def test_no_manifest_says_whether_a_run_did_not_finish(copy, tmp_path):
    (copy / "manifest.json").unlink()
    with pytest.raises(FileFormatError, match="2 tissue file.*did not finish.*resumes"):
        load_tissues(copy)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileFormatError, match="this is not a tissue collection"):
        load_tissues(empty)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_tissues(tmp_path / "nowhere")
