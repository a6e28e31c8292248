"""The ``genevec`` command line: results on stdout, diagnostics on stderr.

Subcommands::

    genevec train COUNTS -o VECTORS      learn gene vectors from a count file
    genevec train GCT --attributes A --tissue all -o FOLDER
                                         one model per tissue, aligned, in a collection folder
    genevec compare FOLDER GENE          a gene's nearest genes in every tissue, side by side
    genevec shifts FOLDER A B            the genes whose neighbours change most between two tissues
    genevec similar VECTORS GENE...      the nearest genes of each query gene, with scores and names
    genevec info VECTORS                 where the vectors came from, their parameters and quality
    genevec analogy VECTORS A B C        A - B + C ("A is to B as ? is to C")
    genevec map VECTORS -o map.png       t-SNE map with k-means clusters (+ map.tsv)
    genevec app VECTORS...               the interactive explorer in a browser
    genevec demo                         the whole study on the embedded GTEx demo data

A user error (a genevec error, a missing file, an unknown gene, a bad parameter) prints one line
``genevec: error: <message>`` on stderr and exits with status 2; Ctrl-C prints one line and exits
with 130. Set ``GENEVEC_DEBUG=1`` to see the full traceback instead.

Over ~500 lines for a reason: each command's argparse parser (whose help text is the reference
rendered in docs/cli.rst) sits beside the handler that reads it; the tissue-collection commands
live in :mod:`genevec.cli_tissues`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ._version import __version__

__all__ = ["main", "build_parser", "format_table", "DEMO_GENES", "DEMO_ANALOGY", "DEMO_N_GENES"]

log = logging.getLogger(__name__)

#: The study's query genes (the exp2vec blog's neighbours table).
DEMO_GENES = ("EGFR", "TP53", "PTEN", "KRAS")
#: The study's analogy: BRCA1 - BRCA2 + TP53.
DEMO_ANALOGY = ("BRCA1", "BRCA2", "TP53")
#: Genes kept by ``genevec demo`` by default, so that the run takes well under 3 minutes on 2 cores.
DEMO_N_GENES = 3000
#: Where ``genevec demo`` writes the vectors unless told otherwise.
DEMO_OUTPUT = "genevec_demo_vectors.txt"

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _CliError(Exception):
    """A user error detected by the command line itself (printed as one line, exit status 2)."""


# ---------------------------------------------------------------------------------------- output


def format_table(rows: Sequence[Sequence[Any]], header: Sequence[str], *, tsv: bool = False) -> str:
    """Format rows as aligned text columns (or TSV), with a header line.

    Numbers (floats) are written with 4 decimals and right-aligned; text is left-aligned.

    Parameters
    ----------
    rows : sequence of sequences
        The table body, one sequence of cells per row.
    header : sequence of str
        Column names.
    tsv : bool, default=False
        Tab-separated values (no padding) instead of aligned columns.

    Returns
    -------
    str
        The table, one line per row, ending with a newline.

    Examples
    --------
    >>> from genevec.cli import format_table
    >>> print(format_table([("EGFR", 0.91234), ("ERBB2", 0.5)], ["gene", "similarity"]), end="")
    gene   similarity
    EGFR       0.9123
    ERBB2      0.5000
    >>> format_table([("EGFR", 0.5)], ["gene", "similarity"], tsv=True)
    'gene\\tsimilarity\\nEGFR\\t0.5000\\n'
    """

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4f}"
        return str(v)

    body = [[cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(row[k], float) for row in rows) and len(rows) > 0 for k in range(len(header))]
    if tsv:
        lines = ["\t".join(header)] + ["\t".join(r) for r in body]
        return "\n".join(lines) + "\n"
    widths = [max([len(h)] + [len(r[k]) for r in body]) for k, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header)] + [line(r) for r in body]) + "\n"


def _neighbors_rows(table) -> tuple[list[list[Any]], list[str]]:
    """Rows and header of a ``GeneVectors.neighbors`` DataFrame (index = query gene, columns n1..nk)."""
    header = [str(table.index.name or "gene")] + [str(c) for c in table.columns]
    rows = [[str(gene)] + [str(v) for v in values] for gene, values in zip(table.index, table.to_numpy())]
    return rows, header


def _print_neighbors(vectors, genes: Sequence[str], topn: int, tsv: bool, out: TextIO) -> None:
    table = vectors.neighbors(list(genes), topn=topn)
    rows, header = _neighbors_rows(table)
    out.write(format_table(rows, header, tsv=tsv))


def _similar_rows(vectors, genes: Sequence[str], topn: int) -> tuple[list[list[Any]], list[str]]:
    """One row per (query, neighbour): query, rank, gene, similarity, [support,] name."""
    from .names import gene_names

    names = gene_names()
    support = vectors.support is not None
    rows = []
    for query in genes:
        table = vectors.neighbor_table(query, topn=topn)
        for rank, r in enumerate(table.itertuples(index=False), 1):
            row = [query, rank, r.Gene, float(r.Similarity)]
            if support:
                row.append(float(r.Support))
            rows.append(row + [names.get(r.Gene, "")])
    return rows, ["query", "rank", "gene", "similarity"] + ["support"] * support + ["name"]


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def _print_enrichment(vectors, genes: Sequence[str], args: argparse.Namespace, out: TextIO) -> None:
    """``--enrich``: per query, a sentence and the sets with q <= --max-q (TSV: every set with a hit)."""
    header = ["query", "set", "name", "overlap", "size", "expected", "fold", "p", "q", "genes"]
    tsv_rows = []
    for query in genes:
        result = vectors.enrich(query, topn=args.enrich_topn, gene_sets=args.gene_sets)
        table = result.table
        if args.tsv:
            tsv_rows += [[query, r.Set, r.Name, int(r.Overlap), int(r.Size), float(r.Expected), float(r.Fold),
                          f"{r.P:.3g}", f"{r.Q:.3g}", r.Genes] for r in table.itertuples(index=False)]
            continue
        print(f"\n{result.summary(args.max_q)}", file=out)
        hits = result.significant(args.max_q).head(10)
        if hits.empty and not table.empty:
            print("Smallest p values (not significant after the Benjamini-Hochberg correction):", file=out)
            hits = table.head(5)
        if not hits.empty:
            rows = [[r.Set, _short(r.Name, 50), f"{r.Overlap}/{result.n_listed}", int(r.Size), f"{r.P:.2g}",
                     f"{r.Q:.2g}", _short(r.Genes, 50)] for r in hits.itertuples(index=False)]
            out.write(format_table(rows, ["set", "name", "overlap", "size", "p", "q", "genes"]))
    if args.tsv:
        out.write(format_table(tsv_rows, header, tsv=True))


def _print_analogy(vectors, a: str, b: str, c: str, topn: int, mode: str, tsv: bool, out: TextIO) -> None:
    result = vectors.analogy(a, b, c, topn=topn, mode=mode)
    rows = [(k + 1, str(gene), float(score)) for k, (gene, score) in enumerate(result)]
    out.write(format_table(rows, ["rank", "gene", "similarity"], tsv=tsv))


def _say(message: str) -> None:
    """A diagnostic line on stderr."""
    print(f"genevec: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------- checks


def _int_at_least(lowest: int):
    """An argparse type: a whole number >= ``lowest``, with a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {lowest}, got {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {lowest}, got {value}")
        return value

    parse.__name__ = f"int >= {lowest}"  # argparse names the type in its own messages
    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of threads (-1 for all cores, -2 for all but one), got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("0 is not a number of threads; use -1 for all cores or N >= 1")
    return value


def _existing_file(path: str, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        hint = " Vectors files are written by: genevec train COUNTS -o VECTORS." if what == "vectors file" else ""
        raise FileNotFoundError(f"{what} {path!s} does not exist (working directory: {os.getcwd()}).{hint}")
    if p.is_dir():
        raise _CliError(f"{what} {path!s} is a folder; give the path of a file.")
    return p


def _writable_target(path: str | os.PathLike, what: str) -> Path:
    """Fail before minutes of work when the output cannot be written."""
    p = Path(path)
    if p.is_dir():
        raise _CliError(f"{what} {str(p)!r} is a folder; give a file name, e.g. {str(p / 'vectors.txt')!r}.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise _CliError(f"cannot write {what} {str(p)!r}: the folder {str(parent)!r} does not exist. "
                        f"Create it first (mkdir -p {parent}).")
    if not os.access(parent, os.W_OK):
        raise _CliError(f"cannot write {what} {str(p)!r}: the folder {str(parent)!r} is not writable.")
    return p


# ---------------------------------------------------------------------------------------- commands


def _load_vectors(path: str):
    _existing_file(path, "vectors file")
    from .similarity import load_vectors

    return load_vectors(path)


def _read_input(args: argparse.Namespace):
    """The counts of ``train`` and ``stability``: read, tissue-selected, gene-filtered, with progress lines."""
    import genevec

    if (args.attributes is None) != (args.tissue is None):
        given, missing = ("--attributes", "--tissue") if args.tissue is None else ("--tissue", "--attributes")
        raise _CliError(f"{given} needs {missing}: select a tissue with both, e.g. "
                        "--attributes GTEx_SampleAttributesDS.txt --tissue Pancreas.")
    _existing_file(args.counts, "counts file")
    attrs = None
    if args.attributes is not None:
        _existing_file(args.attributes, "attributes file")
        attrs = genevec.read_attributes(args.attributes)
    t0 = time.perf_counter()
    try:
        counts = genevec.read_counts(args.counts, attributes=attrs, tissue=args.tissue,
                                     gene_names=args.gene_names, genes_as=args.genes_as, layer=args.layer,
                                     allow_non_integer=args.allow_non_integer)
    except ValueError as exc:
        if "genes_as" in str(exc) and args.genes_as is None:  # name the flag, not the Python argument
            raise _CliError(f"{_error_message(exc)} On the command line: --genes-as rows or --genes-as columns.") from exc
        raise
    if not args.quiet:
        _say(f"read {counts.shape[0]:,} samples x {counts.shape[1]:,} genes from {args.counts} "
             f"in {time.perf_counter() - t0:.1f} s")
    info: dict[str, Any] = {"counts_file": args.counts, "genes_in_input": int(counts.shape[1])}
    if attrs is not None:
        from .io.samples import detailed_tissues

        tissues = detailed_tissues(attrs, counts.index)
        info.update(attributes_file=args.attributes, tissue=args.tissue, tissues=tissues)
        if not args.quiet:
            _say_tissues(args.tissue, tissues)
    limits = {k: v for k, v in (("min_samples", args.min_samples), ("min_counts", args.min_counts),
                                ("top_n", args.top_genes)) if v is not None}
    info["filters"] = {("top_genes" if k == "top_n" else k): v for k, v in limits.items()}
    if limits:
        before = counts.columns
        counts = genevec.filter_genes(counts, **limits)
        info["filtered_out"] = [str(g) for g in before.difference(counts.columns, sort=False)]
        if not args.quiet:
            _say(f"kept {counts.shape[1]:,} of {len(before):,} genes "
                 f"({', '.join(f'{k}={v}' for k, v in info['filters'].items())})")
    return counts, info


def _say_tissues(tissue: str, tissues: dict[str, int]) -> None:
    """The detailed tissues behind ``--tissue``, and a note when cultured cells are among them."""
    n = sum(tissues.values())
    detail = ", ".join(f"{t} {c}" for t, c in tissues.items())
    if list(tissues) == [tissue] or len(tissues) == 1 and next(iter(tissues)).casefold() == tissue.casefold():
        _say(f"tissue {tissue!r}: {n:,} samples")
        return
    _say(f"tissue {tissue!r}: {n:,} samples, of the detailed tissues (SMTSD) {detail}")
    cells = {t: c for t, c in tissues.items() if t.startswith("Cells -")}
    if cells:
        other = [t for t in tissues if t not in cells]
        fix = (f"; to leave them out, name a detailed tissue, e.g. --tissue '{other[0]}'" if other else "")
        _say(f"note: {sum(cells.values()):,} of these {n:,} samples are cultured cells "
             f"({', '.join(cells)}), not tissue{fix}")


#: Model options of the command line and the GeneGloVe parameter each sets (None: not given).
_MODEL_OPTIONS = {"dim": "dim", "solver": "solver", "eigen_power": "eigen_power", "init": "init",
                  "max_iter": "max_iter", "x_max": "x_max", "learning_rate": "learning_rate"}


def _model(args: argparse.Namespace, *, verbose: int):
    """The GeneGloVe of ``--preset`` (or the package defaults) with the options given on the command line."""
    import genevec

    given = {param: getattr(args, opt) for opt, param in _MODEL_OPTIONS.items() if getattr(args, opt) is not None}
    if given.get("eigen_power") == "none":
        given["eigen_power"] = None
    common = dict(n_jobs=args.jobs, random_state=args.seed, verbose=verbose,
                  allow_non_integer=args.allow_non_integer)
    if args.preset == "exp2vec":
        return genevec.GeneGloVe.exp2vec(**given, **common)
    return genevec.GeneGloVe(**given, **common)


def _quality(model, counts, quiet: bool):
    """The model's quality report against GO (with the Pearson baseline), or None with a line saying why."""
    from .evaluate import evaluate

    t0 = time.perf_counter()
    try:
        report = evaluate(model, counts=counts)
    except ValueError as exc:
        _say(f"quality not evaluated: {_error_message(exc)}")
        return None
    if not quiet:
        for line in report.verdicts():
            _say(f"quality: {line} ({time.perf_counter() - t0:.1f} s)")
    return report


def _say_cost(model, counts, quiet: bool) -> None:
    """The size of the run and its estimated time and memory; for a long run, the --top-genes that fits."""
    from ._validation import available_memory_bytes
    from .cost import LONG_RUN_SECONDS, affordable_genes, format_duration, training_cost

    n_samples, n_genes = counts.shape
    cost = training_cost(model, n_samples, n_genes)
    avail = available_memory_bytes()
    if not quiet:
        _say(f"training {cost} (estimated from genevec's benchmark speeds; your machine may differ)")
    too_big = avail is not None and cost.bytes > 0.8 * avail
    if cost.seconds > LONG_RUN_SECONDS or too_big:
        top = affordable_genes(model, n_samples, seconds=LONG_RUN_SECONDS,
                               max_bytes=None if avail is None else 0.8 * avail)
        why = "more memory than this machine has free" if too_big else f"about {format_duration(cost.seconds)}"
        if top < n_genes:
            smaller = training_cost(model, n_samples, top)
            _say(f"that is a long run ({why}): --top-genes {top} keeps the {top:,} most expressed genes, as "
                 f"genevec demo does, and would take about {format_duration(smaller.seconds)}")
        else:
            _say(f"that is a long run ({why}); Ctrl-C stops it, and --top-genes N keeps only the N most "
                 "expressed genes")


def _cmd_train(args: argparse.Namespace, out: TextIO) -> int:
    from . import cli_tissues, provenance

    if cli_tissues.is_collection_run(args):
        return cli_tissues.train_collection(args, out)
    if args.resume and args.checkpoint is None:
        raise _CliError("--resume needs --checkpoint DIR: the folder the interrupted run wrote to.")
    output = _writable_target(args.output, "vectors file")
    if args.map:
        from .maps import map_cache_path

        _writable_target(map_cache_path(output), "map file")
    counts, info = _read_input(args)
    model = _model(args, verbose=0 if args.quiet else 2)
    _say_cost(model, counts, args.quiet)
    fit_kw: dict[str, Any] = {}
    if args.checkpoint is not None:
        fit_kw.update(checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every, resume=args.resume)
    _fit(model, counts, fit_kw, checkpoint=args.checkpoint)
    vectors = model.vectors_
    vectors.metadata[provenance.KEY] = provenance.training_record(model, **info)
    if args.evaluate:
        report = _quality(model, counts, args.quiet)
        if report is not None:
            vectors.metadata["quality"] = report.to_dict()
    if args.stability:
        from .stability import stability

        params = model.get_params() | {"verbose": 0}
        stab = stability(counts, type(model)(**params), n_resamples=args.stability, random_state=args.seed,
                         n_jobs=args.jobs, verbose=0 if args.quiet else 1)
        if not args.quiet:
            _say(f"stability: {stab.summary()}")
        vectors = vectors.with_support(stab)
    vectors.save(output)
    print(f"{output}\t{len(model.genes_)} genes x {model.embedding_.shape[1]} dimensions", file=out)
    if args.map:
        _write_model_map(vectors, output, args.jobs, args.quiet, out)
    return EXIT_OK


def _write_model_map(vectors, output: Path, jobs: int | None, quiet: bool, out: TextIO) -> None:
    """``train --map``: the app's map of the model, cached beside the vectors (written after them, so it is fresh)."""
    from .maps import map_cache_path, model_map, write_map_table

    t0 = time.perf_counter()
    m = model_map(vectors, n_jobs=jobs)
    path = write_map_table(m, map_cache_path(output))
    if not quiet:
        _say(f"mapped {len(m):,} genes in {time.perf_counter() - t0:.1f} s (t-SNE + k-means); the app reads {path}")
    print(path, file=out)


def _cmd_evaluate(args: argparse.Namespace, out: TextIO) -> int:
    from .evaluate import evaluate

    vectors = _load_vectors(args.vectors)
    counts = None
    if args.counts is not None:
        args.quiet = True
        counts, _ = _read_input(args)
    report = evaluate(vectors, gene_sets=args.gene_sets or "go_bp", k=args.k, counts=counts)
    table = report.table.reset_index()
    cols = ["collection", "method", "precision", "random_precision", "auroc", "n_genes", "n_annotated", "n_sets"]
    rows = [[str(r[c]) if c in ("collection", "method") else (float(r[c]) if isinstance(r[c], float) else int(r[c]))
             for c in cols] for _, r in table.iterrows()]
    header = ["collection", "method", f"precision@{args.k}", "random", "auroc", "genes", "annotated", "sets"]
    out.write(format_table(rows, header, tsv=args.tsv))
    if not args.tsv:
        print("", file=out)
        for line in report.verdicts():
            print(line, file=out)
    return EXIT_OK


def _cmd_stability(args: argparse.Namespace, out: TextIO) -> int:
    from .stability import stability

    output = _writable_target(args.output, "stability table")
    consensus = _writable_target(args.consensus, "consensus vectors file") if args.consensus else None
    counts, _ = _read_input(args)
    model = _model(args, verbose=0)
    stab = stability(counts, model, n_resamples=args.n_resamples, k=args.k, mode=args.mode,
                     random_state=args.seed, n_jobs=args.jobs, verbose=0 if args.quiet else 1)
    if not args.quiet:
        _say(stab.summary())
    from ._atomic import atomic_write

    with atomic_write(output, "w") as fh:
        stab.table().to_csv(fh, sep="\t", float_format="%.4f")
    print(output, file=out)
    if consensus is not None:
        stab.consensus_vectors.with_support(stab).save(consensus)
        print(consensus, file=out)
    return EXIT_OK


def _fit(model, counts, fit_kw: dict, *, checkpoint: str | None, resumable: bool = True) -> None:
    """Fit, turning an interrupted training into a KeyboardInterrupt that says how to go on (no vectors saved)."""
    from .estimator import fit_whole

    try:
        fit_whole(model, counts, **fit_kw)
    except KeyboardInterrupt:
        if not getattr(model, "interrupted_", False):     # Ctrl-C before training began: nothing to add
            raise
        if checkpoint is not None:
            hint = f" Continue with the same command and --resume (checkpoint in {checkpoint})."
        elif resumable:
            hint = " Pass --checkpoint DIR to be able to resume an interrupted run."
        else:
            hint = ""
        raise KeyboardInterrupt(f"training interrupted after epoch {model.n_iter_}; no vectors written.{hint}") from None


def _cmd_similar(args: argparse.Namespace, out: TextIO) -> int:
    vectors = _load_vectors(args.vectors)
    for gene in args.genes:
        vectors[gene]  # an unknown gene raises GeneNotFoundError (with close matches) before any output
    topn = args.topn
    if topn > len(vectors) - 1:
        _say(f"--topn {topn} is more than the {len(vectors) - 1:,} other genes of {Path(args.vectors).name}; "
             f"listing all {len(vectors) - 1:,}")
        topn = len(vectors) - 1
    if args.wide:
        _print_neighbors(vectors, args.genes, topn, args.tsv, out)
    elif not (args.enrich and args.tsv):
        rows, header = _similar_rows(vectors, args.genes, topn)
        if not args.tsv:
            rows = [[_short(v) if isinstance(v, str) else v for v in row] for row in rows]
        out.write(format_table(rows, header, tsv=args.tsv))
    if args.enrich:
        _print_enrichment(vectors, args.genes, args, out)
    return EXIT_OK


def _cmd_info(args: argparse.Namespace, out: TextIO) -> int:
    from . import provenance
    from .evaluate import QualityReport
    from .maps import map_cache_path, read_gene_map

    if Path(args.vectors).is_dir() and (Path(args.vectors) / "manifest.json").is_file():
        from .cli_tissues import print_collection_info

        return print_collection_info(args.vectors, out)
    vectors = _load_vectors(args.vectors)
    meta = vectors.metadata
    name = Path(args.vectors).name
    print(f"{name}: {len(vectors):,} genes x {vectors.dim} dimensions ({vectors.vectors.dtype})", file=out)

    def block(title: str, rows: Sequence[tuple[str, str]]) -> None:
        print(f"\n{title}", file=out)
        width = max((len(k) for k, _ in rows), default=0)
        for k, v in rows:
            print(f"  {k.ljust(width)}  {v}", file=out)

    block("Training record", provenance.describe(meta))
    params = provenance.parameters(meta)
    if params:
        block("Parameters", params)
    if meta.get("quality"):
        print("\nQuality (genevec evaluate, stored at training)", file=out)
        try:
            verdicts = QualityReport.from_dict(meta["quality"]).verdicts()
        except (KeyError, TypeError, ValueError):
            verdicts = ["the stored report is unreadable; run genevec evaluate VECTORS"]
        for line in verdicts:
            print(f"  {line}", file=out)
    advice = provenance.guidance(meta)
    if advice:
        print("\nWhat to expect", file=out)
        for line in advice:
            print(textwrap.fill(line, width=100, initial_indent="  - ", subsequent_indent="    "), file=out)
    if vectors.support is not None:
        sup = vectors.support
        print(f"\nNeighbour support: {sup.n_fits} {sup.mode} refits, top {sup.k} (genevec train --stability).", file=out)
    cache = map_cache_path(args.vectors)
    if os.path.isfile(cache):
        try:
            m = read_gene_map(cache)
            state = f"cached in {Path(cache).name} ({len(m):,} genes, {m['cluster'].nunique()} clusters)"
        except (ValueError, OSError) as exc:
            state = f"{Path(cache).name} is unreadable ({_error_message(exc)}); the app recomputes it"
    else:
        state = ("not computed yet: genevec train --map computes it at training; otherwise the app computes it "
                 "on first use and caches it")
    print(f"\nMap: {state}.", file=out)
    return EXIT_OK


def _cmd_analogy(args: argparse.Namespace, out: TextIO) -> int:
    vectors = _load_vectors(args.vectors)
    _print_analogy(vectors, args.a, args.b, args.c, args.topn, args.mode, args.tsv, out)
    return EXIT_OK


def _image_target(path: str, what: str = "map image") -> Path:
    """An image path matplotlib can write, checked before any work."""
    png = _writable_target(path, what)
    suffix = png.suffix.lower().lstrip(".")
    if suffix == "tsv":
        raise _CliError(f"the {what} {str(png)!r} ends in .tsv, the name of the coordinates file written "
                        "beside it; give an image name such as map.png.")
    from matplotlib.backend_bases import FigureCanvasBase

    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    if suffix not in formats:
        got = f"the extension .{suffix}" if suffix else "no extension"
        raise _CliError(f"the {what} {str(png)!r} has {got}, which is not an image format matplotlib writes; "
                        f"end the name in one of .{', .'.join(formats)}, e.g. map.png.")
    return png


def _cmd_map(args: argparse.Namespace, out: TextIO) -> int:
    png = _image_target(args.output)
    vectors = _load_vectors(args.vectors)
    for gene in args.highlight or ():
        vectors[gene]  # an unknown gene raises GeneNotFoundError (with close matches) before the t-SNE
    from .maps import gene_map
    from .plot import save_gene_map

    t0 = time.perf_counter()
    coords = gene_map(vectors, n_clusters=args.clusters, perplexity=args.perplexity, random_state=args.seed,
                      n_jobs=args.jobs)
    _say(f"mapped {len(coords):,} genes in {time.perf_counter() - t0:.1f} s")
    image, table = save_gene_map(coords, png, table=png.with_suffix(".tsv"), highlight=args.highlight or None)
    print(image, file=out)
    print(table, file=out)
    return EXIT_OK


def _cmd_app(args: argparse.Namespace, out: TextIO) -> int:
    # a folder is a tissue collection (genevec.load_tissues names what is wrong with a bad one)
    paths = [p if os.path.isdir(p) else str(_existing_file(p, "vectors file")) for p in args.vectors]
    from .app import run_app

    what = f"the tissue collection {paths[0]}" if os.path.isdir(paths[0]) else f"{len(paths)} model(s)"
    _say(f"loading {what}, then serving on http://{args.host}:{args.port} (Ctrl-C stops)")
    run_app(paths, host=args.host, port=args.port, gene_sets=args.gene_sets)
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    import genevec
    from genevec import datasets

    output = _writable_target(args.output, "vectors file")
    t_start = time.perf_counter()
    full, attrs = datasets.load_demo(return_attributes=True)
    counts = datasets._top_genes(full, args.genes)          # what load_demo(n_genes=...) keeps
    _say(f"demo data: {counts.shape[0]} GTEx samples x {counts.shape[1]:,} genes (embedded, see "
         "genevec/datasets/PROVENANCE.md)")
    params = dict(max_iter=args.max_iter, n_jobs=args.jobs, random_state=0, verbose=2)
    if args.max_iter is None:
        del params["max_iter"]
    model = (genevec.GeneGloVe.exp2vec(**params) if args.preset == "exp2vec" else genevec.GeneGloVe(**params))
    _fit(model, counts, {}, checkpoint=None, resumable=False)
    vectors = model.vectors_
    from . import provenance
    from .io.samples import detailed_tissues

    vectors.metadata[provenance.KEY] = provenance.training_record(
        model, counts_file=datasets.DEMO_COUNTS, source="embedded demo: GTEx v6 via Bioconductor's yarn",
        tissues=detailed_tissues(attrs, counts.index), genes_in_input=full.shape[1],
        filters={"top_genes": args.genes}, filtered_out=[str(g) for g in full.columns.difference(counts.columns)])
    report = _quality(model, counts, quiet=True)

    queries = [g for g in DEMO_GENES if g in vectors]
    skipped = [g for g in DEMO_GENES if g not in vectors]
    if skipped:
        _say(f"skipping {', '.join(skipped)}: not among the {len(vectors):,} genes of the model")
    print("Nearest genes (cosine similarity of GloVe vectors):", file=out)
    if queries:
        _print_neighbors(vectors, queries, 5, False, out)
    a, b, c = DEMO_ANALOGY
    print(f"\nAnalogy {a} - {b} + {c} ({a} is to {b} as ? is to {c}):", file=out)
    _print_analogy(vectors, a, b, c, 5, "gensim", False, out)
    if report is not None:
        vectors.metadata["quality"] = report.to_dict()
        print(f"\nHow good are these neighbours? (genevec evaluate, {len(vectors):,} genes, GO biological "
              "processes):", file=out)
        for line in report.verdicts():
            print(line, file=out)
    vectors.save(output)
    print(f"\nVectors written to {output} (word2vec text format; parameters in {output}.json).", file=out)
    _say(f"demo done in {time.perf_counter() - t_start:.1f} s")
    return EXIT_OK


# ---------------------------------------------------------------------------------------- parser


def _desc(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), width=88)


def _epilog(text: str) -> str:
    return "examples:\n" + textwrap.indent(textwrap.dedent(text).strip("\n"), "  ")


def _add_command(sub: Any, name: str, func: Callable[[argparse.Namespace, TextIO], int], text: str,
                 **defaults: Any) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` and return its parser.

    ``text`` is laid out as the command's help page: its line in ``genevec --help``, a blank line, a
    paragraph (refilled by :func:`_desc`), a blank line, ``examples:`` and indented command lines
    (:func:`_epilog`). ``func(args, out)`` runs the command, and ``defaults`` are further attributes
    of ``args`` that no option sets.
    """
    help, _, rest = textwrap.dedent(text).strip("\n").partition("\n\n")
    description, _, examples = rest.partition("\nexamples:\n")
    p = sub.add_parser(name, help=help, formatter_class=argparse.RawDescriptionHelpFormatter,
                       description=_desc(description), epilog=_epilog(examples))
    p.set_defaults(func=func, **defaults)
    return p


def _add_input_options(p: argparse.ArgumentParser, *, counts_flag: bool = False, tissue_all: bool = False) -> None:
    """Options that read and filter counts (train, stability; evaluate with --counts)."""
    g = p.add_argument_group("samples and genes")
    if counts_flag:
        g.add_argument("--counts", metavar="FILE",
                       help="the counts the vectors came from: adds the Pearson baseline on the same genes")
    g.add_argument("--attributes", metavar="FILE", help="sample attributes file (GTEx SampleAttributesDS)")
    g.add_argument("--tissue", metavar="NAME",
                   help="keep the samples of this tissue (SMTS or SMTSD), e.g. Pancreas"
                        + ("; 'all': one model per tissue, into the collection folder -o" if tissue_all else ""))
    g.add_argument("--gene-names", choices=("symbol", "ensembl"), default="symbol",
                   help="name genes by symbol (Description column) or Ensembl ID (default: %(default)s)")
    g.add_argument("--genes-as", choices=("rows", "columns"),
                   help="for a TSV/CSV table: a row per gene (rows) or a column per gene (columns)")
    g.add_argument("--layer", metavar="NAME", help="for .h5ad: the layer holding raw counts (default: .X)")
    g.add_argument("--allow-non-integer", action="store_true",
                   help="accept values that are not whole numbers (normalised data; not what GloVe expects)")
    g.add_argument("--min-samples", type=_non_negative_int, metavar="N",
                   help="drop genes expressed (count > 0) in fewer than N samples"
                        + ("; with --tissue all: skip tissues with fewer than N samples" if tissue_all else ""))
    g.add_argument("--min-counts", type=_non_negative_int, metavar="N",
                   help="drop genes with fewer than N reads in total")
    g.add_argument("--top-genes", type=_positive_int, metavar="N",
                   help="then keep the N genes with the most reads (time and memory grow with the square of the "
                        "number of genes; genevec demo keeps 3000)")


def _eigen_power(text: str) -> float | str:
    if text.lower() == "none":
        return "none"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1] or 'none', got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1] or 'none', got {text}")
    return value


def _add_model_options(p: argparse.ArgumentParser) -> None:
    """GeneGloVe's options; unset ones keep the package defaults or the preset's."""
    g = p.add_argument_group("model (defaults: the closed form with eigenvalue weighting 0.25; --preset exp2vec "
                             "for the study's SGD)")
    g.add_argument("--preset", choices=("exp2vec",),
                   help="start from the exp2vec study's configuration (text2vec's SGD, 50 epochs, vectors as "
                        "trained); options given with it override it")
    g.add_argument("--dim", type=_positive_int, help="vector length (default: 100)")
    g.add_argument("--solver", choices=("svd", "sgd"),
                   help="svd: closed form (+ ALS where weights < 1); sgd: AdaGrad as text2vec (default: svd)")
    g.add_argument("--eigen-power", type=_eigen_power, metavar="P",
                   help="eigenvalue weighting of the vectors in [0, 1], or 'none' for the vectors as trained "
                        "(default: 0.25)")
    g.add_argument("--init", choices=("centred", "random", "svd"), help="SGD's start (default: centred)")
    g.add_argument("--max-iter", type=_non_negative_int,
                   help="SGD epochs or ALS sweeps (default: 50 epochs for sgd, none for svd)")
    g.add_argument("--x-max", type=_positive_float, help="GloVe x_max (default: 100)")
    g.add_argument("--learning-rate", type=_positive_float, help="AdaGrad step (default: 0.05)")
    g.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default: %(default)s)")
    g.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                   help="threads (default: all cores); the vectors do not depend on it")


def build_parser() -> argparse.ArgumentParser:
    """Return the ``genevec`` argument parser with all its subcommands.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> from genevec.cli import build_parser
    >>> args = build_parser().parse_args(["similar", "vectors.txt", "EGFR", "TP53", "--topn", "3"])
    >>> args.command, args.genes, args.topn, args.tsv
    ('similar', ['EGFR', 'TP53'], 3, False)
    """
    parser = argparse.ArgumentParser(
        prog="genevec",
        description=_desc("Learn gene embeddings (GloVe) from an RNA-seq count matrix and query them. "
                    "Results go to stdout, progress and errors to stderr."),
        epilog=_epilog("""
            genevec demo                                   # the whole study on embedded GTEx data
            genevec train counts.gct.gz -o vectors.txt     # learn vectors from your counts
            genevec similar vectors.txt EGFR TP53          # nearest genes
            genevec analogy vectors.txt BRCA1 BRCA2 TP53   # BRCA1 - BRCA2 + TP53
            genevec <command> --help                       # options of a command
        """),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"genevec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _add_command(sub, "train", _cmd_train, """
        learn gene vectors from a samples x genes count file

        Read a count file, build the gene co-occurrence matrix and train GloVe on it. Writes the vectors in word2vec
        text format (+ VECTORS.json with the parameters). Training is bit-identical for any --jobs; progress goes to
        stderr.

        examples:
            genevec train GTEx_gene_reads.gct.gz --attributes GTEx_SampleAttributesDS.txt \\
                --tissue Pancreas --min-samples 10 -o pancreas.txt
            genevec train counts.gct.gz --dim 50 --max-iter 20 --jobs 2 --seed 1 -o vectors.txt
            genevec train counts.tsv --genes-as rows -o vectors.txt                   # a gene per line
            genevec train counts.gct.gz --checkpoint ckpt/ -o vectors.txt            # after Ctrl-C:
            genevec train counts.gct.gz --checkpoint ckpt/ --resume -o vectors.txt   # same bits as one run
            genevec train GTEx_gene_reads.gct.gz --attributes GTEx_SampleAttributesDS.txt \\
                --tissue all --level SMTSD -o tissues/                  # every tissue; rerun to resume
        """)
    p.add_argument("counts", metavar="COUNTS",
                   help="counts file: GCT (.gct/.gct.gz, as GTEx ships it), a TSV/CSV table (with --genes-as) "
                        "or .h5ad")
    p.add_argument("-o", "--output", required=True, metavar="VECTORS",
                   help="where to write the vectors (with --tissue all: the collection folder)")
    _add_input_options(p, tissue_all=True)
    _add_model_options(p)
    from .cli_tissues import add_collection_commands, add_tissue_options

    add_tissue_options(p)
    g = p.add_argument_group("quality")
    g.add_argument("--no-evaluate", dest="evaluate", action="store_false",
                   help="skip the quality report (GO pathway recovery beside Pearson, stored in VECTORS.json; "
                        "a few seconds)")
    g.add_argument("--stability", type=_int_at_least(2), metavar="N",
                   help="refit on N bootstrap resamples and store each neighbour's support (the fraction of "
                        "refits that found it) with the vectors; costs N more fits")
    g = p.add_argument_group("checkpoints")
    g.add_argument("--checkpoint", metavar="DIR", help="write the training state to DIR during training")
    g.add_argument("--checkpoint-every", type=_positive_int, default=1, metavar="N",
                   help="epochs between checkpoints (default: %(default)s)")
    g.add_argument("--resume", action="store_true", help="continue from the checkpoint in DIR")
    p.add_argument("--map", action="store_true",
                   help="also compute the app's t-SNE map and k-means clusters now and cache them in VECTORS.map.tsv, "
                        "so that the app's Map tab opens at once (t-SNE: about a minute per 10,000 genes)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    p = _add_command(sub, "evaluate", _cmd_evaluate, """
        how well the vectors' neighbours recover known pathways

        Score gene vectors against gene-set collections: neighbour precision@k (the fraction of a gene's k nearest
        genes that share a set with it) beside its random expectation, and the AUROC of pathway pairs. With
        --counts, the same numbers for the Pearson correlation of log1p(CPM) on the same genes. GO biological
        processes and Reactome ship with genevec; any GMT file works.

        examples:
            genevec evaluate vectors.txt
            genevec evaluate vectors.txt --counts counts.gct.gz --gene-sets go_bp reactome h.all.v7.0.symbols.gmt
        """, quiet=True)
    p.add_argument("vectors", metavar="VECTORS", help="vectors file (word2vec text)")
    p.add_argument("--gene-sets", nargs="+", metavar="SETS",
                   help="collections: go_bp, reactome (shipped) or GMT files (default: go_bp)")
    p.add_argument("--k", type=_positive_int, default=10, help="neighbours per gene (default: %(default)s)")
    p.add_argument("--tsv", action="store_true", help="tab-separated output instead of aligned columns")
    _add_input_options(p, counts_flag=True)

    p = _add_command(sub, "stability", _cmd_stability, """
        how stable each gene's neighbours are when the samples are resampled

        Refit the model on bootstrap resamples of the samples (or with other seeds only) and write, per gene, the
        mean Jaccard index of its top-k neighbour sets between fits and its best-supported neighbours with their
        support (the fraction of fits that found them). --consensus also writes the consensus vectors (the mean
        cosine over fits).

        examples:
            genevec stability counts.gct.gz -o stability.tsv --n-resamples 20
            genevec stability counts.gct.gz -o stability.tsv --consensus consensus.txt
        """)
    p.add_argument("counts", metavar="COUNTS", help="counts file, as for train")
    p.add_argument("-o", "--output", required=True, metavar="TABLE", help="the per-gene table to write (TSV)")
    p.add_argument("--consensus", metavar="VECTORS", help="also write the consensus vectors (word2vec text)")
    p.add_argument("--n-resamples", type=_int_at_least(2), default=20, metavar="N",
                   help="fits (default: %(default)s)")
    p.add_argument("--k", type=_positive_int, default=10, help="neighbours per gene (default: %(default)s)")
    p.add_argument("--mode", choices=("bootstrap", "halves", "seed"), default="bootstrap",
                   help="resample the samples, fit disjoint random halves of them (--n-resamples even), or change "
                        "only the seed (default: %(default)s)")
    _add_input_options(p)
    _add_model_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    p = _add_command(sub, "similar", _cmd_similar, """
        the nearest genes of each query gene

        Print each query gene's nearest genes, one row per neighbour: its rank, its cosine similarity, its support
        (when the vectors carry neighbour support) and its full name (NCBI Gene). --enrich adds the gene sets
        over-represented among the query's neighbours (hypergeometric test against the model's genes,
        Benjamini-Hochberg q values). --wide prints the exp2vec blog's table instead: a row per query, neighbours
        n1..nk, no scores.

        examples:
            genevec similar vectors.txt EGFR TP53 PTEN KRAS
            genevec similar vectors.txt EGFR --topn 10 --tsv > egfr.tsv
            genevec similar vectors.txt EGFR --enrich                      # + GO processes of its 50 nearest
            genevec similar vectors.txt EGFR --enrich --gene-sets reactome --tsv > egfr_reactome.tsv
        """)
    p.add_argument("vectors", metavar="VECTORS", help="vectors file (word2vec text, as written by train)")
    p.add_argument("genes", metavar="GENE", nargs="+", help="query genes (symbols, case-sensitive)")
    p.add_argument("--topn", type=_positive_int, default=5, help="neighbours per gene (default: %(default)s)")
    p.add_argument("--tsv", action="store_true",
                   help="tab-separated output instead of aligned columns (with --enrich: the enrichment table, one "
                        "row per query and gene set)")
    p.add_argument("--wide", action="store_true", help="the blog's table: a row per query gene, neighbours n1..nk")
    g = p.add_argument_group("enrichment")
    g.add_argument("--enrich", action="store_true",
                   help="the gene sets over-represented among each query's nearest genes")
    g.add_argument("--enrich-topn", type=_positive_int, default=50, metavar="N",
                   help="nearest genes tested for enrichment (default: %(default)s)")
    g.add_argument("--gene-sets", default="go_bp", metavar="SETS",
                   help="go_bp or reactome (shipped) or a GMT file (default: %(default)s)")
    g.add_argument("--max-q", type=_positive_float, default=0.05, metavar="Q",
                   help="sets listed with a Benjamini-Hochberg q value at most Q (default: %(default)s)")

    p = _add_command(sub, "info", _cmd_info, """
        where a vectors file came from, its parameters and quality

        Print what is known of a vectors file: the training record kept by genevec train (input file, tissue and the
        detailed tissues behind it with sample counts, gene filters, genes kept and dropped, seed, genevec version),
        the training parameters, the quality report, what to expect from such vectors, neighbour support and the map
        cache.

        examples:
            genevec info vectors.txt
        """)
    p.add_argument("vectors", metavar="VECTORS", help="vectors file (word2vec text), or a tissue collection folder")

    add_collection_commands(sub)

    p = _add_command(sub, "analogy", _cmd_analogy, """
        A - B + C: A is to B as ? is to C

        Print the genes closest to A - B + C. --mode gensim (default) normalises the vectors and leaves A, B and C
        out of the answers; --mode original adds the raw vectors and keeps them, as the original exp2vec Shiny app
        did.

        examples:
            genevec analogy vectors.txt BRCA1 BRCA2 TP53
            genevec analogy vectors.txt BRCA1 BRCA2 TP53 --mode original --topn 10 --tsv
        """)
    p.add_argument("vectors", metavar="VECTORS", help="vectors file (word2vec text)")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("c", metavar="C")
    p.add_argument("--topn", type=_positive_int, default=5, help="answers (default: %(default)s)")
    p.add_argument("--mode", choices=("gensim", "original"), default="gensim",
                   help="gensim (normalised, inputs excluded) or original (raw, inputs kept) (default: %(default)s)")
    p.add_argument("--tsv", action="store_true", help="tab-separated output instead of aligned columns")

    p = _add_command(sub, "map", _cmd_map, """
        t-SNE map of all genes coloured by k-means cluster

        Cluster the gene vectors with k-means and draw a 2-d t-SNE map. Writes the image and the coordinates (gene,
        x, y, cluster) as a TSV beside it (map.png -> map.tsv).

        examples:
            genevec map vectors.txt -o map.png
            genevec map vectors.txt -o map.png --clusters 20 --highlight EGFR KRAS
        """)
    p.add_argument("vectors", metavar="VECTORS", help="vectors file (word2vec text)")
    p.add_argument("-o", "--output", required=True, metavar="IMAGE", help="image to write, e.g. map.png")
    p.add_argument("--clusters", type=_positive_int, default=15, help="k-means clusters (default: %(default)s)")
    p.add_argument("--perplexity", type=_positive_float, default=30.0, help="t-SNE perplexity (default: %(default)g)")
    p.add_argument("--seed", type=_non_negative_int, default=42, help="random seed (default: %(default)s)")
    p.add_argument("--highlight", nargs="+", metavar="GENE", help="genes to label on the map")
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N", help="threads (default: all cores)")

    p = _add_command(sub, "app", _cmd_app, """
        the interactive explorer (neighbours, analogies, map) in a browser

        Serve the Shiny app on HOST:PORT; several vector files give a model selector. A tissue collection folder
        (genevec train --tissue all -o FOLDER) gives a tissue selector and a Compare tissues tab. Needs the app
        extra: pip install "genevec[app]".

        examples:
            genevec app vectors.txt                      # then open http://127.0.0.1:8000
            genevec app pancreas.txt blood.txt --port 8080
            genevec app tissues/                         # a tissue collection folder
        """)
    p.add_argument("vectors", metavar="VECTORS", nargs="+",
                   help="vectors file(s) (word2vec text), or one tissue collection folder")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=_positive_int, default=8000, help="port (default: %(default)s)")
    p.add_argument("--gene-sets", nargs="+", default=["go_bp", "reactome"], metavar="SETS",
                   help="collections for the enrichment and the map's colours: go_bp, reactome (shipped) or GMT "
                        "files (default: go_bp reactome)")

    p = _add_command(sub, "demo", _cmd_demo, f"""
        the whole study on the embedded GTEx demo data

        Fit GloVe (genevec's defaults, seed 0; --preset exp2vec for the study's text2vec settings) on the real GTEx
        samples shipped with genevec, print the neighbours of {', '.join(DEMO_GENES)} and the analogy
        {' - '.join(DEMO_ANALOGY[:2])} + {DEMO_ANALOGY[2]}, say how often the neighbours share a GO process (beside
        random and Pearson), and save the vectors.

        examples:
            genevec demo
            genevec demo --jobs 2 --genes 1000 -o demo.txt
            genevec demo --preset exp2vec                  # the study's settings, for comparison
            genevec map {DEMO_OUTPUT} -o demo_map.png      # then map the demo vectors
        """)
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N", help="threads (default: all cores)")
    p.add_argument("--genes", type=_positive_int, default=DEMO_N_GENES, metavar="N",
                   help="keep the N most expressed genes (default: %(default)s)")
    p.add_argument("--max-iter", type=_non_negative_int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--preset", choices=("exp2vec",), help="the exp2vec study's configuration (SGD as text2vec)")
    p.add_argument("-o", "--output", default=DEMO_OUTPUT, metavar="FILE",
                   help="where to write the vectors (default: ./%(default)s)")
    return parser


# ---------------------------------------------------------------------------------------- main


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    from .exceptions import GeneVecWarning

    text = str(message).strip()
    if not issubclass(category, GeneVecWarning):
        text = f"{category.__name__}: {text}"
    print(f"genevec: warning: {text}", file=sys.stderr, flush=True)


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and type(exc).__str__ is KeyError.__str__ and len(exc.args) == 1:
        message = str(exc.args[0])  # KeyError('x') prints as "'x'"
    else:
        message = str(exc)
    if isinstance(exc, OSError) and exc.filename is not None and str(exc.filename) not in message:
        message = f"{message}: {exc.filename}"
    if isinstance(exc, ImportError) and "pip install" not in message:
        extra = {"matplotlib": "plot", "shiny": "app", "anndata": "anndata", "openTSNE": "plot"}.get(
            (exc.name or "").split(".")[0])
        if extra:
            message += f'. Install the optional dependency with: pip install "genevec[{extra}]"'
    return " ".join(message.split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``genevec`` command line and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 on a usage or user error (one line ``genevec: error: ...`` on stderr),
        130 when interrupted with Ctrl-C.

    Examples
    --------
    >>> from genevec.cli import main
    >>> main(["similar", "no-such-vectors.txt", "EGFR"])  # the error line goes to stderr
    2
    """
    parser = build_parser()
    args = parser.parse_args(None if argv is None else list(argv))
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    from .exceptions import GeneVecError

    debug = os.environ.get("GENEVEC_DEBUG", "") not in ("", "0")
    expected = (GeneVecError, _CliError, FileNotFoundError, KeyError, ValueError, OSError, ImportError, MemoryError)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        try:
            status = args.func(args, sys.stdout)
            sys.stdout.flush()  # a closed pipe (`genevec similar ... | head -1`) shows up here
            return status
        except KeyboardInterrupt as exc:
            if debug:
                raise
            detail = _error_message(exc) if exc.args else "interrupted"
            print(f"genevec: {detail if detail != 'KeyboardInterrupt' else 'interrupted'}",
                  file=sys.stderr, flush=True)
            return EXIT_INTERRUPTED
        except BrokenPipeError:  # the reader went away: not an error (Python docs, "Note on SIGPIPE")
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):  # stdout has no file descriptor (captured)
                pass
            return EXIT_OK
        except expected as exc:
            if debug:
                raise
            print(f"genevec: error: {_error_message(exc)}", file=sys.stderr, flush=True)
            return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
