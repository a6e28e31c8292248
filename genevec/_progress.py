"""One progress reporter for every long loop: phase lines and iteration lines on stderr.

``verbose`` decides what is said: a line is printed when ``verbose >= level``. Iteration lines read
``epoch 10/50  loss 0.0123  3.2 s  (about 2 min left)``; the time left is the mean time per iteration
so far times the iterations left. Nothing goes to stdout (``genevec similar EGFR > out.tsv`` stays
clean), and the library never configures logging.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float) -> str:
    """``"45 s"``, ``"12 min"``, ``"2 h 05 min"``: two significant units at most.

    Examples
    --------
    >>> from genevec._progress import format_duration
    >>> format_duration(4.2), format_duration(754), format_duration(7510)
    ('4 s', '13 min', '2 h 05 min')
    """
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    hours, rest = divmod(round(seconds / 60), 60)
    return f"{hours} h {rest:02d} min"


class Progress:
    """Lines on stderr for one phase or loop, silent below its level.

    Parameters
    ----------
    verbose : int
        The caller's verbosity.
    prefix : str, default=""
        Put before every line, e.g. ``"[GeneGloVe] "``.

    Examples
    --------
    >>> p = Progress(0)
    >>> p.say(1, "not shown")
    >>> loop = p.loop(1, "epoch", 3)
    >>> loop.step(1, 0.5, 0.1)
    """

    def __init__(self, verbose: int = 0, prefix: str = ""):
        self.verbose = int(verbose)
        self.prefix = prefix

    def say(self, level: int, message: str) -> None:
        """Print ``prefix + message`` when ``verbose >= level``."""
        if self.verbose >= level:
            print(f"{self.prefix}{message}", file=sys.stderr, flush=True)

    def loop(self, level: int, name: str, total: int, *, first: int = 1, loss_format: str = ".4g",
             eta: bool = True) -> "Loop":
        """A reporter for iterations ``first .. total`` of a loop called ``name``."""
        return Loop(self, level, name, int(total), int(first), loss_format, eta)


class Loop:
    """Iteration lines of one loop; see :meth:`Progress.loop`."""

    def __init__(self, progress: Progress, level: int, name: str, total: int, first: int, loss_format: str,
                 eta: bool):
        self.progress, self.level, self.name, self.total, self.first = progress, level, name, total, first
        self.loss_format, self.eta = loss_format, eta
        self.t_first = time.perf_counter()

    def step(self, i: int, loss: float, seconds: float) -> None:
        """``name i/total  loss L  S s`` (and the time left, before the last iteration)."""
        if self.progress.verbose < self.level:
            return
        left = ""
        if self.eta and i < self.total:
            per = (time.perf_counter() - self.t_first) / (i - self.first + 1)
            left = f"  (about {format_duration((self.total - i) * per)} left)"
        self.progress.say(self.level, f"{self.name} {i}/{self.total}  loss {loss:{self.loss_format}}  "
                                      f"{seconds:.1f} s{left}")
