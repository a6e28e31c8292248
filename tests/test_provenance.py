"""The training record: what is kept, how it reads, what it advises, and why a gene is missing."""

import json

import numpy as np
import pytest

from genevec import GeneGloVe, GeneVectors, datasets, load_vectors
from genevec.cost import affordable_genes, format_duration, training_cost
from genevec.io import filter_genes
from genevec.provenance import KEY, absent_reason, describe, guidance, parameters, training_record


@pytest.fixture(scope="module")
def fitted():
    counts = datasets.load_demo(n_genes=300)
    counts = counts.assign(EMPTY=0)                                   # a gene no sample expresses
    with pytest.warns(Warning, match="co-occur with no gene"):
        model = GeneGloVe(dim=8, random_state=3).fit(counts)
    return model


def test_record_keeps_file_names_not_folders_and_round_trips_through_the_sidecar(fitted, tmp_path):
    rec = training_record(fitted, counts_file="/srv/private/data/pancreas.gct.gz", attributes_file="/srv/a/attrs.txt",
                          tissue="Skin", tissues={"Skin - Sun Exposed (Lower leg)": 20, "Bladder": 11},
                          genes_in_input=500, filters={"min_samples": 10}, filtered_out=["EGFR2", "XYZ"])
    assert rec["counts_file"] == "pancreas.gct.gz" and rec["attributes_file"] == "attrs.txt"
    assert "/srv" not in json.dumps(rec)
    assert rec["n_samples"] == 31 and rec["genes_kept"] == 300 and rec["seed"] == 3
    assert rec["dropped_by_filters"] == "EGFR2 XYZ" and rec["dropped_no_cooccurrence"] == "EMPTY"
    gv = fitted.vectors_
    gv.metadata[KEY] = rec
    gv.save(tmp_path / "v.txt")
    assert load_vectors(tmp_path / "v.txt").metadata[KEY] == rec


def test_describe_guidance_and_absent_reasons(fitted):
    rec = training_record(fitted, counts_file="skin.gct.gz", tissue="Skin",
                          tissues={"Cells - Transformed fibroblasts": 13, "Skin - Not Sun Exposed (Suprapubic)": 5},
                          genes_in_input=302, filters={"top_genes": 301}, filtered_out=["DROPPED1"])
    meta = {KEY: rec}
    rows = dict(describe(meta))
    assert rows["Trained on"] == "skin.gct.gz"
    assert rows["Tissue"] == ("Skin: 31 samples (Cells - Transformed fibroblasts 13, Skin - Not Sun Exposed "
                              "(Suprapubic) 5)")
    assert rows["Genes"] == "300 kept of 302 (dropped: 1 by the filters, 1 with no co-occurring gene)"
    assert rows["Gene filters"] == "top_genes=301" and rows["Seed"] == "3"
    advice = guidance(meta)
    assert [a.split(":")[0] for a in advice] == ["Few samples (31)", "Mixed tissues", "Cultured cells"]
    assert "e.g. --tissue 'Skin - Not Sun Exposed (Suprapubic)'" in advice[1]          # never the cell line
    assert absent_reason(meta, "DROPPED1", 300) == "filtered out at training (top_genes=301)"
    assert absent_reason(meta, "EMPTY", 300).startswith("dropped at training: it had no reads in the samples")
    assert absent_reason(meta, "ELSEWHERE", 300) == "not in the training data (skin.gct.gz)"
    assert guidance({KEY: dict(rec, n_samples=300, tissues={"Pancreas": 300})}) == []


def test_guidance_reads_the_quality_report():
    def report(vec, rnd, pearson):
        return {"k": 10, "collections": {"go_bp": {"vectors": {"precision": vec, "random_precision": rnd},
                                                    "pearson": {"precision": pearson, "random_precision": rnd}}}}

    rec = {"n_samples": 300, "tissues": {"Pancreas": 300}}
    weak = guidance({KEY: rec, "quality": report(0.18, 0.17, 0.26)})
    assert weak == ["Weak signal: a gene's nearest genes share GO biological processes only 1.06x as often as random "
                    "genes do; read single neighbours as hypotheses, not findings. A plain Pearson correlation of the "
                    "same counts does better (26% against 18%)."]
    good = guidance({KEY: rec, "quality": report(0.30, 0.15, 0.20)})
    assert good == ["A gene's nearest genes share GO biological processes 2.00x as often as random genes do."]


def test_parameters_in_plain_words_and_nothing_hidden_by_accident():
    rows = parameters({"solver": "sgd", "dim": 100, "learning_rate": 0.05, "loss": 0.0119648,
                       "final_epoch_loss": 0.01039, "n_jobs": 2, "quality": {}, KEY: {}, "extra_key": "kept"})
    assert rows == [("solver", "sgd"), ("vector length (dim)", "100"), ("learning rate", "0.05"),
                    ("final loss (exact, all co-occurrences)", "0.0119648"),
                    ("last epoch's running loss (averaged while the vectors moved)", "0.01039"),
                    ("extra_key", "kept")]


def test_cost_grows_with_the_genes_squared_and_threads_divide_time():
    model = GeneGloVe()
    small, big = (training_cost(model, 100, n, n_threads=2) for n in (5_000, 10_000))
    assert big.seconds == pytest.approx(4 * small.seconds, rel=1e-9)
    assert 1.8 * small.bytes < big.bytes < 4 * small.bytes                   # n^2 tiles + a fixed 128 MiB block
    assert training_cost(model, 100, 5_000, n_threads=4).seconds == pytest.approx(small.seconds / 2)
    sgd = GeneGloVe.exp2vec()
    assert training_cost(sgd, 100, 5_000, n_threads=2).seconds > 20 * small.seconds      # 50 epochs
    n = affordable_genes(sgd, 328, seconds=600, n_threads=2)
    assert training_cost(sgd, 328, n, n_threads=2).seconds <= 600 < training_cost(sgd, 328, int(n * 1.1),
                                                                                  n_threads=2).seconds
    assert [format_duration(s) for s in (0.2, 59.6, 90, 3599, 5400, 7260)] == ["1 s", "60 s", "2 min", "60 min",
                                                                                "1 h 30 min", "2 h 01 min"]
    with pytest.raises(ValueError, match="n_samples and n_genes must be >= 1"):
        training_cost(model, 0, 10)


def test_memory_estimate_bounds_what_a_fit_allocates():
    """The estimate is within 2x of the bytes Python's allocator saw at the peak of a real fit."""
    import tracemalloc

    counts = datasets.load_demo(n_genes=1500)
    model = GeneGloVe(dim=32, random_state=0)
    tracemalloc.start()
    model.fit(counts)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    est = training_cost(model, *counts.shape).bytes
    assert peak / 2 < est < 2 * peak, (est, peak)


def test_filter_top_n_against_a_sort():
    rng = np.random.default_rng(0)
    import pandas as pd

    X = pd.DataFrame(rng.poisson(3, size=(6, 40)), columns=[f"G{i}" for i in range(40)])
    X["TIE"] = X["G0"]
    totals = X.sum(axis=0)
    want = sorted(X.columns, key=lambda g: (-totals[g], list(X.columns).index(g)))[:10]
    assert set(filter_genes(X, top_n=10).columns) == set(want)
    assert list(filter_genes(X, top_n=10).columns) == [g for g in X.columns if g in want]   # original order
    passing = filter_genes(X, min_counts=20)
    assert set(filter_genes(X, min_counts=20, top_n=5).columns) <= set(passing.columns)
    with pytest.raises(ValueError, match="top_n=0 would keep no gene"):
        filter_genes(X, top_n=0)


def test_demo_vectors_explain_a_missing_gene():
    gv = GeneVectors(np.eye(2), ["A", "B"], metadata={KEY: {"dropped_by_filters": "EGFR", "filters": {"top_genes": 2}}})
    assert absent_reason(gv.metadata, "EGFR", len(gv)) == "filtered out at training (top_genes=2)"
