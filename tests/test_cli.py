"""The `genevec` command line: each subcommand through main() (capsys) and as a real process.

Over 500 lines because it mirrors genevec/cli.py (eleven subcommands, each with its options, outputs and
errors); the tissue-collection commands are in test_cli_tissues.py.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import genevec
from genevec import cli
from genevec.cli import build_parser, format_table, main
from genevec.cost import training_cost

REPO = Path(__file__).resolve().parents[1]
ERROR_LINE = re.compile(r"^genevec: error: .+$")


def run_cli(*args, cwd=None, timeout=240, env=None):
    """Run `python -m genevec ARGS` in a fresh process; return the CompletedProcess."""
    full_env = dict(os.environ, **(env or {}))
    full_env.pop("GENEVEC_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "genevec", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=full_env)


def one_error_line(stderr: str) -> str:
    """The single `genevec: error:` line of stderr (no traceback around it)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    errors = [line for line in lines if line.startswith("genevec: error:")]
    assert len(errors) == 1, f"expected one error line, got:\n{stderr}"
    assert ERROR_LINE.match(errors[0])
    return errors[0]


# ------------------------------------------------------------------------------ fixtures


def planted_vectors(seed=0, per_group=6, dim=8):
    """Two well-separated groups of genes (A*, B*) plus the study's query genes in group A."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(2, dim)) * 5
    genes, rows = [], []
    for g, name in enumerate("AB"):
        for k in range(per_group):
            genes.append(f"{name}{k}")
            rows.append(centers[g] + rng.normal(scale=0.3, size=dim))
    for gene in ("EGFR", "TP53", "BRCA1", "BRCA2"):
        genes.append(gene)
        rows.append(centers[0] + rng.normal(scale=0.3, size=dim))
    return genes, np.asarray(rows, dtype=np.float64)


def write_word2vec(path: Path, genes, vectors):
    lines = [f"{len(genes)} {vectors.shape[1]}"]
    lines += [gene + " " + " ".join(repr(float(v)) for v in row) for gene, row in zip(genes, vectors)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def vectors_file(tmp_path):
    genes, vectors = planted_vectors()
    return write_word2vec(tmp_path / "vectors.txt", genes, vectors), genes, vectors


def brute_force_neighbors(genes, vectors, query, topn, exclude=()):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    q = unit[genes.index(query)]
    cos = unit @ q
    order = [i for i in np.argsort(-cos, kind="stable") if genes[i] != query and genes[i] not in exclude]
    return [genes[i] for i in order[:topn]], cos


@pytest.fixture
def gct_file(tmp_path):
    """A tiny GCT 1.2 (genes x samples) with two co-expressed modules and an attributes file."""
    from _reference import planted_modules

    counts = planted_modules(n_samples=24, genes_per_module=10, seed=1)  # samples x genes
    n_samples, n_genes = counts.shape
    lines = ["#1.2", f"{n_genes}\t{n_samples}", "Name\tDescription\t" + "\t".join(counts.index)]
    for k, gene in enumerate(counts.columns):
        lines.append(f"ENSG{k:011d}.1\t{gene}\t" + "\t".join(str(int(v)) for v in counts[gene]))
    path = tmp_path / "counts.gct.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    attrs = tmp_path / "attributes.txt"
    tissue = ["Pancreas" if i % 3 else "Liver" for i in range(n_samples)]
    pd.DataFrame({"SAMPID": counts.index, "SMTS": tissue, "SMTSD": tissue}).to_csv(attrs, sep="\t", index=False)
    return path, attrs, counts


# ------------------------------------------------------------------------------ parser, help, version


def test_version_and_help_in_a_process():
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"genevec {genevec.__version__}"
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in ("train", "similar", "analogy", "map", "app", "demo"):
        assert re.search(rf"^\s+{command}\s", proc.stdout, re.M), f"{command} missing from --help"


def _subcommands(parser):
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


COMMANDS = sorted(_subcommands(build_parser()).choices)


def test_every_command_is_listed_with_its_help_line():
    assert {"train", "similar", "analogy", "map", "app", "demo", "compare", "shifts"} <= set(COMMANDS)
    lines = {c.dest: c.help for c in _subcommands(build_parser())._choices_actions}
    assert sorted(lines) == COMMANDS
    for command, line in lines.items():           # one line of its own, not the paragraph or the examples
        assert line and "\n" not in line and "examples:" not in line and len(line) < 80, command


@pytest.mark.parametrize("command", COMMANDS)
def test_each_subcommand_has_help_with_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: genevec {command}")
    description = out.split("\n\n", 2)[1]         # the paragraph between the usage and the arguments
    assert len(description) > 40 and not description.startswith(("positional", "options", "examples"))
    assert all(len(line) <= 88 for line in description.splitlines())
    examples = out.split("examples:\n", 1)[1]
    assert f"genevec {command}" in examples and all(line.startswith("  ") for line in examples.splitlines() if line)


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: genevec" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["demo", "--jobs", "0"], r"argument --jobs: 0 is not a number of threads; use -1 for all cores"),
    (["similar", "v.txt", "EGFR", "--topn", "0"], r"argument --topn: expected a whole number >= 1, got 0"),
    (["train", "c.gct", "-o", "v.txt", "--learning-rate", "-1"], r"argument --learning-rate: expected a finite"),
    (["train", "c.gct"], r"the following arguments are required: -o/--output"),
    (["analogy", "v.txt", "A", "B", "C", "--mode", "cosmul"], r"argument --mode: invalid choice: 'cosmul'"),
])
def test_usage_errors_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_parser_defaults_are_the_package_defaults_and_the_preset_the_study():
    args = build_parser().parse_args(["train", "counts.gct", "-o", "v.txt"])
    assert args.seed == 0 and args.jobs is None and args.gene_names == "symbol" and args.checkpoint_every == 1
    model = cli._model(args, verbose=0)
    defaults = genevec.GeneGloVe().get_params()
    assert {k: v for k, v in model.get_params().items() if k not in ("random_state", "n_jobs")} == \
        {k: v for k, v in defaults.items() if k not in ("random_state", "n_jobs")}
    assert model.random_state == 0
    study = cli._model(build_parser().parse_args(["train", "c.gct", "-o", "v.txt", "--preset", "exp2vec"]), verbose=0)
    p = study.get_params()
    assert (p["dim"], p["max_iter"], p["x_max"], p["learning_rate"], p["solver"], p["init"], p["eigen_power"]) == (
        100, 50, 100.0, 0.05, "sgd", "random", None)
    mixed = cli._model(build_parser().parse_args(["train", "c.gct", "-o", "v.txt", "--preset", "exp2vec", "--dim",
                                                   "8", "--eigen-power", "0"]), verbose=0)
    assert (mixed.dim, mixed.eigen_power, mixed.solver) == (8, 0.0, "sgd")
    assert cli._model(build_parser().parse_args(["train", "c", "-o", "v", "--eigen-power", "none"]),
                      verbose=0).eigen_power is None
    args = build_parser().parse_args(["demo"])
    assert args.genes == cli.DEMO_N_GENES and args.output == "genevec_demo_vectors.txt" and args.max_iter is None


def test_format_table_aligns_and_tsv():
    text = format_table([("EGFR", 0.5), ("A_LONG_NAME", -0.25)], ["gene", "similarity"])
    lines = text.splitlines()
    assert lines == ["gene         similarity", "EGFR             0.5000", "A_LONG_NAME     -0.2500"]
    assert format_table([("A", "B")], ["x", "y"], tsv=True) == "x\ty\nA\tB\n"


# ------------------------------------------------------------------------------ errors


def test_missing_vectors_file_is_one_line(tmp_path, capsys):
    assert main(["similar", str(tmp_path / "nope.txt"), "EGFR"]) == 2
    err = capsys.readouterr().err
    line = one_error_line(err)
    assert re.fullmatch(r"genevec: error: vectors file .*nope\.txt does not exist \(working directory: .*\)\. "
                        r"Vectors files are written by: genevec train COUNTS -o VECTORS\.", line)


def test_train_checks_before_working(tmp_path, capsys):
    counts = tmp_path / "c.gct"
    counts.write_text("#1.2\n")
    assert main(["train", str(counts), "--tissue", "Pancreas", "-o", str(tmp_path / "v.txt")]) == 2
    assert one_error_line(capsys.readouterr().err) == (
        "genevec: error: --tissue needs --attributes: select a tissue with both, e.g. "
        "--attributes GTEx_SampleAttributesDS.txt --tissue Pancreas.")
    assert main(["train", str(counts), "--resume", "-o", str(tmp_path / "v.txt")]) == 2
    assert "--resume needs --checkpoint DIR" in one_error_line(capsys.readouterr().err)
    assert main(["train", str(counts), "-o", str(tmp_path / "no" / "dir" / "v.txt")]) == 2
    assert re.search(r"the folder '.*no/dir' does not exist\. Create it first \(mkdir -p .*no/dir\)\.",
                     one_error_line(capsys.readouterr().err))
    assert main(["train", str(tmp_path / "missing.gct"), "-o", str(tmp_path / "v.txt")]) == 2
    assert "counts file" in one_error_line(capsys.readouterr().err)
    assert main(["train", str(counts), "-o", str(tmp_path)]) == 2
    assert "is a folder; give a file name" in one_error_line(capsys.readouterr().err)


def test_library_errors_become_one_line(monkeypatch, capsys):
    from genevec.exceptions import GeneNotFoundError

    def boom(args, out):
        raise GeneNotFoundError("'egfr' is not among the 10 genes of this model. Did you mean 'EGFR'?")

    monkeypatch.setattr(cli, "_cmd_similar", boom)
    assert main(["similar", "v.txt", "egfr"]) == 2
    assert capsys.readouterr().err == (
        "genevec: error: 'egfr' is not among the 10 genes of this model. Did you mean 'EGFR'?\n")

    monkeypatch.setattr(cli, "_cmd_similar", lambda a, o: {}["KRAS"])  # a plain KeyError
    assert main(["similar", "v.txt", "KRAS"]) == 2
    assert capsys.readouterr().err == "genevec: error: KRAS\n"


def test_debug_env_shows_the_traceback(monkeypatch):
    monkeypatch.setenv("GENEVEC_DEBUG", "1")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        main(["similar", "no-such-file.txt", "EGFR"])


def test_keyboard_interrupt_exits_130(monkeypatch, capsys):
    def interrupted(args, out):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_analogy", interrupted)
    assert main(["analogy", "v.txt", "A", "B", "C"]) == 130
    assert capsys.readouterr().err == "genevec: interrupted\n"


def test_warnings_print_as_one_line(monkeypatch, capsys):
    import warnings

    from genevec.exceptions import DataWarning

    def warns(args, out):
        warnings.warn("counts.gct: the dims line says 5 genes, found 4.", DataWarning, stacklevel=2)
        return 0

    monkeypatch.setattr(cli, "_cmd_similar", warns)
    assert main(["similar", "v.txt", "A"]) == 0
    assert capsys.readouterr().err == "genevec: warning: counts.gct: the dims line says 5 genes, found 4.\n"


# ------------------------------------------------------------------------------ similar / analogy


def parse_aligned(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_similar_matches_brute_force(vectors_file, capsys):
    """One row per neighbour: query, rank, gene, similarity (the cosine) and the gene's full name."""
    path, genes, vectors = vectors_file
    assert main(["similar", str(path), "A0", "B1", "EGFR", "--topn", "3"]) == 0
    captured = capsys.readouterr()
    rows = parse_aligned(captured.out)
    assert rows[0] == ["query", "rank", "gene", "similarity", "name"]
    assert [r[0] for r in rows[1:]] == ["A0"] * 3 + ["B1"] * 3 + ["EGFR"] * 3
    for query in ("A0", "B1", "EGFR"):
        expected, cos = brute_force_neighbors(genes, vectors, query, 3)
        mine = [r for r in rows[1:] if r[0] == query]
        assert [r[1] for r in mine] == ["1", "2", "3"] and [r[2] for r in mine] == expected
        assert [float(r[3]) for r in mine] == pytest.approx([cos[genes.index(g)] for g in expected], abs=5e-5)
    assert captured.err == ""
    assert all(r[2].startswith("B") for r in rows[4:7])          # planted structure: B1's neighbours are B genes
    # a named gene gets its NCBI name
    assert main(["similar", str(path), "A0", "--topn", "20"]) == 0
    out = capsys.readouterr().out
    assert "EGFR" in out and "epidermal growth factor receptor" in out
    # --wide: the blog's table
    assert main(["similar", str(path), "A0", "B1", "--topn", "3", "--wide"]) == 0
    wide = parse_aligned(capsys.readouterr().out)
    assert wide[0] == ["gene", "n1", "n2", "n3"] and wide[2][1:] == brute_force_neighbors(genes, vectors, "B1", 3)[0]


def test_similar_tsv_in_a_process(vectors_file, tmp_path):
    path, genes, vectors = vectors_file
    proc = run_cli("similar", path, "TP53", "--tsv")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(io.StringIO(proc.stdout), sep="\t", keep_default_na=False)
    assert list(table.columns) == ["query", "rank", "gene", "similarity", "name"]
    expected, cos = brute_force_neighbors(genes, vectors, "TP53", 5)
    assert table["gene"].tolist() == expected and table["rank"].tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(table["similarity"], [cos[genes.index(g)] for g in expected], atol=5e-5)
    assert (table["query"] == "TP53").all()
    assert table.set_index("gene").loc["EGFR", "name"] == "epidermal growth factor receptor"


def test_similar_topn_beyond_the_model_lists_all_and_says_so(vectors_file, capsys):
    path, genes, _ = vectors_file
    assert main(["similar", str(path), "A0", "--topn", "100000", "--tsv"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1 + len(genes) - 1                 # a row per gene, never one wide line
    assert max(len(line) for line in captured.out.splitlines()) < 120
    assert captured.err == (f"genevec: --topn 100000 is more than the {len(genes) - 1} other genes of vectors.txt; "
                            f"listing all {len(genes) - 1}\n")


def test_similar_with_support_prints_it(tmp_path, capsys):
    import scipy.sparse as sp

    from genevec.stability import NeighbourSupport

    genes, vectors = planted_vectors()
    gv = genevec.GeneVectors(vectors, genes)
    index = {g: i for i, g in enumerate(genes)}
    top = gv.neighbor_table("A0", topn=2)["Gene"].tolist()
    support = NeighbourSupport(genes, sp.csr_matrix(([0.9, 0.4], ([0, 0], [index[g] for g in top])),
                                                    shape=(len(genes), len(genes))), 4, 2, "bootstrap")
    gv.with_support(support).save(tmp_path / "v.txt")
    assert main(["similar", str(tmp_path / "v.txt"), "A0", "--topn", "2", "--tsv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out), sep="\t", keep_default_na=False)
    assert list(table.columns) == ["query", "rank", "gene", "similarity", "support", "name"]
    assert table["gene"].tolist() == top and table["support"].tolist() == [0.9, 0.4]


def test_similar_enrich_prints_the_sets_of_the_neighbours(tmp_path, capsys):
    genes, vectors = planted_vectors(per_group=30)
    sets = tmp_path / "sets.gmt"
    sets.write_text("AGROUP\tthe A genes\t" + "\t".join(g for g in genes if g.startswith("A")) + "\n"
                    "BGROUP\tthe B genes\t" + "\t".join(g for g in genes if g.startswith("B")) + "\n")
    path = write_word2vec(tmp_path / "v.txt", genes, vectors)
    assert main(["similar", str(path), "A0", "--topn", "2", "--enrich", "--enrich-topn", "20",
                 "--gene-sets", str(sets)]) == 0
    out = capsys.readouterr().out
    result = genevec.load_vectors(path).enrich("A0", topn=20, gene_sets=str(sets))
    assert result.summary() in out and out.index("A0's 20 nearest genes are enriched in the A genes (") > 0
    assert re.search(r"AGROUP\s+the A genes\s+\d+/\d+\s+", out)
    # --tsv --enrich: the enrichment table, one row per query and set
    assert main(["similar", str(path), "A0", "B0", "--enrich", "--enrich-topn", "20", "--gene-sets", str(sets),
                 "--tsv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out), sep="\t")
    assert list(table.columns) == ["query", "set", "name", "overlap", "size", "expected", "fold", "p", "q", "genes"]
    assert table.groupby("query")["set"].first().to_dict() == {"A0": "AGROUP", "B0": "BGROUP"}
    np.testing.assert_allclose(table.loc[table["query"] == "A0", "p"], result.table["P"], rtol=1e-2)


def test_similar_into_a_closed_pipe_is_quiet(vectors_file):
    path, genes, _ = vectors_file
    proc = subprocess.Popen([sys.executable, "-m", "genevec", "similar", str(path), *genes, "--topn", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # like `| head -0`: the reader is gone before the table is written
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, err
    assert err == ""


def test_similar_unknown_gene_suggests(vectors_file, capsys):
    path, _, _ = vectors_file
    assert main(["similar", str(path), "egfr"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "'egfr'" in line and "Did you mean 'EGFR'?" in line


def test_analogy_gensim_mode_matches_brute_force(vectors_file, capsys):
    path, genes, vectors = vectors_file
    assert main(["analogy", str(path), "BRCA1", "BRCA2", "B0", "--topn", "4"]) == 0
    rows = parse_aligned(capsys.readouterr().out)
    assert rows[0] == ["rank", "gene", "similarity"]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    idx = {g: i for i, g in enumerate(genes)}
    target = unit[idx["BRCA1"]] - unit[idx["BRCA2"]] + unit[idx["B0"]]
    cos = unit @ (target / np.linalg.norm(target))
    order = [genes[i] for i in np.argsort(-cos) if genes[i] not in ("BRCA1", "BRCA2", "B0")][:4]
    assert [r[1] for r in rows[1:]] == order
    assert [int(r[0]) for r in rows[1:]] == [1, 2, 3, 4]
    np.testing.assert_allclose([float(r[2]) for r in rows[1:]], [cos[idx[g]] for g in order], atol=1e-4)


def test_analogy_original_mode_keeps_inputs(vectors_file):
    path, genes, vectors = vectors_file
    proc = run_cli("analogy", path, "A1", "B1", "B2", "--mode", "original", "--topn", "20", "--tsv")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(__import__("io").StringIO(proc.stdout), sep="\t")
    assert list(table.columns) == ["rank", "gene", "similarity"]
    idx = {g: i for i, g in enumerate(genes)}
    target = vectors[idx["A1"]] - vectors[idx["B1"]] + vectors[idx["B2"]]
    cos = (vectors @ target) / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(target))
    assert {"A1", "B2"} <= set(table["gene"])  # inputs are kept
    np.testing.assert_allclose(table["similarity"], [cos[idx[g]] for g in table["gene"]], atol=1e-4)
    assert list(table["gene"]) == [genes[i] for i in np.argsort(-cos)][: len(table)]


# ------------------------------------------------------------------------------ map


def test_map_writes_png_and_tsv(vectors_file, tmp_path, capsys):
    path, genes, _ = vectors_file
    png = tmp_path / "out" / "map.png"
    png.parent.mkdir()
    assert main(["map", str(path), "-o", str(png), "--clusters", "2", "--perplexity", "4",
                 "--jobs", "1", "--highlight", "EGFR", "B3"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [str(png), str(png.with_suffix(".tsv"))]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    coords = pd.read_csv(png.with_suffix(".tsv"), sep="\t")
    assert list(coords.columns) == ["gene", "x", "y", "cluster"]
    assert sorted(coords["gene"]) == sorted(genes)
    cluster = dict(zip(coords["gene"], coords["cluster"]))
    assert len({cluster[f"A{k}"] for k in range(6)} | {cluster["EGFR"]}) == 1
    assert len({cluster[f"B{k}"] for k in range(6)}) == 1 and cluster["B0"] != cluster["A0"]


def test_map_refuses_a_tsv_image_name(vectors_file, tmp_path, capsys):
    path, _, _ = vectors_file
    assert main(["map", str(path), "-o", str(tmp_path / "map.tsv")]) == 2
    assert "ends in .tsv, the name of the coordinates file" in one_error_line(capsys.readouterr().err)


def test_map_unknown_highlight_gene(vectors_file, tmp_path, capsys):
    path, _, _ = vectors_file
    assert main(["map", str(path), "-o", str(tmp_path / "m.png"), "--highlight", "KRAS"]) == 2
    assert "'KRAS'" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "m.png").exists()


def test_map_in_a_process(vectors_file, tmp_path):
    path, _, _ = vectors_file
    proc = run_cli("map", path, "-o", tmp_path / "m.png", "--clusters", "3", "--perplexity", "4", "--seed", "1",
                   "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "m.png").exists() and (tmp_path / "m.tsv").exists()


# ------------------------------------------------------------------------------ app


def test_app_passes_its_options(vectors_file, monkeypatch, capsys):
    import genevec.app

    path, _, _ = vectors_file
    calls = []
    monkeypatch.setattr(genevec.app, "run_app", lambda paths, **kw: calls.append((paths, kw)))
    assert main(["app", str(path), str(path), "--host", "0.0.0.0", "--port", "8123"]) == 0
    assert calls == [([str(path), str(path)], {"host": "0.0.0.0", "port": 8123, "gene_sets": ["go_bp", "reactome"]})]
    assert main(["app", str(path), "--gene-sets", "mine.gmt"]) == 0
    assert calls[-1][1]["gene_sets"] == ["mine.gmt"]
    assert "http://0.0.0.0:8123" in capsys.readouterr().err


def test_app_serves_in_a_process(vectors_file, tmp_path):
    from _app_load import serve  # benchmarks/, on sys.path through conftest.py

    path, _, _ = vectors_file
    with serve([path], tmp_path / "app.log", argv=lambda port: [sys.executable, "-m", "genevec", "app", str(path),
                                                                "--port", str(port)],
               stop=signal.SIGINT) as server:                     # stopped as Ctrl-C stops it
        with urllib.request.urlopen(f"{server.url}/", timeout=60) as resp:
            assert resp.status == 200
            assert "<html" in resp.read().decode("utf-8", "replace").lower()
    assert "Traceback" not in server.log_text()


def test_app_missing_file(tmp_path, capsys):
    assert main(["app", str(tmp_path / "v.txt")]) == 2
    assert "v.txt does not exist" in one_error_line(capsys.readouterr().err)


# ------------------------------------------------------------------------------ train


def module_purity(vectors_path: Path, topn=3) -> float:
    vectors = genevec.load_vectors(vectors_path)
    table = vectors.neighbors(list(vectors.genes), topn=topn)
    same = [n.split("_")[0] == g.split("_")[0] for g, row in table.iterrows() for n in row]
    return float(np.mean(same))


def test_train_tissue_and_filter(gct_file, tmp_path, capsys):
    gct, attrs, counts = gct_file
    out = tmp_path / "v.txt"
    rc = main(["train", str(gct), "--attributes", str(attrs), "--tissue", "pancreas", "--min-samples", "1",
               "--preset", "exp2vec", "--dim", "8", "--max-iter", "200", "--jobs", "1", "--seed", "3", "-o", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert captured.out == f"{out}\t20 genes x 8 dimensions\n"
    assert "read 16 samples x 20 genes" in captured.err
    assert "kept 20 of 20 genes (min_samples=1)" in captured.err
    assert re.search(r"epoch 200/200\s+loss", captured.err)
    vectors = genevec.load_vectors(out)
    assert sorted(vectors.genes) == sorted(counts.columns) and vectors.dim == 8
    assert module_purity(out) >= 0.9


def test_train_is_the_same_for_any_jobs_in_a_process(gct_file, tmp_path):
    gct, _, _ = gct_file
    outs = []
    for jobs in (1, 2):
        out = tmp_path / f"v{jobs}.txt"
        proc = run_cli("train", gct, "--dim", "6", "--max-iter", "4", "--jobs", jobs, "-q", "-o", out)
        assert proc.returncode == 0, proc.stderr
        assert "epoch" not in proc.stderr  # -q
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_train_interrupted_then_resumed_gives_the_same_bits(gct_file, tmp_path, ctrl_c_in_epoch, capsys):
    gct, _, _ = gct_file
    common = ["--preset", "exp2vec", "--dim", "6", "--max-iter", "5", "--jobs", "1", "-q"]
    assert main(["train", str(gct), *common, "-o", str(tmp_path / "full.txt")]) == 0

    disarm = ctrl_c_in_epoch(3)
    ckpt = tmp_path / "ckpt"
    part = tmp_path / "part.txt"
    capsys.readouterr()
    assert main(["train", str(gct), *common, "--checkpoint", str(ckpt), "-o", str(part)]) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == (
        f"genevec: training interrupted after epoch 2; no vectors written. Continue with the same command "
        f"and --resume (checkpoint in {ckpt}).")
    assert not part.exists()
    disarm()
    assert main(["train", str(gct), *common, "--checkpoint", str(ckpt), "--resume", "-o", str(part)]) == 0
    assert part.read_bytes() == (tmp_path / "full.txt").read_bytes()


def test_train_bad_counts_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.gct"
    bad.write_text("not a gct\n")
    proc = run_cli("train", bad, "-o", tmp_path / "v.txt")
    assert proc.returncode == 2
    assert "bad.gct" in one_error_line(proc.stderr)
    assert not (tmp_path / "v.txt").exists()


def test_train_unknown_tissue(gct_file, tmp_path, capsys):
    gct, attrs, _ = gct_file
    assert main(["train", str(gct), "--attributes", str(attrs), "--tissue", "Pancrea", "-o",
                 str(tmp_path / "v.txt")]) == 2
    assert "Pancreas" in one_error_line(capsys.readouterr().err)


# ------------------------------------------------------------------------------ demo


def test_demo_small_in_a_process(tmp_path):
    out = tmp_path / "demo.txt"
    proc = run_cli("demo", "--genes", "300", "--preset", "exp2vec", "--max-iter", "3", "--jobs", "2", "-o", out,
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"epoch 3/3\s+loss", proc.stderr)
    text = proc.stdout
    assert text.startswith("Nearest genes (cosine similarity of GloVe vectors):\n")
    rows = parse_aligned(text.split("\n\n")[0])[1:]
    assert rows[0] == ["gene", "n1", "n2", "n3", "n4", "n5"]
    assert [r[0] for r in rows[1:]] == list(cli.DEMO_GENES)
    assert "Analogy BRCA1 - BRCA2 + TP53 (BRCA1 is to BRCA2 as ? is to TP53):" in text
    analogy = parse_aligned(text.split("\n\n")[1])[1:]
    assert analogy[0] == ["rank", "gene", "similarity"] and len(analogy) == 6
    assert not {"BRCA1", "BRCA2", "TP53"} & {r[1] for r in analogy[1:]}
    assert f"Vectors written to {out}" in text
    saved = genevec.load_vectors(out)
    assert len(saved) >= 290
    # the final loss line says which loss it is, and both losses are in the JSON, each matching its line
    final = re.search(r"done: 3 epoch\(s\), exact loss of the final vectors (\S+) \(epoch lines show each epoch's "
                      r"running loss\)", proc.stderr)
    last_epoch = re.findall(r"epoch 3/3  loss (\S+)", proc.stderr)
    assert final and last_epoch
    assert float(final.group(1)) == pytest.approx(saved.metadata["loss"], rel=1e-5)
    assert float(last_epoch[0]) == pytest.approx(saved.metadata["final_epoch_loss"], rel=1e-3)
    assert re.search(r"epoch 1/3  loss \S+  [\d.]+ s  \(about \d+ (s|min) left\)", proc.stderr)
    record = saved.metadata["provenance"]
    assert record["counts_file"] == "gtex_v6_skin_bladder_gene_reads.gct.gz" and record["filters"] == {"top_genes": 300}
    assert record["tissues"]["Bladder"] == 11 and record["genes_in_input"] == 36652


def test_demo_prints_the_model_neighbours(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--genes", "200", "--max-iter", "2", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    vectors = genevec.load_vectors(tmp_path / cli.DEMO_OUTPUT)
    expected = vectors.neighbors(list(cli.DEMO_GENES), topn=5)
    rows = parse_aligned(out.split("\n\n")[0])[2:]
    for row in rows:
        assert row[1:] == list(expected.loc[row[0]])


def test_demo_ctrl_c_in_a_process(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "genevec", "demo", "--genes", "1500", "--preset", "exp2vec",
                             "--jobs", "1", "-o",
                             str(tmp_path / "d.txt")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if "epoch 1/" in line:
                proc.send_signal(signal.SIGINT)
                break
        rest_err = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, "".join(seen) + rest_err
    assert "Traceback" not in rest_err
    last = rest_err.strip().splitlines()[-1]
    # Ctrl-C inside an epoch: the estimator stops cleanly; between epochs: a plain interruption.
    assert last.startswith("genevec: training interrupted after epoch") or last == "genevec: interrupted", last
    assert not (tmp_path / "d.txt").exists()


def test_train_reads_a_table_with_stated_orientation(gct_file, tmp_path, capsys):
    _, _, counts = gct_file
    table = tmp_path / "counts.tsv"
    counts.T.to_csv(table, sep="\t", index_label="gene")  # a row per gene
    out = tmp_path / "v.txt"
    assert main(["train", str(table), "-o", str(out)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "orientation must be stated" in line
    assert line.endswith("On the command line: --genes-as rows or --genes-as columns.")
    assert main(["train", str(table), "--genes-as", "rows", "--dim", "4", "--max-iter", "2", "-q",
                 "--jobs", "1", "-o", str(out)]) == 0
    assert sorted(genevec.load_vectors(out).genes) == sorted(counts.columns)


# ------------------------------------------------------------------------------ quality: evaluate, stability


@pytest.fixture
def demo_gct(tmp_path):
    """The embedded demo counts as a file, 400 genes: real symbols, so GO sets apply."""
    counts = genevec.datasets.load_demo(n_genes=400)
    path = tmp_path / "demo.tsv"
    counts.to_csv(path, sep="\t")
    return path, counts


def test_train_stores_the_quality_report_and_evaluate_prints_it(demo_gct, tmp_path, capsys):
    path, counts = demo_gct
    out = tmp_path / "v.txt"
    assert main(["train", str(path), "--genes-as", "columns", "--dim", "16", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert re.search(r"genevec: quality: GO biological processes: a gene's 10 nearest genes share a GO biological "
                     r"process with it \d+% of the time \(random \d+%, Pearson correlation \d+%\)", err)
    report = genevec.QualityReport.from_dict(genevec.load_vectors(out).metadata["quality"])
    assert report.table.loc[("go_bp", "vectors"), "n_genes"] == 400
    assert main(["evaluate", str(out), "--counts", str(path), "--genes-as", "columns", "--gene-sets", "go_bp",
                 "reactome"]) == 0
    text = capsys.readouterr().out
    rows = parse_aligned(text.split("\n\n")[0])
    assert rows[0] == ["collection", "method", "precision@10", "random", "auroc", "genes", "annotated", "sets"]
    assert [r[:2] for r in rows[1:]] == [["go_bp", "vectors"], ["go_bp", "pearson"], ["reactome", "vectors"],
                                         ["reactome", "pearson"]]
    assert float(rows[1][2]) == pytest.approx(report.table.loc[("go_bp", "vectors"), "precision"], abs=5e-5)
    assert "Reactome pathways: a gene's 10 nearest genes" in text
    assert main(["evaluate", str(out), "--tsv", "--k", "5"]) == 0
    tsv = capsys.readouterr().out.splitlines()
    assert tsv[0].split("\t")[2] == "precision@5" and len(tsv) == 2


def test_train_without_symbols_says_why_there_is_no_report(gct_file, tmp_path, capsys):
    gct, _, _ = gct_file
    out = tmp_path / "v.txt"
    assert main(["train", str(gct), "--dim", "4", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "genevec: quality not evaluated: evaluate: only 0 of the 20 genes are in any go_bp set" in err
    assert "quality" not in genevec.load_vectors(out).metadata
    assert main(["train", str(gct), "--dim", "4", "--no-evaluate", "-o", str(out)]) == 0
    assert "quality" not in capsys.readouterr().err


def test_train_with_stability_stores_support(gct_file, tmp_path, capsys):
    gct, _, _ = gct_file
    out = tmp_path / "v.txt"
    assert main(["train", str(gct), "--dim", "4", "--no-evaluate", "--stability", "3", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "[stability] fit 3/3" in err and "genevec: stability: 3 fits on bootstrap resamples" in err
    vectors = genevec.load_vectors(out)
    assert vectors.support.n_fits == 3 and vectors.support.k == 10
    assert main(["similar", str(out), "M1_0", "--topn", "3"]) == 0
    rows = parse_aligned(capsys.readouterr().out)
    assert rows[0] == ["query", "rank", "gene", "similarity", "support", "name"]
    want = vectors.neighbor_table("M1_0", topn=3)
    assert [r[2] for r in rows[1:]] == want["Gene"].tolist()
    assert [float(r[4]) for r in rows[1:]] == pytest.approx(want["Support"].tolist(), abs=5e-5)


def test_stability_command_writes_the_table_and_consensus(gct_file, tmp_path, capsys):
    gct, _, counts = gct_file
    table, consensus = tmp_path / "stab.tsv", tmp_path / "consensus.txt"
    assert main(["stability", str(gct), "--n-resamples", "3", "--k", "4", "--dim", "4", "-q", "-o", str(table),
                 "--consensus", str(consensus)]) == 0
    assert capsys.readouterr().out.splitlines() == [str(table), str(consensus)]
    frame = pd.read_csv(table, sep="\t", index_col=0)
    assert list(frame.columns[:3]) == ["jaccard", "n1", "support1"] and len(frame) == counts.shape[1]
    assert frame["jaccard"].between(0, 1).all()
    cv = genevec.load_vectors(consensus)
    assert cv.support.n_fits == 3 and cv.metadata["consensus_of"] == 3
    with pytest.raises(SystemExit) as exit_info:
        main(["stability", str(gct), "--n-resamples", "1", "-o", str(table)])
    assert exit_info.value.code == 2 and "expected a whole number >= 2, got 1" in capsys.readouterr().err
    assert main(["stability", str(gct), "-o", str(tmp_path / "no" / "t.tsv")]) == 2
    assert "the folder" in one_error_line(capsys.readouterr().err)


def test_demo_ends_with_a_verdict(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--genes", "500", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    verdict = out.split("How good are these neighbours?")[1]
    match = re.search(r"share a GO biological process with it (\d+)% of the time \(random (\d+)%, Pearson "
                      r"correlation (\d+)%\)", verdict)
    assert match and int(match.group(1)) > int(match.group(2)) + 5  # clearly better than random
    assert "quality" in genevec.load_vectors(tmp_path / cli.DEMO_OUTPUT).metadata


# ------------------------------------------------------------------------------ issue 15: a CLI a person reads

SKIN = ("gtex_v6_skin_bladder", "gtex_v6_skin_bladder_gene_reads.gct.gz")
SKIN_ATTRS = ("gtex_v6_skin_bladder", "gtex_v6_skin_bladder_sample_attributes.txt")


def test_train_says_which_detailed_tissues_a_tissue_holds_and_records_them(tmp_path, capsys):
    from conftest import shared_file

    out = tmp_path / "skin.txt"
    assert main(["train", str(shared_file(*SKIN)), "--attributes", str(shared_file(*SKIN_ATTRS)), "--tissue", "Skin",
                 "--top-genes", "300", "--dim", "8", "--no-evaluate", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert ("genevec: tissue 'Skin': 20 samples, of the detailed tissues (SMTSD) Cells - Transformed fibroblasts 13, "
            "Skin - Not Sun Exposed (Suprapubic) 5, Skin - Sun Exposed (Lower leg) 2\n") in err
    assert ("genevec: note: 13 of these 20 samples are cultured cells (Cells - Transformed fibroblasts), not tissue; "
            "to leave them out, name a detailed tissue, e.g. --tissue 'Skin - Not Sun Exposed (Suprapubic)'\n") in err
    assert "genevec: kept 300 of 36,652 genes (top_genes=300)\n" in err
    meta = genevec.load_vectors(out).metadata
    rec = meta["provenance"]
    assert rec["counts_file"] == SKIN[1] and "/" not in rec["counts_file"]          # the file's name, not its folder
    assert rec["attributes_file"] == SKIN_ATTRS[1] and rec["tissue"] == "Skin" and rec["n_samples"] == 20
    assert rec["tissues"] == {"Cells - Transformed fibroblasts": 13, "Skin - Not Sun Exposed (Suprapubic)": 5,
                              "Skin - Sun Exposed (Lower leg)": 2}
    assert rec["genes_in_input"] == 36652 and rec["genes_kept"] == 300 and rec["filters"] == {"top_genes": 300}
    dropped = rec["dropped_by_filters"].split()
    assert len(dropped) == 36652 - 300 and set(dropped).isdisjoint(genevec.load_vectors(out).genes)
    assert rec["seed"] == 0 and rec["genevec_version"] == genevec.__version__
    # a detailed tissue is said plainly, without a note
    assert main(["train", str(shared_file(*SKIN)), "--attributes", str(shared_file(*SKIN_ATTRS)), "--tissue",
                 "bladder", "--top-genes", "300", "--dim", "8", "--no-evaluate", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "genevec: tissue 'bladder': 11 samples\n" in err and "note:" not in err


def test_info_shows_the_training_record(tmp_path, capsys):
    from conftest import shared_file

    out = tmp_path / "skin.txt"
    assert main(["train", str(shared_file(*SKIN)), "--attributes", str(shared_file(*SKIN_ATTRS)), "--tissue", "Skin",
                 "--top-genes", "300", "--dim", "8", "-q", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("skin.txt: 300 genes x 8 dimensions (float32)\n")
    for line in ("  Trained on         gtex_v6_skin_bladder_gene_reads.gct.gz",
                 "  Tissue             Skin: 20 samples (Cells - Transformed fibroblasts 13, Skin - Not Sun Exposed "
                 "(Suprapubic) 5, Skin - Sun Exposed (Lower leg) 2)",
                 "  Gene filters       top_genes=300", "  Genes              300 kept of 36,652 (dropped: 36,352 by the "
                 "filters)", "  Seed               0"):
        assert line + "\n" in text, line
    assert re.search(r"  vector length \(dim\)\s+8\n", text) and "learning rate" not in text      # svd: no SGD knobs
    assert "Quality (genevec evaluate, stored at training)\n  GO biological processes: a gene's 10" in text
    assert "  - Few samples (20):" in text and "  - Cultured cells: 13 of the 20 samples" in text
    assert str(tmp_path) not in text                                                      # no server folders
    assert "Map: not computed yet: genevec train --map computes it at training" in text
    # vectors with no record say so
    genevec.GeneVectors(np.eye(3), ["A", "B", "C"]).save(tmp_path / "bare.txt")
    assert main(["info", str(tmp_path / "bare.txt")]) == 0
    text = capsys.readouterr().out
    assert "Training record\n  Training record  none: these vectors were not trained with genevec train" in text
    assert "  - No training record: nothing is known of the samples behind these vectors." in text


def test_train_prints_the_estimate_before_training_and_suggests_top_genes_when_long(demo_gct, tmp_path, capsys,
                                                                                     monkeypatch):
    import genevec.cost as cost

    path, counts = demo_gct
    out = tmp_path / "v.txt"
    assert main(["train", str(path), "--genes-as", "columns", "--dim", "8", "--no-evaluate", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    est = training_cost(genevec.GeneGloVe(dim=8), *counts.shape)
    line = re.search(r"genevec: training 400 genes x 31 samples \(solver svd, dim 8\): about (\d+) s and (\S+ \S+) "
                     r"\(estimated from genevec's benchmark speeds; your machine may differ\)\n", err)
    assert line and line.group(0)[len("genevec: training "):].startswith(str(est)[:30])
    assert err.index("genevec: training 400 genes") < err.index("[GeneGloVe] co-occurrence")   # before the work
    assert "long run" not in err
    # a run longer than the limit: the message names --top-genes with a number that fits
    model = genevec.GeneGloVe.exp2vec(dim=8, max_iter=1)
    monkeypatch.setattr(cost, "LONG_RUN_SECONDS", training_cost(model, 31, 400).seconds / 3)
    assert main(["train", str(path), "--genes-as", "columns", "--dim", "8", "--no-evaluate", "--preset", "exp2vec",
                 "--max-iter", "1", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    top = cost.affordable_genes(model, 31, max_bytes=None)
    assert 100 < top < 400 and training_cost(model, 31, top).seconds <= cost.LONG_RUN_SECONDS
    match = re.search(r"genevec: that is a long run \(about \d+ s\): --top-genes (\d+) keeps the ([\d,]+) most "
                      r"expressed genes, as genevec demo does, and would take about \d+ s\n", err)
    assert match and int(match.group(1)) == top and match.group(2) == f"{top:,}"
    assert err.index("long run") < err.index("epoch 1/1")


def test_top_genes_keeps_the_most_expressed(demo_gct, tmp_path, capsys):
    path, counts = demo_gct
    out = tmp_path / "v.txt"
    assert main(["train", str(path), "--genes-as", "columns", "--dim", "4", "--no-evaluate", "--top-genes", "50",
                 "-o", str(out)]) == 0
    totals = counts.sum(axis=0)
    want = set(sorted(counts.columns, key=lambda g: (-totals[g], list(counts.columns).index(g)))[:50])
    assert set(genevec.load_vectors(out).genes) == want


def test_attributes_that_are_a_gct_get_a_message_that_says_so(gct_file, tmp_path, capsys):
    gct, _, _ = gct_file
    assert main(["train", str(gct), "--attributes", str(gct), "--tissue", "Pancreas", "-o",
                 str(tmp_path / "v.txt")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "counts.gct.gz looks like a GCT count file (line 1 is '#1.2'), not a sample attributes table" in line
    assert "genevec train counts.gct.gz --attributes SampleAttributesDS.txt --tissue Pancreas" in line


class _MapComputed(Exception):
    """Raised by a stand-in for genevec.maps.gene_map: not among the errors main() turns into messages."""


def test_map_checks_the_image_format_before_the_work(vectors_file, tmp_path, capsys, monkeypatch):
    import genevec.maps

    def boom(*a, **k):
        raise _MapComputed("the t-SNE ran before the output name was checked")

    monkeypatch.setattr(genevec.maps, "gene_map", boom)      # where `genevec map` looks it up
    path, _, _ = vectors_file
    for name, got in (("map.jpg2", "the extension .jpg2"), ("map", "no extension")):
        assert main(["map", str(path), "-o", str(tmp_path / name)]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert f"map.{'jpg2' if got != 'no extension' else ''}".rstrip(".") in line
        assert f"has {got}, which is not an image format matplotlib writes; end the name in one of ." in line
        assert ".png" in line and "e.g. map.png" in line
    assert main(["map", str(path), "-o", str(tmp_path / "nope" / "map.png")]) == 2
    assert "does not exist. Create it first" in one_error_line(capsys.readouterr().err)
    with pytest.raises(_MapComputed):                # the stand-in is the one called: the checks above mean something
        main(["map", str(path), "-o", str(tmp_path / "map.png")])


def test_maps_are_computed_and_read_without_the_drawing_module(vectors_file):
    """genevec.gene_map/cluster_genes/read_gene_map and `genevec info` come from genevec.maps; plot only draws."""
    path, _, _ = vectors_file
    code = ("import sys, genevec, genevec.cli\n"
            "genevec.gene_map, genevec.cluster_genes, genevec.read_gene_map\n"
            f"assert genevec.cli.main(['info', {str(path)!r}]) == 0\n"
            "print('genevec.plot imported:', 'genevec.plot' in sys.modules, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[-1] == "genevec.plot imported: False"


def test_train_map_caches_the_app_map_and_checks_its_path_first(gct_file, tmp_path, capsys):
    from genevec.maps import map_cache_path, model_map, read_gene_map

    gct, _, _ = gct_file
    out = tmp_path / "v.txt"
    os.mkdir(map_cache_path(out))                     # a folder where the map file must go
    assert main(["train", str(gct), "--dim", "4", "--no-evaluate", "--map", "-o", str(out)]) == 2
    assert "v.txt.map.tsv' is a folder" in one_error_line(capsys.readouterr().err) and not out.exists()
    os.rmdir(map_cache_path(out))
    assert main(["train", str(gct), "--dim", "4", "--no-evaluate", "--map", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"{out}\t20 genes x 4 dimensions", map_cache_path(out)]
    assert re.search(r"genevec: mapped 20 genes in [\d.]+ s \(t-SNE \+ k-means\); the app reads .*v.txt.map.tsv",
                     captured.err)
    cached = read_gene_map(map_cache_path(out))
    pd.testing.assert_frame_equal(cached, model_map(genevec.load_vectors(out)), check_exact=False, atol=1e-4)
    assert os.stat(map_cache_path(out)).st_mtime_ns >= os.stat(out).st_mtime_ns       # fresh for the app


def _cli_commands_in_messages():
    """Every `genevec CMD --flag ...` in a string of the package that is not a docstring.

    A line break inside a paragraph (a command's help text, a message) does not end a command; a blank
    line or a next line that starts a command of its own (an example) does.
    """
    import ast

    pattern = re.compile(r"\bgenevec ([a-z][a-z-]*)([^`'\"\n;]*)")
    wrapped = re.compile(r"\n[ \t]*(?!genevec )(?=\S)")
    found = []
    for path in sorted((REPO / "genevec").rglob("*.py")):
        tree = ast.parse(path.read_text())
        docs = {id(node.body[0].value) for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body
                and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                found += [(f"{path.name}:{node.lineno}", m.group(1), re.findall(r"(?<![\w-])--[a-z][a-z-]*", m.group(2)))
                          for m in pattern.finditer(wrapped.sub(" ", node.value))]
    return found


def test_every_message_names_a_real_command_and_real_options():
    sub = _subcommands(build_parser())
    nouns = {"sidecar", "explorer"}                    # "a genevec sidecar", "genevec explorer": not commands
    found = _cli_commands_in_messages()
    assert len(found) > 20 and any(cmd == "info" for _, cmd, _ in found)
    for where, cmd, flags in found:
        if cmd in nouns:
            continue
        assert cmd in sub.choices, f"{where}: 'genevec {cmd}' is not a command"
        options = {o for a in sub.choices[cmd]._actions for o in a.option_strings}
        for flag in flags:
            assert flag in options, f"{where}: 'genevec {cmd} {flag}': no such option"


def test_long_run_messages_for_memory_and_for_a_small_input(gct_file, demo_gct, tmp_path, capsys, monkeypatch):
    import genevec._validation as validation
    import genevec.cost as cost

    path, _ = demo_gct
    out = tmp_path / "v.txt"
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 2_000_000)   # for the CLI's estimate only
    assert main(["train", str(path), "--genes-as", "columns", "--dim", "8", "--no-evaluate", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert re.search(r"genevec: that is a long run \(more memory than this machine has free\): --top-genes (\d+) "
                     r"keeps the [\d,]+ most expressed genes, as genevec demo does, and would take about \d+ s\n", err)
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: None)
    monkeypatch.setattr(cost, "LONG_RUN_SECONDS", 1e-9)                          # even 100 genes are "long"
    gct, _, _ = gct_file                                                         # 20 genes: nothing smaller to suggest
    assert main(["train", str(gct), "--dim", "4", "--no-evaluate", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert re.search(r"genevec: that is a long run \(about 1 s\); Ctrl-C stops it, and --top-genes N keeps only the N "
                     r"most expressed genes\n", err)
