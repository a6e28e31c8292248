"""Every tissue of a GTEx file in one run (issue 18): time, memory, quality, null calibration, known biology.

    python benchmarks/bench_tissues.py --steps generate one v8   # GTEx-v8-shaped file (~8 min), one tissue, all
    python benchmarks/bench_tissues.py --steps real null biology  # the real files of ../shared/data (minutes)
    python benchmarks/bench_tissues.py --steps v8 --option top_genes=5000   # the same run with an option

Steps:

- ``generate``: ``_generate.write_gtex_v8_like`` writes 56,200 genes x 17,382 samples in 54 tissues
  (SMTSD) and its attributes file (SAMPID, SMTS, SMTSD) to ``--scratch`` (never to the repository).
- ``one``: the file read once (the shared genes of the 50 tissues of >= 20 samples), then one
  tissue of each size (803, 328, 21 samples) through ``fit_tissues``' per-tissue work timed apart:
  the fit, the quality report (``evaluate`` with its Pearson baseline, and without it), the
  ``2 * n_splits`` half fits (``stability(mode="halves")``), each in wall and CPU seconds; the total
  of the 50 tissues is predicted from them (linear in the samples between the measured sizes).
- ``read``: the one-pass read that ``fit_tissues`` does (``read_gct_split`` of the 50 tissues, shared
  genes) against its peer, ``read_counts(gct, attributes=..., tissue="Pancreas")`` reading one
  tissue, each in a fresh subprocess (wall, CPU, peak RSS).
- ``topk``: ``neighbour_indices`` (every neighbour search of the run) with the grouped-bound top-k
  against the per-row partition it replaced, same answer checked first; minimum of 3 after a warm-up.
- ``v8``: ``genevec.fit_tissues(gct, attrs, tissues="all", level="SMTSD", output=folder, verbose=1)``
  with the default estimator, in a fresh subprocess: wall time, peak RSS (VmHWM of the child, and
  ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` seen by the parent), its CPU seconds (user + system:
  what a shared host inflates least), ``TissueModels.timings`` (read phase,
  per-tissue fit / quality / stability, and each tissue's CPU seconds read from ``/proc`` as its verbose
  line appears, kept in ``<log>.progress.json`` while the run goes) and ``summary()``. ``--option name=value`` adds a documented
  ``fit_tissues`` argument (e.g. ``top_genes=5000``); the default run is kept beside it.
- ``real``: the shared GTEx v6 skin/bladder file by SMTSD (``min_samples=5``: its SMTSD tissues have
  2-13 samples) and by SMTS, and the LCL file by population (SMTSD); each ``summary()``.
- ``null``: GTEx v8 whole blood (755 samples) split at random into two pseudo-tissues "A"/"B"
  (an attributes file with an SMTS column), ``fit_tissues`` and ``shifts("A", "B", top=None)``:
  genes called shifted, mean observed Jaccard against the mean expected one; one row per seed.
- ``biology``: skin vs bladder (SMTS) and LCL CEU vs YRI: where (a) the 5% of shared genes with the
  largest |log2 CPM ratio| between the two tissues and (b) ribosomal-protein genes (RPL*/RPS*) rank
  in ``shifts(...)``: mean percentile of rank (0 = most shifted) and a two-sided Mann-Whitney U test
  against the other genes.

Rows go to ``benchmarks/results/tissues.json`` (one entry per step; a step run again replaces its own).

Just over ~500 lines: eight steps that share one data path and one results file, each a short function.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import REPO, RESULTS, environment  # noqa: E402

SHARED = Path(os.environ.get("GENEVEC_SHARED_DATA", REPO.parent / "shared" / "data"))
OUT = RESULTS / "tissues.json"
#: Ribosomal-protein genes: RPL3, RPL10A, RPL36AL, RPL22L1, RPS4X, RPS4Y1, RPLP0-2, RPSA (not RPS6KA1, nor pseudogenes
#: such as RPL13AP5 or RPL4P4).
RIBOSOMAL = re.compile(r"^(RP[LS]\d+(A|L|AL|X|Y)?\d*|RPLP[0-2]|RPSA)$")
#: Smooth-muscle genes a first look at skin vs bladder (top 300 genes) found at the top of shifts().
MARKERS = ("SORBS1", "CNN1", "ACTG2", "MYH11", "DES")

SKIN = SHARED / "gtex_v6_skin_bladder"
SKIN_GCT = SKIN / "gtex_v6_skin_bladder_gene_reads.gct.gz"
SKIN_ATTRS = SKIN / "gtex_v6_skin_bladder_sample_attributes.txt"
LCL = SHARED / "lcl_montpick"
LCL_GCT = LCL / "montpick_gene_reads.gct.gz"
LCL_ATTRS = LCL / "montpick_sample_attributes.txt"
BLOOD = SHARED / "gtex_v8_whole_blood_3000"
BLOOD_GCT = BLOOD / "gtex_v8_whole_blood_3000genes_gene_reads.gct.gz"
BLOOD_ATTRS = BLOOD / "gtex_v8_whole_blood_sample_attributes.txt"


def _load() -> dict:
    if OUT.exists():
        try:
            return json.loads(OUT.read_text())
        except ValueError:
            return {}
    return {}


def _save(step: str, payload) -> None:
    data = _load()
    data[step] = {"command": " ".join(["python", "benchmarks/bench_tissues.py", *sys.argv[1:]]),
                  "load_at_save": os.getloadavg(), "environment": environment(), **payload}
    RESULTS.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1, default=str) + "\n")
    print(f"wrote {step} to {OUT.relative_to(REPO)}", flush=True)


def _paths(scratch: Path) -> tuple[Path, Path]:
    return scratch / "gtex_v8_like.gct.gz", scratch / "gtex_v8_like_attributes.txt"


def _summary_rows(models) -> list[dict]:
    table = models.summary().reset_index()
    return json.loads(table.to_json(orient="records"))


# ---------------------------------------------------------------------------------------------- generate
def step_generate(scratch: Path) -> None:
    from _generate import write_gtex_v8_like

    gct, attrs = _paths(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    info = write_gtex_v8_like(gct, attrs, progress=lambda g, s: print(f"generate: {g:,} genes, {s:.0f} s", flush=True)
                              if g % 8000 == 0 else None)
    info.update(wall_s=round(time.perf_counter() - t0, 1), bytes=gct.stat().st_size, file=str(gct))
    _save("generate", info)


# ---------------------------------------------------------------------------------------------- one
def step_one(scratch: Path, tissues=("Muscle - Skeletal", "Pancreas", "Bladder")) -> None:
    from genevec import GeneGloVe, evaluate, stability
    from genevec.io.samples import _as_attributes, tissue_groups
    from genevec.io.split import read_gct_split

    gct, attrs_path = _paths(scratch)
    attrs = _as_attributes(attrs_path)
    groups = tissue_groups(attrs, "SMTSD", "all")
    fitted = {t: g for t, g in groups.items() if len(g) >= 20}
    t0, c0 = time.perf_counter(), time.process_time()
    split = read_gct_split(gct, fitted, shared=True, store=list(tissues))
    read_s, read_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    rows = []
    for t in tissues:
        X = split.take(t)
        marks = [(time.perf_counter(), time.process_time())]   # wall, and CPU of all the process's threads

        def mark():
            marks.append((time.perf_counter(), time.process_time()))

        model = GeneGloVe(random_state=0).fit(X)
        mark()
        evaluate(model, counts=X)
        mark()
        evaluate(model)
        mark()
        stability(X, GeneGloVe(random_state=0), n_resamples=10, k=10, mode="halves", random_state=0)
        mark()
        wall = [round(marks[i + 1][0] - marks[i][0], 2) for i in range(4)]
        cpu = [round(marks[i + 1][1] - marks[i][1], 2) for i in range(4)]
        row = {"tissue": t, "samples": X.shape[0], "genes": X.shape[1], "fit_s": wall[0], "quality_s": wall[1],
               "quality_without_pearson_s": wall[2], "stability_s": wall[3], "total_s": wall[0] + wall[1] + wall[3],
               "fit_cpu_s": cpu[0], "quality_cpu_s": cpu[1], "quality_without_pearson_cpu_s": cpu[2],
               "stability_cpu_s": cpu[3], "total_cpu_s": round(cpu[0] + cpu[1] + cpu[3], 2),
               "load_after": os.getloadavg()}
        print(json.dumps(row), flush=True)
        rows.append(row)
    sizes = np.array([len(g) for g in fitted.values()])
    # predict: per-tissue time linear in samples between the measured sizes (np.interp), summed over the 50
    n = np.array([r["samples"] for r in rows])[::-1]
    tot = np.array([r["total_s"] for r in rows])[::-1]
    cpu = np.array([r["total_cpu_s"] for r in rows])[::-1]
    _save("one", {"read_s": round(read_s, 1), "read_cpu_s": round(read_cpu_s, 1),
                  "shared_genes": int(split.kept[:, 0].sum()), "tissues_fitted": len(fitted), "rows": rows,
                  "predicted_total_s": round(float(read_s + np.interp(sizes, n, tot).sum()), 0),
                  "predicted_total_cpu_s": round(float(read_cpu_s + np.interp(sizes, n, cpu).sum()), 0)})


# ---------------------------------------------------------------------------------------------- read
READ_CHILD = r"""
import json, sys, time
sys.path.insert(0, {here!r})
from _harness import self_peak_rss
t0, c0 = time.perf_counter(), time.process_time()
if {which!r} == "split":
    from genevec.io.samples import _as_attributes, tissue_groups
    from genevec.io.split import read_gct_split
    groups = tissue_groups(_as_attributes({attrs!r}), "SMTSD", "all")
    split = read_gct_split({gct!r}, {{t: g for t, g in groups.items() if len(g) >= 20}}, shared=True)
    shape = [int(split.kept.shape[0]), int(split.kept[:, 0].sum()), len(groups)]
else:
    import genevec
    X = genevec.read_counts({gct!r}, attributes={attrs!r}, tissue="Pancreas")
    shape = list(X.shape)
print("RESULT", json.dumps(dict(wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0, shape=shape,
                                peak_rss_bytes=self_peak_rss())))
"""


def step_read(scratch: Path) -> None:
    """The one-pass split read of the 50 tissues against its peer, reading one tissue (Pancreas) with read_counts."""
    gct, attrs = _paths(scratch)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO), os.environ.get("PYTHONPATH", "")])}
    rows = []
    for which in ("split", "one tissue"):
        code = READ_CHILD.format(here=str(HERE), gct=str(gct), attrs=str(attrs), which=which)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
        row = {"reader": which, "load": os.getloadavg(),
               **json.loads(next(line for line in out.splitlines() if line.startswith("RESULT"))[7:])}
        print(json.dumps(row), flush=True)
        rows.append(row)
    _save("read", {"rows": rows, "ratio_wall_one_tissue_over_all": round(rows[1]["wall_s"] / rows[0]["wall_s"], 3)})


# ---------------------------------------------------------------------------------------------- topk
def step_topk(repeats: int = 3) -> None:
    """neighbour_indices with the grouped-bound top-k against its peer, the per-row partition it replaced."""
    import genevec.evaluate  # noqa: F401  (the module, not the function genevec.evaluate)

    ev = sys.modules["genevec.evaluate"]
    rng = np.random.default_rng(0)
    U = rng.normal(size=(11283, 100)).astype(np.float32)
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    grouped, partition = ev._top_k, ev._top_k_partition
    times = {"grouped": [], "partition": []}
    try:
        for _ in range(repeats + 1):                           # the first round is the warm-up
            for name, fn in (("grouped", grouped), ("partition", partition)):
                ev._top_k = fn
                t0 = time.perf_counter()
                out = ev.neighbour_indices(U, 10, n_threads=1)
                times[name].append(time.perf_counter() - t0)
                if name == "grouped":
                    first = out
                elif not np.array_equal(first, out):
                    raise AssertionError("the two top-k selections disagree")
    finally:
        ev._top_k = grouped
    best = {k: round(min(v[1:]), 3) for k, v in times.items()}
    row = {"task": "neighbour_indices(U, 10, n_threads=1), U 11,283 x 100 float32", "genevec_s": best["grouped"],
           "peer_s": best["partition"], "ratio": round(best["partition"] / best["grouped"], 2),
           "all_s": {k: [round(x, 3) for x in v] for k, v in times.items()}, "load": os.getloadavg()}
    print(json.dumps(row), flush=True)
    _save("topk", row)


# ---------------------------------------------------------------------------------------------- v8
CHILD = r"""
import json, sys, time, resource
sys.path.insert(0, {here!r})
import genevec
from _harness import self_peak_rss
t0 = time.perf_counter()
models = genevec.fit_tissues({gct!r}, {attrs!r}, tissues="all", level="SMTSD", output={folder!r}, verbose=1,
                             **{options!r})
wall = time.perf_counter() - t0
summary = json.loads(models.summary().reset_index().to_json(orient="records"))
print("RESULT", json.dumps(dict(wall_s=wall, timings=models.timings, peak_rss_bytes=self_peak_rss(),
      tissues=models.tissues, skipped=models.skipped, summary=summary,
      genes=len(models[models.tissues[0]]))), flush=True)
"""


def _proc_cpu_and_peak(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system, all threads) and VmHWM bytes of a running process, from /proc."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/status") as fh:
        hwm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))
    return cpu, hwm


def _watch(proc, tail, progress_path: Path, every: float = 2.0) -> dict:
    """While the child runs: the CPU seconds at each tissue's verbose line, its peak RSS, written to
    ``progress_path`` as they come (so a run stopped before the end still leaves its per-tissue rows)."""
    done = re.compile(r"\] (\d+)/(\d+) (.*?): ([\d,]+) samples, ([\d,]+) genes, ([\d.]+) s "
                      r"\(fit ([\d.]+), quality ([\d.]+), stability ([\d.]+)\)")
    state = {"cpu_per_tissue_s": {}, "rows": [], "peak_rss_bytes": 0, "read_cpu_s": None}
    last_cpu = 0.0
    while True:
        finished = proc.poll() is not None
        try:
            cpu, hwm = _proc_cpu_and_peak(proc.pid)
            state["peak_rss_bytes"] = max(state["peak_rss_bytes"], hwm)
        except (OSError, StopIteration, ValueError):
            cpu = last_cpu
        for line in tail.readlines():
            if "in one pass" in line and state["read_cpu_s"] is None:
                state["read_cpu_s"] = round(cpu, 1)
                last_cpu = cpu
            m = done.search(line)
            if m:
                state["cpu_per_tissue_s"][m.group(3)] = round(cpu - last_cpu, 1)
                state["rows"].append({"tissue": m.group(3), "samples": int(m.group(4).replace(",", "")),
                                      "wall_s": float(m.group(6)), "cpu_s": round(cpu - last_cpu, 1),
                                      "fit_s": float(m.group(7)), "quality_s": float(m.group(8)),
                                      "stability_s": float(m.group(9)), "load": os.getloadavg()[0]})
                last_cpu = cpu
                progress_path.write_text(json.dumps(state, indent=1) + "\n")
        if finished:
            return state
        time.sleep(every)


def step_v8(scratch: Path, options: dict) -> None:
    gct, attrs = _paths(scratch)
    tag = "_".join(f"{k}{v}" for k, v in options.items())
    folder = scratch / ("collection" + (f"_{tag}" if tag else ""))
    if folder.exists():
        import shutil

        shutil.rmtree(folder)  # a fresh run, not a resumed one
    log_path = scratch / ("v8" + (f"_{tag}" if tag else "") + ".log")
    code = CHILD.format(here=str(HERE), gct=str(gct), attrs=str(attrs), folder=str(folder), options=options)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO), os.environ.get("PYTHONPATH", "")])}
    load = os.getloadavg()
    t0 = time.perf_counter()
    progress_path = log_path.with_suffix(".progress.json")
    out_path = log_path.with_suffix(".stdout")
    with open(log_path, "w") as log, open(log_path) as tail, open(out_path, "w") as out:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=log, text=True, env=env)
        watched = _watch(proc, tail, progress_path)
    stdout = out_path.read_text()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"fit_tissues failed ({proc.returncode}); see {log_path} and {progress_path}")
    result = json.loads(next(line for line in stdout.splitlines() if line.startswith("RESULT"))[7:])
    per = {t: v for t, v in result["timings"].items() if isinstance(v, dict)}
    totals = {t: sum(v.values()) for t, v in per.items()}
    fit_phase = sum(totals.values())
    row = {
        "options": options, "wall_s_child": round(result["wall_s"], 1), "wall_s_process": round(wall, 1),
        "read_s": round(result["timings"]["read_seconds"], 1), "fit_phase_s": round(fit_phase, 1),
        "fit_s": round(sum(v["fit"] for v in per.values()), 1),
        "quality_s": round(sum(v["quality"] for v in per.values()), 1),
        "stability_s": round(sum(v["stability"] for v in per.values()), 1),
        "per_tissue_s_min_median_max": [round(float(q), 1) for q in np.percentile(list(totals.values()), [0, 50, 100])],
        "slowest": max(totals, key=totals.get), "fastest": min(totals, key=totals.get),
        "peak_rss_bytes": result["peak_rss_bytes"], "peak_rss_bytes_watched": watched["peak_rss_bytes"],
        "read_cpu_s": watched["read_cpu_s"],
        "ru_maxrss_children_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
        "cpu_s_child": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
                             + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime, 1),
        "tissues": len(result["tissues"]), "skipped": result["skipped"], "genes": result["genes"],
        "load_before": load, "load_after": os.getloadavg(), "per_tissue": result["timings"],
        "summary": result["summary"], "log": str(log_path), "cpu_per_tissue_s": watched["cpu_per_tissue_s"],
    }
    print(json.dumps({k: v for k, v in row.items() if k not in ("per_tissue", "summary")}), flush=True)
    _save("v8" + (f" {tag}" if tag else ""), row)


# ---------------------------------------------------------------------------------------------- real
_FITTED: dict = {}


def _fit(gct, attrs, level, **kw):
    """fit_tissues of every tissue at ``level``; kept for the steps after it in the same run."""
    import genevec

    key = (str(gct), str(attrs), level, tuple(sorted(kw.items())))
    if key not in _FITTED:
        t0 = time.perf_counter()
        models = genevec.fit_tissues(gct, attrs, tissues="all", level=level, **kw)
        _FITTED[key] = (models, time.perf_counter() - t0)
    return _FITTED[key]


def step_real() -> None:
    runs = {
        "skin/bladder SMTSD, min_samples=5": (SKIN_GCT, SKIN_ATTRS, "SMTSD", {"min_samples": 5}),
        "skin/bladder SMTS, min_samples=5": (SKIN_GCT, SKIN_ATTRS, "SMTS", {"min_samples": 5}),
        "LCL by population (SMTSD)": (LCL_GCT, LCL_ATTRS, "SMTSD", {}),
    }
    out = {}
    for name, (gct, attrs, level, kw) in runs.items():
        models, seconds = _fit(gct, attrs, level, **kw)
        out[name] = {"seconds": round(seconds, 1), "kwargs": kw, "level": level, "genes": len(models[models.tissues[0]]),
                     "skipped": models.skipped, "summary": _summary_rows(models),
                     "timings": models.timings}
        print(name, f"{seconds:.1f} s", flush=True)
        print(models.summary().round(3).to_string(), flush=True)
    _save("real", {"runs": out})


# ---------------------------------------------------------------------------------------------- null
def step_null(seeds, scratch: Path, n_splits=(5,)) -> None:
    import pandas as pd

    attrs = pd.read_csv(BLOOD_ATTRS, sep="\t")
    rows = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        labels = np.where(rng.permutation(len(attrs)) < len(attrs) // 2, "A", "B")
        path = scratch / f"blood_null_seed{seed}.txt"
        scratch.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"SAMPID": attrs["SAMPID"], "SMTS": labels}).to_csv(path, sep="\t", index=False)
        for splits in n_splits:
            rows.append(_null_row(seed, splits, path))
    _save("null", {"rows": rows})


def _null_row(seed, splits, path) -> dict:
    import genevec

    t0 = time.perf_counter()
    models = genevec.fit_tissues(BLOOD_GCT, path, level="SMTS", random_state=0, n_splits=splits)
    table = models.shifts("A", "B", top=None)
    row = {"seed": seed, "n_splits": splits, "samples": {t: models.n_samples(t) for t in models.tissues},
           "genes": int(len(table)), "shifted": int(table["shifted"].sum()),
           "observed_jaccard": round(float(table["jaccard"].mean()), 4),
           "expected_jaccard": round(float(table["expected_jaccard"].mean()), 4),
           "genes_p_below_0.05": int((table["p_value"] < 0.05).sum()),
           "min_q": round(float(table["q_value"].min()), 4),
           "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(row), flush=True)
    return row


# ---------------------------------------------------------------------------------------------- biology
def _log2_ratio(gct, attrs, level, a, b, genes):
    """log2 of the pooled CPM of tissue a over tissue b, over ``genes`` (CPM over those genes, +0.5 reads)."""
    from genevec.io.samples import _as_attributes, tissue_groups
    from genevec.io.split import read_gct_split

    groups = tissue_groups(_as_attributes(attrs), level, [a, b])
    split = read_gct_split(gct, groups)
    X = {t: split.take(t) for t in (a, b)}
    pooled = {t: X[t].sum(axis=0).reindex(genes).astype(np.float64) for t in (a, b)}
    cpm = {t: (pooled[t] + 0.5) / pooled[t].sum() * 1e6 for t in (a, b)}
    return np.log2(cpm[a] / cpm[b])


def _ranks(table, selected) -> dict:
    """Where ``selected`` genes stand in the calibrated ranking (by p value; 0 = most shifted).

    Genes with the same p value share their mean percentile: on small cohorts most genes have p = 1
    (the split-half null expects no overlap at all), and the table orders those ties by observed Jaccard
    and aligned cosine, which is not the calibrated test.
    """
    from scipy.stats import mannwhitneyu, rankdata

    p = table["p_value"].fillna(2.0).to_numpy()
    pct = (rankdata(p, method="average") - 0.5) / len(table) * 100
    mask = table["gene"].isin(selected).to_numpy()
    if mask.sum() == 0:
        return {"n": 0}
    u = mannwhitneyu(pct[mask], pct[~mask], alternative="two-sided")
    return {"n": int(mask.sum()), "at_p_1": int((p[mask] >= 1.0).sum()), "mean_percentile": round(float(pct[mask].mean()), 1),
            "median_percentile": round(float(np.median(pct[mask])), 1),
            "shifted": int(table.loc[mask, "shifted"].sum()), "mann_whitney_p": float(u.pvalue),
            "top_5_by_score": table.loc[mask, "gene"].head(5).tolist()}


def step_biology() -> None:
    cases = {
        "skin vs bladder (SMTS)": (SKIN_GCT, SKIN_ATTRS, "SMTS", "Skin", "Bladder", {"min_samples": 5}),
        "LCL CEU vs YRI (SMTSD)": (LCL_GCT, LCL_ATTRS, "SMTSD", "LCL_CEU_Montgomery", "LCL_YRI_Pickrell", {}),
    }
    out = {}
    for name, (gct, attrs, level, a, b, kw) in cases.items():
        models, _ = _fit(gct, attrs, level, **kw)
        table = models.shifts(a, b, top=None)
        genes = table["gene"].tolist()
        ratio = _log2_ratio(gct, attrs, level, a, b, genes)
        cut = np.nanpercentile(np.abs(ratio), 95)
        specific = set(ratio.index[np.abs(ratio) >= cut])
        ribosomal = {g for g in genes if RIBOSOMAL.match(g)}
        out[name] = {"genes": len(genes), "shifted": int(table["shifted"].sum()),
                     "genes_at_p_1": int((table["p_value"] >= 1.0).sum()),
                     "top_10": table["gene"].head(10).tolist(),
                     "tissue_specific_top5pct": {"abs_log2_ratio_cut": round(float(cut), 2), **_ranks(table, specific)},
                     "ribosomal_RPL_RPS": _ranks(table, ribosomal),
                     "markers": {g: {"rank": int(i) + 1, "percentile": round((i + 0.5) / len(table) * 100, 1),
                                     "q_value": float(table["q_value"].iloc[i]), "jaccard": float(table["jaccard"].iloc[i]),
                                     "expected_jaccard": float(table["expected_jaccard"].iloc[i])}
                                 for g in MARKERS for i in np.flatnonzero(table["gene"].to_numpy() == g)},
                     "ribosomal_genes": sorted(ribosomal)}
        print(name, json.dumps(out[name]), flush=True)
    _save("biology", {"cases": out})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", nargs="+", default=["generate", "one", "v8", "real", "null", "biology"],
                        choices=["generate", "read", "topk", "one", "v8", "real", "null", "biology"])
    parser.add_argument("--scratch", type=Path, default=Path(os.environ.get("GENEVEC_SCRATCH") or Path(tempfile.gettempdir()) / "genevec_gtexv8"),
                        help="folder for the generated file and the collections (outside the repository)")
    parser.add_argument("--option", action="append", default=[], help="name=value for fit_tissues in the v8 step")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--null-splits", nargs="+", type=int, default=[5], help="n_splits values of the null step")
    args = parser.parse_args(argv)
    options = {}
    for item in args.option:
        k, v = item.split("=", 1)
        options[k] = int(v) if v.lstrip("-").isdigit() else v
    for step in args.steps:
        print(f"=== {step} (load {os.getloadavg()[0]:.1f})", flush=True)
        if step == "generate":
            step_generate(args.scratch)
        elif step == "one":
            step_one(args.scratch)
        elif step == "read":
            step_read(args.scratch)
        elif step == "topk":
            step_topk()
        elif step == "v8":
            step_v8(args.scratch, options)
        elif step == "real":
            step_real()
        elif step == "null":
            step_null(args.seeds, args.scratch, args.null_splits)
        elif step == "biology":
            step_biology()
    return 0


if __name__ == "__main__":
    sys.exit(main())
