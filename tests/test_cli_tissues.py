"""`genevec train --tissue all`, `compare`, `shifts` and `info FOLDER` on the embedded skin/bladder file."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pandas as pd
import pytest

from genevec.cli import main
from genevec.collection import load_tissues
from genevec.datasets import demo_paths

COUNTS, ATTRS = (str(p) for p in demo_paths())
SMALL = ["--min-samples", "5", "--top-genes", "300", "--splits", "2"]


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("genevec: error:")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli") / "tissues"
    assert main(["train", COUNTS, "--attributes", ATTRS, "--tissue", "all", *SMALL, "-q", "-o", str(folder)]) == 0
    return folder


def test_train_tissue_all_writes_a_collection_and_prints_a_summary(tmp_path, capsys):
    folder = tmp_path / "tissues"
    status = main(["train", COUNTS, "--attributes", ATTRS, "--tissue", "all", *SMALL, "-o", str(folder)])
    out, err = capsys.readouterr()
    assert status == 0
    assert sorted(p.name for p in folder.iterdir()) == ["bladder.txt", "bladder.txt.json", "manifest.json",
                                                          "skin.txt", "skin.txt.json"]
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["tissue", "samples", "genes", "file"]
    assert lines[1].split()[:4] == ["Skin", "20", "300", "skin.txt"]
    assert lines[2].split()[:4] == ["Bladder", "11", "300", "bladder.txt"]
    assert lines[-1] == f"{folder}/\t2 tissues"
    assert "[tissues] 1/2 Skin: 20 samples, 300 genes" in err and "[tissues] 2/2 Bladder" in err
    models = load_tissues(folder)
    assert models.settings["n_splits"] == 2 and models.settings["top_genes"] == 300


def test_default_min_samples_skips_the_small_tissues_and_says_so(tmp_path, capsys):
    folder = tmp_path / "tissues"
    assert main(["train", COUNTS, "--attributes", ATTRS, "--tissue", "all", "--min-samples", "15", "--top-genes",
                 "200", "--splits", "1", "-o", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert "skipped Bladder: 11 samples in the counts file, fewer than min_samples=15" in out
    assert "skipping 1 tissue(s) with fewer than 15 samples in the counts file: Bladder (11)" in err
    status = main(["train", COUNTS, "--attributes", ATTRS, "--tissue", "all", "--min-samples", "21", "-o",
                   str(tmp_path / "t2")])
    assert status == 2
    assert "No SMTS tissue has min_samples=21 samples" in one_error_line(capsys.readouterr().err)
    from genevec.cli import build_parser

    args = build_parser().parse_args(["train", COUNTS, "--attributes", ATTRS, "--tissue", "all", "-o", "x"])
    assert args.min_samples is None     # then DEFAULT_MIN_SAMPLES, the default of fit_tissues
    import inspect

    import genevec
    from genevec.cli_tissues import DEFAULT_MIN_SAMPLES

    assert inspect.signature(genevec.fit_tissues).parameters["min_samples"].default == DEFAULT_MIN_SAMPLES == 20


def test_level_smtsd(tmp_path, capsys):
    folder = tmp_path / "detailed"
    assert main(["train", COUNTS, "--attributes", ATTRS, "--tissue", "all", "--level", "SMTSD", "--min-samples",
                 "5", "--top-genes", "200", "--splits", "1", "-q", "-o", str(folder)]) == 0
    attrs = pd.read_csv(ATTRS, sep="\t", dtype=str)
    sizes = attrs["SMTSD"].value_counts()
    assert set(load_tissues(folder).tissues) == {t for t, n in sizes.items() if n >= 5}


def test_compare_prints_neighbours_side_by_side(collection, capsys):
    assert main(["compare", str(collection), "KRT14", "--topn", "4"]) == 0
    out = capsys.readouterr().out.splitlines()
    models = load_tissues(collection)
    assert out[0] == "nearest genes of KRT14 in each tissue (cosine)"
    assert out[1].split() == ["rank", "Skin", "Bladder"]
    skin = models["Skin"].most_similar("KRT14", topn=4)
    bladder = models["Bladder"].most_similar("KRT14", topn=4)
    for i, line in enumerate(out[2:6]):
        assert line.split() == [str(i + 1), skin[i][0], f"{skin[i][1]:.3f}", bladder[i][0], f"{bladder[i][1]:.3f}"]


def test_compare_tsv_and_chosen_tissues(collection, capsys):
    assert main(["compare", str(collection), "KRT14", "--topn", "3", "--tissues", "bladder", "--tsv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out), sep="\t")
    assert list(table.columns) == ["tissue", "rank", "gene", "cosine"]
    assert list(table["tissue"]) == ["Bladder"] * 3 and list(table["rank"]) == [1, 2, 3]


def test_shifts_prints_the_ranked_genes_and_a_summary_line(collection, capsys):
    assert main(["shifts", str(collection), "Skin", "Bladder", "--top", "5"]) == 0
    out, err = capsys.readouterr()
    full = load_tissues(collection).shifts("Skin", "Bladder", top=None)
    lines = out.splitlines()
    assert lines[0].split()[:8] == ["rank", "gene", "score", "q", "shifted", "jaccard", "expected", "cosine"]
    assert [line.split()[1] for line in lines[1:]] == list(full["gene"][:5])
    n_shifted = int(full["shifted"].sum())
    assert f"Skin vs Bladder: {n_shifted:,} of 300 shared genes changed their 10 nearest genes" in err
    assert main(["shifts", str(collection), "Skin", "Bladder", "--top", "300", "--tsv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out), sep="\t")
    assert list(table["gene"]) == list(full["gene"])
    assert list(table.columns[:3]) == ["rank", "gene", "score"] and "neighbours_b" in table.columns


def test_info_on_a_folder_describes_the_collection(collection, capsys):
    assert main(["info", str(collection)]) == 0
    out = capsys.readouterr().out
    assert "2 tissues at level SMTS, genes 'shared', reference 'Skin'" in out
    assert "2 split(s) for the shift null" in out and "Skin     20" in out


@pytest.mark.parametrize("argv, message", [
    (["train", COUNTS, "--tissue", "all", "-o", "x"], "--tissue all needs --attributes FILE"),
    (["train", COUNTS, "--attributes", ATTRS, "--tissue", "all", "--min-counts", "5", "--map", "-o", "x"],
     "--min-counts, --map cannot be used with --tissue all"),
    (["train", COUNTS, "--attributes", ATTRS, "--tissue", "all", "--level", "SMTSD", "--min-samples", "4",
      "--reference", "Liver", "-o", "x"], "the reference 'Liver' is not among the fitted tissues"),
    (["train", COUNTS, "--attributes", ATTRS, "--tissue", "all", "--min-samples", "2", "-o", "x"],
     "min_samples must be at least 4, got 2"),
    (["compare", "no/such/folder", "KRT14"], "does not exist"),
    (["shifts", "COLL", "Skin", "Skin"], "got 'Skin' twice"),
    (["shifts", "COLL", "Skin", "Lung"], "No tissue 'Lung' in this collection"),
    (["compare", "COLL", "NOPE1"], "'NOPE1' has no vector in any of Skin, Bladder"),
])
def test_errors_are_one_line(argv, message, collection, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [str(collection) if a == "COLL" else a for a in argv]
    assert main(argv) == 2
    assert message in one_error_line(capsys.readouterr().err)


def test_output_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "vectors.txt"
    f.write_text("x")
    assert main(["train", COUNTS, "--attributes", ATTRS, "--tissue", "all", "-o", str(f)]) == 2
    assert "-o names a folder for the collection" in one_error_line(capsys.readouterr().err)


def test_help_shows_the_collection_commands(capsys):
    for command in ("compare", "shifts"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "examples:" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--tissue all" in out and "--level {SMTS,SMTSD}" in out and "--splits N" in out


def test_a_real_process_trains_then_compares(tmp_path):
    env = dict(os.environ)
    env.pop("GENEVEC_DEBUG", None)
    run = subprocess.run([sys.executable, "-m", "genevec", "train", COUNTS, "--attributes", ATTRS, "--tissue",
                          "all", "--min-samples", "5", "--top-genes", "200", "--splits", "1", "-o",
                          str(tmp_path / "t")], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([sys.executable, "-m", "genevec", "compare", str(tmp_path / "t"), "KRT5", "--topn", "2"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[1].split() == ["rank", "Skin", "Bladder"]
