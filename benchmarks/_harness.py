"""What every genevec benchmark shares: data loaded once, threads pinned, answers checked, rows written.

A benchmark compares genevec (the *contender*) with a *peer* doing the same job in the same run:

>>> from _harness import Bench                                               # doctest: +SKIP
>>> bench = Bench("tcm")                                                      # doctest: +SKIP
>>> bench.compare("dense", shape, threads=2, contender=f, peer=g, check=same)  # doctest: +SKIP
>>> bench.save()                                                              # doctest: +SKIP

``compare`` runs each side once (warm-up), checks that the answers agree (an ``AssertionError``
stops the benchmark before anything is timed), then alternates contender and peer ``repeats``
times and keeps each side's minimum. Rows go to ``benchmarks/results/<name>.json`` with the task,
shape, threads, both times, ``ratio = peer / genevec`` (above 1: genevec is faster), versions,
the CPU model and the git SHA.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
SEED = 0

if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@lru_cache(maxsize=8)
def gtex_counts(n_samples: int, n_genes: int, seed: int = SEED) -> np.ndarray:
    """GTEx-like counts (float64, C-contiguous, read-only), generated once per shape with a fixed seed."""
    from _generate import gtex_like_counts

    X = np.ascontiguousarray(gtex_like_counts(n_samples, n_genes, seed=seed), dtype=np.float64)
    X.setflags(write=False)
    return X


@lru_cache(maxsize=8)
def sparse_counts(n_samples: int, n_genes: int, density: float, seed: int = SEED):
    """CSR counts with ``density`` nonzeros, Poisson-ish values >= 1 (1 + Poisson(2)), fixed seed."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    nnz_per_row = rng.binomial(n_genes, density, size=n_samples)
    indptr = np.zeros(n_samples + 1, dtype=np.int64)
    np.cumsum(nnz_per_row, out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=np.int32)
    for s in range(n_samples):
        indices[indptr[s]:indptr[s + 1]] = np.sort(rng.choice(n_genes, size=nnz_per_row[s], replace=False))
    data = 1.0 + rng.poisson(2.0, size=indptr[-1]).astype(np.float64)
    return sp.csr_matrix((data, indices, indptr), shape=(n_samples, n_genes))


@contextmanager
def blas_threads(n: int):
    """Hold every BLAS library to ``n`` threads inside the block."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_sha() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@lru_cache(maxsize=1)
def environment() -> dict:
    import scipy
    from threadpoolctl import threadpool_info

    import genevec

    return {
        "genevec": genevec.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "blas": sorted({f"{i['internal_api']} {i['version']}" for i in threadpool_info() if i["user_api"] == "blas"}),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "git": git_sha(),
    }


def _timed(fn):
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


class Bench:
    """Collects comparison rows for one benchmark file and writes ``results/<name>.json``."""

    def __init__(self, name: str, *, repeats: int = 3, quick: bool = False):
        self.name = name
        self.repeats = repeats
        self.quick = quick
        self.rows: list[dict] = []

    def compare(self, task: str, shape, *, threads: int, contender, peer, check, repeats: int | None = None,
                note: str = "", between=None) -> dict:
        """Warm up, check the answers agree, then time contender and peer alternately; keep minima.

        ``between()``, if given, runs (untimed) after each contender/peer round: a third measurement that
        should see the same conditions of the machine, such as ``bench_fit.py``'s host ceiling.
        """
        repeats = self.repeats if repeats is None else repeats
        _, mine = _timed(contender)
        _, theirs = _timed(peer)
        check(mine, theirs)                       # raises before anything is timed
        del mine, theirs
        t_mine, t_peer = [], []
        for _ in range(repeats):
            t, out = _timed(contender)
            del out
            t_mine.append(t)
            t, out = _timed(peer)
            del out
            t_peer.append(t)
            if between is not None:
                between()
        row = {
            "task": task,
            "shape": list(shape),
            "threads": threads,
            "genevec_s": min(t_mine),
            "peer_s": min(t_peer),
            "ratio": min(t_peer) / min(t_mine),
            "repeats": repeats,
            "genevec_all_s": t_mine,
            "peer_all_s": t_peer,
            "note": note,
            **environment(),
        }
        self.rows.append(row)
        print(f"{task:<34} {str(tuple(shape)):<18} threads={threads}  genevec {row['genevec_s']:8.3f} s  "
              f"peer {row['peer_s']:8.3f} s  ratio {row['ratio']:5.2f}", flush=True)
        return row

    def record(self, task: str, shape, **fields) -> dict:
        """A row that is not a timing ratio (e.g. peak memory, a crash probe)."""
        row = {"task": task, "shape": list(shape), **fields, **environment()}
        self.rows.append(row)
        print(f"{task:<34} {str(tuple(shape)):<18} " + "  ".join(f"{k}={v}" for k, v in fields.items()), flush=True)
        return row

    def save(self) -> Path:
        """Write the rows; rows of an earlier run with another (task, shape, threads) are kept."""
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / (f"{self.name}_quick.json" if self.quick else f"{self.name}.json")
        key = lambda r: (r.get("task"), tuple(r.get("shape", ())), r.get("threads"))  # noqa: E731
        new = {key(r) for r in self.rows}
        old = []
        if path.exists():
            try:
                old = [r for r in json.loads(path.read_text()) if key(r) not in new]
            except (ValueError, TypeError):
                old = []
        path.write_text(json.dumps(old + self.rows, indent=1) + "\n")
        print(f"wrote {path.relative_to(REPO)}")
        return path


def serve_glove_epochs(n_genes: int, n_threads: int, dim: int = 100, dtype: str = "float32") -> None:
    """Child side of :class:`EpochChild`: GTEx-like tiles and a fresh model (``dtype``), then epochs on demand.

    Builds ``gtex_counts(328, n_genes)``'s tiles, runs a warm-up epoch and prints ``READY <sha256[:16] of
    W + C> <entries>``; then, for each ``go`` line on stdin, times one epoch (the study's parameters) and
    prints ``EPOCH <seconds>``. Only ``genevec``'s public training API is used, so an older checkout on
    ``PYTHONPATH`` serves too (``bench_versions.py``).
    """
    import hashlib

    from genevec import _layout, glove, tcm

    X = gtex_counts(328, n_genes)
    X = np.ascontiguousarray(X[:, X.sum(axis=0) > 0])
    tiles = tcm.training_tiles(X, _layout.gene_groups(X.shape[1]), dtype=np.dtype(dtype), n_jobs=1)
    params = glove.init_params(tiles.n_genes, dim, np.dtype(dtype), np.random.default_rng(0))
    rng = np.random.default_rng(2)
    kw = dict(x_max=100.0, alpha=0.75, learning_rate=0.05, clip=100.0, rng=rng, n_threads=n_threads)
    glove.run_epoch(tiles, params, **kw)
    print("READY", hashlib.sha256((params.W + params.C).tobytes()).hexdigest()[:16], tiles.n_entries, flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        t0 = time.perf_counter()
        glove.run_epoch(tiles, params, **kw)
        print("EPOCH", time.perf_counter() - t0, flush=True)


def serve_svd_fits(n_genes: int, n_threads: int, dim: int = 100, dtype: str = "float32") -> None:
    """Child side of :class:`EpochChild` for ``solver="svd"``: one timed ``lowrank.fit_lowrank`` per request.

    The same tiles as :func:`serve_glove_epochs`; each request runs the closed form, its exact loss and up to
    2 weighted ALS sweeps (where some weight is below 1) with the same seed, and prints ``EPOCH <seconds>``.
    ``READY`` carries the hash of ``W + C`` of the first (warm-up) fit. ``fit_lowrank``'s signature is the same
    before and after issue 17, so an older checkout serves too.
    """
    import hashlib

    from genevec import _layout, lowrank, tcm

    X = gtex_counts(328, n_genes)
    X = np.ascontiguousarray(X[:, X.sum(axis=0) > 0])
    tiles = tcm.training_tiles(X, _layout.gene_groups(X.shape[1]), n_jobs=1)

    def fit():
        return lowrank.fit_lowrank(tiles, dim, max_iter=2, rng=0, n_threads=n_threads, dtype=np.dtype(dtype))[0]

    params = fit()
    print("READY", hashlib.sha256((params.W + params.C).tobytes()).hexdigest()[:16], tiles.n_entries, flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        t0 = time.perf_counter()
        fit()
        print("EPOCH", time.perf_counter() - t0, flush=True)


class EpochChild:
    """Parent side: a Python child that calls ``serve`` (by name: :func:`serve_glove_epochs`, the default, or
    :func:`serve_svd_fits`) in ``dtype``; one timed epoch (or fit) per request.

    ``start()`` asks for an epoch without waiting, so that several children can run at once;
    ``seconds()`` waits for the answer. ``ready`` holds the words after ``READY`` (hash, entries).
    ``root``, if given, is the checkout the child's ``genevec`` must come from (checked before it serves).
    """

    def __init__(self, n_genes: int, n_threads: int, *, env: dict | None = None, cwd=None, root: str | None = None,
                 serve: str = "serve_glove_epochs", dtype: str = "float32"):
        check = f"import genevec; assert genevec.__file__.startswith({root!r}), genevec.__file__; " if root else ""
        code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); {check}"
                f"from _harness import {serve}; {serve}({n_genes}, {n_threads}, dtype={dtype!r})")
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, cwd=cwd)
        first = self.proc.stdout.readline().split()
        if not first or first[0] != "READY":
            raise SystemExit(f"benchmark child failed to start (exit {self.proc.wait()})")
        self.ready = first[1:]

    def start(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def seconds(self) -> float:
        answer = self.proc.stdout.readline().split()
        if not answer or answer[0] != "EPOCH":
            raise SystemExit(f"benchmark child died during an epoch (exit {self.proc.wait()})")
        return float(answer[1])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def run_python(code: str, *, env: dict | None = None, timeout: float = 1800) -> tuple[int, str, str]:
    """Run ``code`` in a fresh interpreter (repo and benchmarks on sys.path); return (returncode, stdout, stderr).

    A negative return code is the signal that killed it (-11: segmentation fault).
    """
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO), full_env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env,
                          timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


PEAK_RSS_SNIPPET = (
    "\nfrom _harness import self_peak_rss as _peak\n"
    "print('PEAK_RSS_BYTES', _peak())\n"
)


def peak_rss(code: str, **kwargs) -> tuple[int, str]:
    """Peak resident memory (bytes) of ``code`` run in a fresh subprocess, and its stdout."""
    rc, out, err = run_python(code + PEAK_RSS_SNIPPET, **kwargs)
    if rc != 0:
        raise RuntimeError(f"subprocess failed with code {rc}:\n{err[-2000:]}")
    for line in out.splitlines():
        if line.startswith("PEAK_RSS_BYTES"):
            return int(line.split()[1]), out
    raise RuntimeError(f"no peak RSS in the subprocess output:\n{out[-2000:]}")


def self_peak_rss() -> int:
    """Peak resident memory of this process so far, in bytes (VmHWM).

    Not ``getrusage(...).ru_maxrss``: on Linux it survives ``fork`` + ``exec``, so a fresh
    subprocess started by a big parent reports the parent's peak. It is only the fallback where
    there is no ``/proc`` (it counts KiB, bytes on macOS).
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
