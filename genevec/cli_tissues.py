"""The command line of tissue collections: ``train --tissue all``, ``compare``, ``shifts``, ``info FOLDER``.

A collection is the folder :func:`genevec.fit_tissues` writes: one word2vec text file per tissue
and ``manifest.json``. These commands are wired into :func:`genevec.cli.build_parser`; they print
results on stdout and progress on stderr like every other ``genevec`` command.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Any, TextIO

from .cli import EXIT_OK, _add_command, _CliError, _model, _positive_float, _positive_int, _say, format_table

__all__ = ["is_collection_run", "add_tissue_options", "add_collection_commands", "train_collection",
           "print_collection_info", "DEFAULT_MIN_SAMPLES"]

#: ``--min-samples`` of ``train --tissue all``: tissues with fewer samples are skipped.
DEFAULT_MIN_SAMPLES = 20


def is_collection_run(args: argparse.Namespace) -> bool:
    """``train --tissue all``: one model per tissue into a collection folder."""
    return args.tissue is not None and args.tissue.strip().casefold() == "all"


def add_tissue_options(p: argparse.ArgumentParser) -> None:
    """The options of ``train --tissue all``."""
    g = p.add_argument_group(
        "every tissue in one run (--tissue all; -o names a folder; --min-samples N then skips tissues with fewer "
        f"than N samples, default {DEFAULT_MIN_SAMPLES})")
    g.add_argument("--level", choices=("SMTS", "SMTSD"), default="SMTS",
                   help="tissues by the broad (SMTS, e.g. Skin) or detailed (SMTSD, e.g. 'Skin - Sun Exposed "
                        "(Lower leg)') column of the attributes (default: %(default)s)")
    g.add_argument("--genes", choices=("shared", "union"), default="shared",
                   help="shared: the genes expressed in every tissue, so every gene compares everywhere; union: "
                        "each tissue its own expressed genes (default: %(default)s)")
    g.add_argument("--min-reads", type=_positive_int, default=10, metavar="N",
                   help="a gene is expressed in a tissue with N reads or more in --min-fraction of its samples "
                        "(default: %(default)s)")
    g.add_argument("--min-fraction", type=_fraction, default=0.5, metavar="F",
                   help="the share of a tissue's samples that need --min-reads (default: %(default)s)")
    g.add_argument("--reference", metavar="TISSUE",
                   help="the tissue every other one is rotated onto (default: the one with most samples)")
    g.add_argument("--splits", type=_positive_int, default=2, metavar="N",
                   help="random halvings of each tissue's samples, each half fitted (2N fits): the noise that "
                        "shift scores are measured against (default: %(default)s)")


def _fraction(text: str) -> float:
    value = _positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1], got {text}")
    return value


def train_collection(args: argparse.Namespace, out: TextIO) -> int:
    """``genevec train COUNTS --attributes A --tissue all -o FOLDER``."""
    from .tissue_fit import fit_tissues

    unused = [flag for flag, value in (
        ("--min-counts", args.min_counts), ("--checkpoint", args.checkpoint), ("--resume", args.resume),
        ("--map", args.map), ("--stability", args.stability), ("--genes-as", args.genes_as),
        ("--layer", args.layer), ("--allow-non-integer", args.allow_non_integer),
        ("--no-evaluate", not args.evaluate)) if value]
    if unused:
        raise _CliError(
            f"{', '.join(unused)} cannot be used with --tissue all (every tissue of a GCT file into a collection "
            "folder): genes are chosen per tissue by --min-reads/--min-fraction, a killed run resumes when the same "
            "command is run again, and the app computes each tissue's map. Drop "
            f"{'it' if len(unused) == 1 else 'them'}, or train one tissue with --tissue NAME.")
    if args.attributes is None:
        raise _CliError("--tissue all needs --attributes FILE (GTEx SampleAttributesDS): it says which tissue "
                        "each sample belongs to.")
    folder = Path(args.output)
    if folder.exists() and not folder.is_dir():
        raise _CliError(f"with --tissue all, -o names a folder for the collection, and {str(folder)!r} is a file. "
                        "Give a folder name, e.g. -o tissues/.")
    parent = folder.parent if str(folder.parent) else Path(".")
    if not parent.is_dir():
        raise _CliError(f"cannot write the collection {str(folder)!r}: the folder {str(parent)!r} does not exist. "
                        f"Create it first (mkdir -p {parent}).")
    model = _model(args, verbose=0)
    models = fit_tissues(
        args.counts, args.attributes, tissues="all", level=args.level,
        min_samples=DEFAULT_MIN_SAMPLES if args.min_samples is None else args.min_samples, estimator=model,
        genes=args.genes, n_jobs=args.jobs, min_reads=args.min_reads, min_fraction=args.min_fraction,
        top_genes=args.top_genes, reference=args.reference, n_splits=args.splits, random_state=args.seed,
        output=folder, gene_names=args.gene_names, verbose=0 if args.quiet else 1)
    _print_summary(models, out)
    print(f"\n{folder}{'' if str(folder).endswith('/') else '/'}\t{len(models)} tissues", file=out)
    return EXIT_OK


def _print_summary(models, out: TextIO) -> None:
    """One row per tissue: samples, genes, file, GO precision beside Pearson and random, split-half stability."""
    summary = models.summary()
    rows = []
    for t, r in summary.iterrows():
        rows.append([t, int(r["samples"]), int(r["genes"]), models[t].metadata["tissue"].get("file", ""),
                     float(r["go_precision"]), float(r["go_pearson"]), float(r["go_random"]),
                     float(r["stability"]), float(r["aligned_cosine"])])
    header = ["tissue", "samples", "genes", "file", "GO p@10", "Pearson", "random", "split-half J", "aligned cos"]
    out.write(format_table(rows, header))
    for s in models.skipped:
        print(f"skipped {s['tissue']}: {s['reason']}", file=out)


def _load(folder: str):
    from .collection import load_tissues

    return load_tissues(folder)


def _cmd_compare(args: argparse.Namespace, out: TextIO) -> int:
    models = _load(args.collection)
    table = models.compare(args.gene, topn=args.topn, tissues=args.tissues)
    tissues = list(dict.fromkeys(table.columns.get_level_values(0)))
    for t, why in table.attrs["absent"].items():
        _say(f"{args.gene} has no vector in {t}: {why}")
    if args.tsv:
        rows = [[t, rank, table.loc[rank, (t, "gene")], float(table.loc[rank, (t, "cosine")])]
                for t in tissues for rank in table.index if table.loc[rank, (t, "gene")]]
        out.write(format_table(rows, ["tissue", "rank", "gene", "cosine"], tsv=True))
        return EXIT_OK
    rows = [[rank] + [(f"{table.loc[rank, (t, 'gene')]} {table.loc[rank, (t, 'cosine')]:.3f}"
                       if table.loc[rank, (t, "gene")] else "") for t in tissues] for rank in table.index]
    print(f"nearest genes of {args.gene} in each tissue (cosine)", file=out)
    out.write(format_table(rows, ["rank"] + tissues))
    return EXIT_OK


def _cmd_shifts(args: argparse.Namespace, out: TextIO) -> int:
    models = _load(args.collection)
    table = models.shifts(args.tissue_a, args.tissue_b, top=args.top, alpha=args.alpha, n_jobs=args.jobs)
    a, b = table.attrs["tissues"]
    n_genes = len(models.shifts(a, b, top=None, alpha=args.alpha))
    _say(f"{a} vs {b}: {table.attrs['n_shifted']:,} of {n_genes:,} shared genes changed their {models.k} nearest "
         f"genes beyond split-half noise (Benjamini-Hochberg q < {args.alpha:g}); the {len(table)} most shifted "
         "follow")
    columns = ["gene", "score", "q_value", "shifted", "jaccard", "expected_jaccard", "cosine",
               "stability_a", "stability_b", "neighbours_a", "neighbours_b"]
    header = ["rank", "gene", "score", "q", "shifted", "jaccard", "expected", "cosine", f"stab {a}", f"stab {b}",
              f"neighbours in {a}", f"neighbours in {b}"]
    rows = []
    for rank, r in enumerate(table[columns].itertuples(index=False), 1):
        row = [rank, r.gene, float(r.score), float(r.q_value), "yes" if r.shifted else "no", float(r.jaccard),
               float(r.expected_jaccard), float(r.cosine), float(r.stability_a), float(r.stability_b),
               r.neighbours_a, r.neighbours_b]
        if not args.tsv:
            row[-2:] = [_first(r.neighbours_a, 4), _first(r.neighbours_b, 4)]
        rows.append(row)
    if args.tsv:
        header = ["rank"] + columns
    out.write(format_table(rows, header, tsv=args.tsv))
    return EXIT_OK


def _first(listed: str, n: int) -> str:
    genes = listed.split(", ")
    return ", ".join(genes[:n]) + (", ..." if len(genes) > n else "")


def print_collection_info(folder: str, out: TextIO) -> int:
    """``genevec info FOLDER``: the collection's settings, tissues and skipped tissues."""
    models = _load(folder)
    s = models.settings
    print(f"{folder}: {len(models)} tissues at level {s.get('level')}, genes {s.get('genes')!r}, reference "
          f"{s.get('reference')!r}", file=out)
    params = s.get("params") or {}
    print(textwrap.fill(
        f"fitted with {s.get('estimator')}({', '.join(f'{k}={v!r}' for k, v in sorted(params.items()))}), "
        f"expressed {s.get('expression')}, {s.get('n_splits')} split(s) for the shift null, k={s.get('k')}, "
        f"seed {s.get('random_state')}", width=100), file=out)
    print("", file=out)
    _print_summary(models, out)
    return EXIT_OK


def add_collection_commands(sub: Any) -> None:
    """The ``compare`` and ``shifts`` subcommands."""
    from .cli import _jobs

    p = _add_command(sub, "compare", _cmd_compare, """
        one gene's nearest genes in every tissue of a collection, side by side

        Print GENE's nearest genes in each tissue of a collection (the folder written by genevec train COUNTS
        --attributes A --tissue all -o FOLDER), side by side. Each tissue's list is its own model's: aligning the
        tissues never changes it. A tissue without the gene is named on stderr with the reason.

        examples:
            genevec compare tissues/ KRT14
            genevec compare tissues/ MYH11 --tissues Skin Bladder --topn 20
            genevec compare tissues/ MYH11 --tsv > myh11.tsv      # a row per tissue and neighbour
        """)
    p.add_argument("collection", metavar="FOLDER", help="a tissue collection (holds manifest.json)")
    p.add_argument("gene", metavar="GENE", help="the gene (symbol, case-sensitive)")
    p.add_argument("--tissues", nargs="+", metavar="TISSUE", help="these tissues only (default: all)")
    p.add_argument("--topn", type=_positive_int, default=10, help="neighbours per tissue (default: %(default)s)")
    p.add_argument("--tsv", action="store_true", help="tab-separated, a row per tissue and neighbour")

    p = _add_command(sub, "shifts", _cmd_shifts, """
        the genes whose nearest genes change most between two tissues

        Rank the genes of two tissues of a collection by how much their nearest genes change, against the noise of
        each tissue (how much a gene's neighbours agree between fits of two random halves of the tissue's samples).
        score is -log10 of the chance that noise alone leaves an overlap as small as the one seen; shifted says the
        Benjamini-Hochberg q value is below --alpha. jaccard is the overlap of the two neighbour lists, expected its
        value under noise alone, cosine that of the gene's aligned vectors.

        examples:
            genevec shifts tissues/ Skin Bladder
            genevec shifts tissues/ Skin Bladder --top 200 --tsv > skin_vs_bladder.tsv
        """)
    p.add_argument("collection", metavar="FOLDER", help="a tissue collection (holds manifest.json)")
    p.add_argument("tissue_a", metavar="TISSUE_A")
    p.add_argument("tissue_b", metavar="TISSUE_B")
    p.add_argument("--top", type=_positive_int, default=50, help="genes to print (default: %(default)s)")
    p.add_argument("--alpha", type=_fraction, default=0.05, help="q value below which a gene is shifted "
                                                                  "(default: %(default)s)")
    p.add_argument("--tsv", action="store_true", help="tab-separated, with every neighbour")
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N", help="threads (default: all cores)")

