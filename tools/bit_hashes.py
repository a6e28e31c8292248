"""SHA-256 of ``embedding_`` for a fixed set of fits on the demo data: a refactor must not move a bit.

    python tools/bit_hashes.py > before.json      # on the old revision
    python tools/bit_hashes.py --compare before.json

Covers both solvers, float32 and float64, 1 and 2 threads, every ``init``, the exp2vec preset, warm
start, a callback stop and a checkpoint resume, ALS sweeps (``x_max`` raised so that weights fall below 1)
and ``score``. Besides the embedding, ``loss_`` and ``loss_curve_`` are recorded (reported separately:
they are values, not the fitted bits).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import warnings

import numpy as np


def _sha(a) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def _data():
    from genevec import datasets

    X = datasets.load_demo()
    return X.iloc[:, ::60]  # ~600 genes, sparse ones included (some are dropped: no co-occurrence)


def cases():
    from genevec import GeneGloVe

    base = dict(dim=12, random_state=0)
    for solver, extra in (("svd", dict(max_iter=3, x_max=1e6)), ("svd", {}), ("sgd", dict(max_iter=4))):
        for dtype in ("float32", "float64"):
            for n_jobs in (1, 2):
                name = f"{solver}-{dtype}-{n_jobs}t" + ("-als" if "x_max" in extra else "")
                yield name, (lambda s=solver, e=extra, d=dtype, j=n_jobs: GeneGloVe(
                    solver=s, dtype=d, n_jobs=j, **base, **e)), {}
    for init in ("random", "svd"):
        yield f"sgd-init-{init}", (lambda i=init: GeneGloVe(solver="sgd", init=i, max_iter=3, n_jobs=2, **base)), {}
    yield "exp2vec", (lambda: GeneGloVe.exp2vec(dim=10, max_iter=3, random_state=1, n_jobs=2)), {}
    yield "sgd-tol", (lambda: GeneGloVe(solver="sgd", max_iter=20, tol=0.05, n_jobs=2, **base)), {}
    yield "sgd-callback-stop", (lambda: GeneGloVe(solver="sgd", max_iter=6, n_jobs=2, **base)), dict(
        callback=lambda epoch, loss, model: epoch == 2)


def run() -> dict:
    from genevec import GeneGloVe

    X = _data()
    out: dict[str, dict] = {}

    def record(name, m):
        out[name] = {"embedding": _sha(m.embedding_), "W": _sha(m.word_vectors_),
                     "loss": repr(float(m.loss_)), "curve": _sha(np.asarray(m.loss_curve_)), "n_iter": m.n_iter_}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, make, kw in cases():
            m = make().fit(X, **kw)
            record(name, m)
            if name in ("svd-float32-2t-als", "sgd-float64-2t"):
                out[name]["score"] = repr(m.score(X.iloc[:20]))
        for solver in ("sgd", "svd"):
            m = GeneGloVe(solver=solver, max_iter=2, warm_start=True, n_jobs=2, dim=8,
                          random_state=np.random.default_rng(3))
            m.fit(X)
            m.fit(X)
            record(f"warm-{solver}", m)
        from genevec import _glove

        for dtype in ("float32", "float64"):  # the generic C path (CPUs without AVX2)
            _glove.set_isa("generic")
            try:
                record(f"sgd-generic-{dtype}", GeneGloVe(solver="sgd", dtype=dtype, max_iter=2, n_jobs=2,
                                                         dim=13, random_state=0).fit(X))
            finally:
                _glove.set_isa("auto")
        with tempfile.TemporaryDirectory() as tmp:
            GeneGloVe(solver="sgd", max_iter=5, dim=8, random_state=0, n_jobs=2).fit(
                X, checkpoint=tmp, checkpoint_every=2, callback=lambda e, loss, m: e == 3)
            m = GeneGloVe(solver="sgd", max_iter=5, dim=8, random_state=0, n_jobs=1).fit(
                X, checkpoint=tmp, resume=True)
            record("checkpoint-resume", m)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", help="a JSON written by an earlier run")
    args = ap.parse_args()
    now = run()
    if not args.compare:
        json.dump(now, sys.stdout, indent=1)
        print()
        return
    before = json.load(open(args.compare))
    bad_bits, moved = [], []
    for name, row in before.items():
        new = now.get(name)
        if new is None or new["embedding"] != row["embedding"] or new["W"] != row["W"] or new["n_iter"] != row["n_iter"]:
            bad_bits.append(name)
        elif any(new.get(k) != row.get(k) for k in ("loss", "curve", "score")):
            moved.append(name)
    print(f"{len(before)} fits: embedding_ bit-identical in {len(before) - len(bad_bits)}"
          + (f"; DIFFERENT: {', '.join(bad_bits)}" if bad_bits else "")
          + (f"; loss values moved (bits of the vectors unchanged): {', '.join(moved)}" if moved else ""))
    sys.exit(1 if bad_bits else 0)


if __name__ == "__main__":
    main()
