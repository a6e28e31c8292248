"""BLAS held to one thread while genevec's own threads call it: one cached controller, one helper.

genevec's kernels run their own OpenMP (or Python) threads and call BLAS from each of them; a
multithreaded BLAS inside would oversubscribe the cores, and the result must not depend on how many
threads BLAS used. As scikit-learn's ``_kmeans.py`` (``_threadpool_controller_decorator``), one
``threadpoolctl.ThreadpoolController`` is built once (inspecting the loaded libraries costs
milliseconds) and every limit goes through it. :func:`one_blas_thread` is a context manager and,
called, a decorator:

    @one_blas_thread()
    def kernel_driver(...): ...

    with one_blas_thread():
        ...
"""

from __future__ import annotations

import contextlib
from functools import lru_cache

__all__ = ["one_blas_thread", "openmp_threads"]


@lru_cache(maxsize=1)
def _controller():
    import scipy.linalg  # noqa: F401  (loads the BLAS the kernels call, so that the controller sees it)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def one_blas_thread():
    """Hold every BLAS library to one thread; usable as ``with one_blas_thread():`` or ``@one_blas_thread()``."""
    with _controller().limit(limits=1, user_api="blas"):
        yield


@contextlib.contextmanager
def openmp_threads(n_threads: int):
    """Hold the OpenMP runtimes to ``n_threads`` (scikit-learn's KMeans and TSNE in :mod:`genevec.maps`).

    Not through the cached controller: scikit-learn brings its own OpenMP runtime, which may be loaded
    only after the controller was built, so the runtimes are looked up at each call.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_threads, user_api="openmp"):
        yield
