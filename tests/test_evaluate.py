"""genevec.evaluate: pathway metrics against brute force, planted structure, baselines, reports, errors."""

import json
import sys

import numpy as np
import pandas as pd
import pytest
from _reference import evaluate_ref

import genevec
from genevec import GeneVectors, evaluate
from genevec.evaluate import QualityReport, auroc, neighbour_indices, pearson_vectors

evaluate_module = sys.modules["genevec.evaluate"]


def random_sets(genes, n_sets, size, rng):
    return {f"S{s}": list(rng.choice(genes, size=size, replace=False)) for s in range(n_sets)}


def test_planted_sets_score_perfectly():
    genes = [f"A{i}" for i in range(6)] + [f"B{i}" for i in range(6)] + [f"C{i}" for i in range(6)]
    V = np.repeat(np.eye(3), 6, axis=0) + 0.01 * np.random.default_rng(0).normal(size=(18, 3))
    sets = {"A": genes[:6], "B": genes[6:12], "C": genes[12:]}
    report = evaluate((genes, V), gene_sets=sets, k=5)
    row = report.table.loc[("custom", "vectors")]
    assert row["auroc"] == 1.0
    assert row["precision"] == 1.0
    # each gene has 5 partners among the 17 others
    assert row["random_precision"] == pytest.approx(5 / 17)
    assert (row["n_genes"], row["n_annotated"], row["n_sets"]) == (18, 18, 3)
    assert row["n_pairs"] == 18 * 17 // 2 and not row["sampled"]


def test_inverted_vectors_score_below_chance():
    genes = [f"G{i}" for i in range(12)]
    V = np.repeat(np.eye(2), 6, axis=0)  # two clusters of identical vectors
    sets = {f"pair{i}": [genes[i], genes[i + 6]] for i in range(6)}  # every set pairs genes across the clusters
    row = evaluate((genes, V), gene_sets=sets, k=2, min_set_size=2).table.loc[("custom", "vectors")]
    # positives all score 0; negatives: 30 within-cluster pairs at 1, 30 across at 0 (ties count half)
    assert row["auroc"] == 0.25
    assert row["precision"] == 0.0 and row["random_precision"] == pytest.approx(1 / 11)


def test_random_vectors_score_chance():
    rng = np.random.default_rng(1)
    genes = [f"G{i}" for i in range(300)]
    sets = random_sets(genes, 20, 25, rng)
    V = rng.normal(size=(300, 16))
    row = evaluate((genes, V), gene_sets=sets, k=10).table.loc[("custom", "vectors")]
    assert abs(row["auroc"] - 0.5) < 0.03  # ~5,500 positive pairs: standard error ~0.005
    assert abs(row["precision"] - row["random_precision"]) < 0.02


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    genes = [f"G{i}" for i in range(70)] + ["EXTRA1", "EXTRA2"]
    sets = random_sets(genes[:70], 9, 8, rng)
    sets["tiny"] = genes[:3]  # below min_size: dropped
    sets["outside"] = ["NOT_EMBEDDED_1", "NOT_EMBEDDED_2", *genes[:4]]  # only 4 embedded: dropped
    V = rng.normal(size=(len(genes), 5))
    report = evaluate((genes, V), gene_sets=sets, k=4, min_set_size=5)
    row = report.table.loc[("custom", "vectors")]
    precision, expected, area = evaluate_ref(genes, V, sets, k=4, min_size=5)
    assert row["precision"] == pytest.approx(precision, abs=1e-12)
    assert row["random_precision"] == pytest.approx(expected, abs=1e-12)
    assert row["auroc"] == pytest.approx(area, abs=1e-12)
    assert row["n_sets"] == 9


def test_max_set_size_drops_large_sets():
    genes = [f"G{i}" for i in range(40)]
    V = np.random.default_rng(0).normal(size=(40, 4))
    sets = {"all": genes, "few": genes[:6]}
    row = evaluate((genes, V), gene_sets=sets, max_set_size=20).table.loc[("custom", "vectors")]
    assert row["n_sets"] == 1 and row["n_annotated"] == 6


def test_sampled_pairs_are_reproducible_and_close_to_exact():
    rng = np.random.default_rng(3)
    genes = [f"G{i}" for i in range(200)]
    sets = random_sets(genes, 15, 20, rng)
    V = rng.normal(size=(200, 3))
    V[:20] += 2.0 * np.array([1.0, 0, 0])  # make S0-like structure for a non-trivial AUROC
    exact = evaluate((genes, V), gene_sets=sets).table.iloc[0]
    a = evaluate((genes, V), gene_sets=sets, max_pairs=5000, random_state=7).table.iloc[0]
    b = evaluate((genes, V), gene_sets=sets, max_pairs=5000, random_state=7).table.iloc[0]
    c = evaluate((genes, V), gene_sets=sets, max_pairs=5000, random_state=8).table.iloc[0]
    assert a["sampled"] and a["n_pairs"] == 5000 and not exact["sampled"]
    assert a["auroc"] == b["auroc"] and a["auroc"] != c["auroc"]
    assert abs(a["auroc"] - exact["auroc"]) < 0.03
    assert a["precision"] == exact["precision"]  # precision never samples


def test_neighbour_indices_match_argsort_with_ties():
    V = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    U = V / np.linalg.norm(V, axis=1, keepdims=True)
    nb = neighbour_indices(U, 3)
    for i in range(5):
        sims = U @ U[i]
        sims[i] = -np.inf
        ref = np.lexsort((np.arange(5), -sims))[:3]
        assert nb[i].tolist() == ref.tolist()
    assert neighbour_indices(U, 10).shape == (5, 4)


def test_auroc_ties_and_degenerate_labels():
    assert auroc(np.array([1.0, 1.0]), np.array([True, False])) == 0.5
    assert auroc(np.array([0.1, 0.9, 0.5]), np.array([False, True, True])) == 1.0
    assert np.isnan(auroc(np.array([0.1, 0.2]), np.array([True, True])))


def test_pearson_vectors_are_correlations_of_log_cpm():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.poisson(20, size=(12, 6)), columns=list("ABCDEF"))
    X["F"] = 0  # constant log1p(CPM): a zero vector
    genes, P = pearson_vectors(X, ["C", "A", "ZZZ", "F"])
    assert genes == ["C", "A", "F"]
    logcpm = np.log1p(X.to_numpy() / X.to_numpy().sum(axis=1, keepdims=True) * 1e6)
    r = np.corrcoef(logcpm[:, 2], logcpm[:, 0])[0, 1]
    assert float(P[0] @ P[1]) == pytest.approx(r, abs=1e-12)
    assert not P[2].any()


def test_counts_add_the_pearson_baseline(module_counts):
    genes = list(module_counts.columns)
    sets = {"M1": genes[:12], "M2": genes[12:]}
    report = evaluate((genes, np.random.default_rng(0).normal(size=(24, 4))), gene_sets=sets, counts=module_counts,
                      k=5)
    pearson = report.table.loc[("custom", "pearson")]
    assert pearson["precision"] > 0.9 and pearson["auroc"] > 0.9  # planted modules: Pearson finds them
    assert report.table.loc[("custom", "vectors"), "precision"] < pearson["precision"]
    verdict = report.verdicts()[0]
    assert "worse than Pearson" in verdict and "Pearson correlation" in verdict


def test_accepts_every_vector_container(module_counts):
    genes = list(module_counts.columns)
    sets = {"M1": genes[:12], "M2": genes[12:]}
    V = np.random.default_rng(0).normal(size=(24, 4))
    gv = GeneVectors(V, genes)
    expect = evaluate(gv, gene_sets=sets).table
    pd.testing.assert_frame_equal(evaluate((genes, V), gene_sets=sets).table, expect)
    pd.testing.assert_frame_equal(evaluate(pd.DataFrame(V, index=genes), gene_sets=sets).table, expect)
    model = genevec.GeneGloVe(dim=4, max_iter=2, random_state=0).fit(module_counts)
    assert evaluate(model, gene_sets=sets).table.loc[("custom", "vectors"), "n_genes"] == 24
    with pytest.raises(ValueError, match="not fitted yet"):
        evaluate(genevec.GeneGloVe(), gene_sets=sets)
    with pytest.raises(TypeError, match="vectors must be a GeneVectors"):
        evaluate(V, gene_sets=sets)


def test_several_collections_and_gmt(tmp_path):
    genes = [f"G{i}" for i in range(30)]
    V = np.random.default_rng(0).normal(size=(30, 4))
    gmt = tmp_path / "mine.gmt"
    gmt.write_text("X\tx\t" + "\t".join(genes[:10]) + "\n")
    report = evaluate((genes, V), gene_sets=[{"a": genes[:8]}, {"b": genes[5:15]}, str(gmt)])
    assert list(report.table.index.get_level_values(0)) == ["custom", "custom_2", "mine"]


def test_errors_name_the_problem():
    genes = [f"ENSG0000014{i:04d}" for i in range(20)]
    V = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=r"only 0 of the 20 genes are in any go_bp set.*ENSG.*HGNC symbols"):
        evaluate((genes, V))
    symbols = [f"G{i}" for i in range(20)]
    with pytest.raises(ValueError, match=r"no custom set holds between 5 and 500 of the 20 genes \(6 of them"):
        evaluate((symbols, V), gene_sets={"small": symbols[:3], "other": symbols[3:6]})
    with pytest.raises(ValueError, match="k must be an int >= 1, got 0"):
        evaluate((genes, V), k=0)
    with pytest.raises(ValueError, match="max_set_size must be an int >= 5"):
        evaluate((genes, V), max_set_size=3)
    with pytest.raises(ValueError, match="empty list"):
        evaluate((genes, V), gene_sets=[])


def test_report_round_trips_through_json():
    genes = [f"G{i}" for i in range(30)]
    V = np.random.default_rng(0).normal(size=(30, 4))
    report = evaluate((genes, V), gene_sets={"a": genes[:10], "b": genes[8:20]}, k=3)
    data = json.loads(json.dumps(report.to_dict()))
    back = QualityReport.from_dict(data)
    pd.testing.assert_frame_equal(back.table, report.table, check_dtype=False)
    assert back.k == 3 and str(back) == str(report)
    text = str(report)
    assert "precision@3" in text and "random" in text and "a gene's 3 nearest genes" in text


def test_evaluate_is_the_function_even_after_importing_the_module():
    import genevec.evaluate  # noqa: F401  (binds the submodule; the package keeps the function)

    assert callable(genevec.evaluate) and genevec.evaluate is evaluate_module.evaluate


def test_real_cohort_beats_random_with_go():
    counts = genevec.datasets.load_demo(n_genes=1500)
    report = evaluate(genevec.GeneGloVe(solver="svd", max_iter=0, random_state=0).fit(counts), counts=counts)
    table = report.table
    for method in ("vectors", "pearson"):
        row = table.loc[("go_bp", method)]
        assert row["precision"] > row["random_precision"] + 0.03
        assert row["auroc"] > 0.5
        assert row["n_annotated"] > 1000


def test_neighbour_search_in_threads_gives_the_same_answer():
    U = np.random.default_rng(4).normal(size=(2500, 8)).astype(np.float32)  # three row blocks
    one = neighbour_indices(U, 7)
    assert np.array_equal(neighbour_indices(U, 7, n_threads=2), one)
    assert np.array_equal(neighbour_indices(U, 7, n_threads=3), one)
