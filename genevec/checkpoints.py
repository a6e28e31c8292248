"""Checkpoints of an SGD fit: the whole training state, written atomically, resumed bit for bit.

A checkpoint is one ``.npz`` in the folder given to ``GeneGloVe.fit(checkpoint=...)``: the eight
parameter arrays (vectors, biases, AdaGrad sums), the epoch, the loss curve, the random generator's
state, the estimator's parameters and a fingerprint of the training data. Training is deterministic,
so a run resumed from it ends with the bits of an uninterrupted run; a checkpoint written by other
data or other parameters is refused, saying what differs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from .objective import GloVeParams, aligned_copy

__all__ = ["CHECKPOINT_NAME", "Checkpoint", "hash_counts"]

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "genevec-checkpoint.npz"


def hash_counts(X, genes) -> str:
    """A fingerprint of the training data, so that a checkpoint is never resumed on other data."""
    import scipy.sparse as sp

    h = hashlib.sha1()
    h.update(repr(X.shape).encode())
    if sp.issparse(X):
        for part in (X.indptr, X.indices, X.data):
            h.update(np.ascontiguousarray(part).tobytes())
    else:
        h.update(np.ascontiguousarray(X).tobytes())
    h.update("\x00".join(map(str, genes)).encode())
    return h.hexdigest()


class Checkpoint:
    """The checkpoint file of one fit.

    Parameters
    ----------
    folder : str or Path
        Where ``genevec-checkpoint.npz`` is written.
    every : int
        Write after every ``every``-th epoch and after the last one.
    meta : dict of str
        What must match to resume: the estimator's parameters (as strings) and ``"data"``, the fingerprint.
    """

    def __init__(self, folder, every: int, meta: dict):
        self.path = Path(folder) / CHECKPOINT_NAME
        self.every = int(every)
        self.meta = meta

    def exists(self) -> bool:
        return self.path.exists()

    def due(self, epoch: int, last: int) -> bool:
        """Whether to write after ``epoch`` of ``last``."""
        return epoch % self.every == 0 or epoch == last

    def save(self, params: GloVeParams, epoch: int, curve: list[float], rng: np.random.Generator) -> None:
        """Write the training state after ``epoch`` atomically (a crash leaves the previous file whole)."""
        from ._atomic import atomic_write

        self.path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
        meta = {"epoch": epoch, "curve": curve, "rng": rng.bit_generator.state,
                "rng_class": type(rng.bit_generator).__name__, "params": self.meta}
        with atomic_write(self.path, "wb") as fh:
            np.savez(fh, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
        log.info("checkpoint written: %s (epoch %d)", self.path, epoch)

    def load(self, rng: np.random.Generator, dtype) -> tuple[GloVeParams, int, list[float]]:
        """``(params, epoch, curve)`` from the file; ``rng`` is set to the state it had after ``epoch``."""
        path = self.path
        try:
            with np.load(path) as z:
                meta = json.loads(z["meta"].tobytes().decode())
                arrays = {k: z[k] for k in z.files if k != "meta"}
        except Exception as exc:  # a damaged file: say which and what to do
            raise ValueError(f"GeneGloVe: cannot read the checkpoint {path} ({exc}). Delete it to start afresh.") from None
        mine = self.meta
        if meta["params"] != mine:
            diff = sorted(k for k in set(mine) | set(meta["params"]) if mine.get(k) != meta["params"].get(k))
            raise ValueError(
                f"GeneGloVe: the checkpoint {path} was written by a different run (differs in: {', '.join(diff)}). "
                "Resume with the same data and parameters, or point checkpoint= to an empty folder."
            )
        if meta["rng_class"] != type(rng.bit_generator).__name__:
            raise ValueError(f"GeneGloVe: the checkpoint used a {meta['rng_class']} random generator; "
                             "pass the same kind of random_state to resume.")
        rng.bit_generator.state = meta["rng"]
        params = GloVeParams(**{k: aligned_copy(v, dtype) for k, v in arrays.items()})
        return params, int(meta["epoch"]), [float(v) for v in meta["curve"]]
