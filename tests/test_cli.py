"""The `genevec` command line: each subcommand through main() (capsys) and as a real process."""

from __future__ import annotations

import gzip
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import genevec
from genevec import cli
from genevec.cli import build_parser, format_table, main

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


@pytest.mark.parametrize("command", ["train", "similar", "analogy", "map", "app", "demo"])
def test_each_subcommand_has_help_with_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: genevec {command}")
    examples = out.split("examples:\n", 1)[1]
    assert f"genevec {command}" in examples


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
    path, genes, vectors = vectors_file
    assert main(["similar", str(path), "A0", "B1", "EGFR", "--topn", "3"]) == 0
    captured = capsys.readouterr()
    rows = parse_aligned(captured.out)
    assert rows[0] == ["gene", "n1", "n2", "n3"]
    for row in rows[1:]:
        expected, _ = brute_force_neighbors(genes, vectors, row[0], 3)
        assert row[1:] == expected, row
    assert [r[0] for r in rows[1:]] == ["A0", "B1", "EGFR"]
    assert captured.err == ""
    # planted structure: B1's neighbours are B genes
    assert all(g.startswith("B") for g in rows[2][1:])


def test_similar_tsv_in_a_process(vectors_file, tmp_path):
    path, genes, vectors = vectors_file
    proc = run_cli("similar", path, "TP53", "--tsv")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "gene\tn1\tn2\tn3\tn4\tn5"
    fields = lines[1].split("\t")
    expected, _ = brute_force_neighbors(genes, vectors, "TP53", 5)
    assert fields == ["TP53", *expected]


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
    assert calls == [([str(path), str(path)], {"host": "0.0.0.0", "port": 8123})]
    assert "http://0.0.0.0:8123" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_app_serves_in_a_process(vectors_file):
    path, _, _ = vectors_file
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "genevec", "app", str(path), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                    assert resp.status == 200
                    body = resp.read().decode("utf-8", "replace")
                    break
            except OSError:
                time.sleep(0.3)
        assert body is not None, f"the app did not answer on port {port}: {proc.poll()} {proc.stderr.read() if proc.poll() is not None else ''}"
        assert "<html" in body.lower()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert "Traceback" not in proc.stderr.read()


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


def test_train_interrupted_then_resumed_gives_the_same_bits(gct_file, tmp_path, monkeypatch, capsys):
    from genevec import glove

    gct, _, _ = gct_file
    common = ["--preset", "exp2vec", "--dim", "6", "--max-iter", "5", "--jobs", "1", "-q"]
    assert main(["train", str(gct), *common, "-o", str(tmp_path / "full.txt")]) == 0

    real_epoch, calls = glove.run_epoch, []

    def flaky_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(glove, "run_epoch", flaky_epoch)
    ckpt = tmp_path / "ckpt"
    part = tmp_path / "part.txt"
    capsys.readouterr()
    assert main(["train", str(gct), *common, "--checkpoint", str(ckpt), "-o", str(part)]) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == (
        f"genevec: training interrupted after epoch 2; no vectors written. Continue with the same command "
        f"and --resume (checkpoint in {ckpt}).")
    assert not part.exists()
    monkeypatch.setattr(glove, "run_epoch", real_epoch)
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
    assert len(genevec.load_vectors(out)) >= 290


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
    assert capsys.readouterr().out.splitlines()[0].split()[:2] == ["gene", "n1"]


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
