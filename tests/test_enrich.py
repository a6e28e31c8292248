"""Gene-set enrichment: p values against scipy's hypergeometric law, q values against a hand BH."""

import numpy as np
import pytest
from scipy.stats import hypergeom

from genevec import GeneVectors
from genevec.enrich import COLUMNS, benjamini_hochberg, enrich, neighbour_enrichment
from genevec.exceptions import GeneNotFoundError


def bh_by_hand(p):
    """Benjamini-Hochberg the slow way: for each p, the smallest m p_(j) / j over the j at or after its rank."""
    m = len(p)
    ranked = sorted(range(m), key=lambda i: p[i])
    rank = {i: r + 1 for r, i in enumerate(ranked)}
    return [min(1.0, min(p[j] * m / rank[j] for j in range(m) if rank[j] >= rank[i])) for i in range(m)]


def reference(genes, universe, sets, min_size, max_size, exclude=None):
    """Every tested set's (k, K, p), computed one set at a time with Python sets and scipy."""
    universe = [g for g in universe if g != exclude]
    annotated = {g for g in universe if any(g in s for s in sets.values())}
    listed = {g for g in genes if g in annotated}
    N, n = len(annotated), len(listed)
    rows = {}
    for name, members in sets.items():
        K = len(set(members) & annotated)
        if min_size <= K <= max_size:
            k = len(set(members) & listed)
            rows[name] = (k, K, float(hypergeom.sf(k - 1, N, K, n)))
    return rows, N, n


def random_sets(rng, genes, n_sets):
    return {f"S{j}": list(rng.choice(genes, size=rng.integers(2, 40), replace=False)) for j in range(n_sets)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_p_and_q_match_scipy_and_a_hand_bh(seed):
    rng = np.random.default_rng(seed)
    universe = [f"G{i}" for i in range(300)]
    sets = random_sets(rng, universe[:250] + ["OUTSIDE1", "OUTSIDE2"], 60)     # G250.. are in no set
    genes = list(rng.choice(universe, size=40, replace=False)) + ["NOT_IN_UNIVERSE"]
    result = enrich(genes, universe, sets, min_size=3, max_size=30)
    rows, N, n = reference(genes, universe, sets, 3, 30)
    assert (result.n_universe, result.n_listed, result.n_sets) == (N, n, len(rows))
    names = list(rows)
    q_hand = dict(zip(names, bh_by_hand([rows[s][2] for s in names])))
    table = result.table.set_index("Set")
    assert set(table.index) == {s for s in names if rows[s][0] > 0}               # every set with a hit, no other
    for s, r in table.iterrows():
        k, K, p = rows[s]
        assert (r["Overlap"], r["Size"]) == (k, K)
        assert r["P"] == pytest.approx(p, rel=1e-12)
        assert r["Q"] == pytest.approx(q_hand[s], rel=1e-12)
        assert r["Expected"] == pytest.approx(n * K / N) and r["Fold"] == pytest.approx(k / (n * K / N))
        assert r["Genes"].split(", ") == [g for g in dict.fromkeys(genes) if g in set(sets[s])]
    assert list(result.table.columns) == COLUMNS
    assert (np.diff(result.table["P"]) >= 0).all()


def test_benjamini_hochberg_against_the_hand_version():
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(size=50), rng.uniform(0, 1e-3, size=10), [1.0, 1.0, 0.0]])
    np.testing.assert_allclose(benjamini_hochberg(p), bh_by_hand(list(p)), rtol=1e-12)
    assert benjamini_hochberg([]).size == 0
    with pytest.raises(ValueError, match="p values in \\[0, 1\\]"):
        benjamini_hochberg([0.5, 1.5])


def planted(n_genes=200, module=12, seed=0):
    rng = np.random.default_rng(seed)
    V = rng.normal(size=(n_genes, 8))
    V[:module] += 12 * np.eye(8)[0]                             # M0..M11 point one way
    genes = [f"M{i}" for i in range(module)] + [f"G{i}" for i in range(module, n_genes)]
    sets = {"module": genes[:module], **random_sets(rng, genes[module:], 30)}
    return GeneVectors(V, genes), sets


def test_a_planted_module_is_found_and_the_query_is_left_out_of_the_universe():
    gv, sets = planted()
    result = gv.enrich("M0", topn=11, gene_sets=sets, min_size=3)
    top = result.table.iloc[0]
    assert top["Set"] == "module" and top["Overlap"] == 11 and top["Size"] == 11     # M0 itself not counted
    rows, N, n = reference(result.genes, gv.genes, sets, 3, 500, exclude="M0")
    assert top["P"] == pytest.approx(rows["module"][2], rel=1e-12) and result.n_universe == N
    assert result.query == "M0" and result.genes == tuple(g for g, _ in gv.most_similar("M0", topn=11))
    assert result.summary().startswith("M0's 11 nearest genes are enriched in module (11 of 11, ")
    assert result.significant(0.05)["Set"].tolist()[0] == "module"
    # a random gene's neighbours: nothing survives BH
    quiet = gv.enrich("G150", topn=11, gene_sets=sets, min_size=3)
    assert quiet.significant(0.05).empty
    assert "are not enriched in any of the" in quiet.summary() and "custom sets tested (q <= 0.05)" in quiet.summary()


def test_the_collection_is_prepared_once_per_universe():
    gv, sets = planted()
    from genevec.genesets import load_gene_sets

    gs = load_gene_sets(sets)
    a = neighbour_enrichment(gv, "M0", 11, gs, min_size=3)
    b = neighbour_enrichment(gv, "M3", 11, gs, min_size=3)            # another query, same prepared membership
    annotated = {g for members in sets.values() for g in members}
    assert a.n_universe == len(annotated) - 1 and b.n_universe == len(annotated) - 1   # each leaves its query out
    assert b.table.iloc[0]["Set"] == "module"


def test_errors_name_the_problem():
    gv, sets = planted()
    with pytest.raises(GeneNotFoundError, match="'M00'.*Did you mean"):
        gv.enrich("M00", gene_sets=sets)
    with pytest.raises(ValueError, match="topn must be an int >= 1"):
        gv.enrich("M0", topn=0, gene_sets=sets)
    with pytest.raises(ValueError, match="min_size=9 is larger than max_size=3"):
        enrich(["A"], ["A", "B"], {"s": ["A", "B"]}, min_size=9, max_size=3)
    with pytest.raises(ValueError, match="none of the model's 200 genes is in a set of custom sets.*HGNC symbols"):
        gv.enrich("M0", gene_sets={"other": ["X", "Y"]})
    with pytest.raises(ValueError, match="min_size must be an int >= 1"):
        enrich(["A"], ["A"], {"s": ["A"]}, min_size=0)


def test_shipped_go_on_real_symbols():
    gv = GeneVectors(np.eye(6)[[0, 0, 0, 1, 2, 3]] + 0.01 * np.arange(6)[:, None],
                     ["EGFR", "ERBB2", "GRB2", "TP53", "MDM2", "ALB"])
    result = gv.enrich("EGFR", topn=2, gene_sets="go_bp", min_size=1)
    assert result.collection == "go_bp" and result.genes == ("ERBB2", "GRB2")
    assert not result.table["Name"].str.startswith("GO:").any()           # GO term names, not IDs
    assert "axonogenesis" in result.table["Name"].tolist()                # a one-word term name too
    assert "GO biological processes tested" in result.summary()
