"""The one place that limits BLAS and OpenMP threads (genevec._threads), read back with threadpoolctl."""

import threadpoolctl

import genevec._glove  # noqa: F401  (loads the OpenMP runtime the kernels use)
from genevec._threads import one_blas_thread, openmp_threads


def _threads(user_api):
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == user_api]


def test_one_blas_thread_as_a_context_and_as_a_decorator():
    before = _threads("blas")
    assert before                                     # numpy's and scipy's BLAS are seen
    with one_blas_thread():
        assert set(_threads("blas")) == {1}

    @one_blas_thread()
    def inside():
        return _threads("blas")

    assert set(inside()) == {1}
    assert _threads("blas") == before                 # restored on the way out


def test_openmp_threads_limits_every_runtime_then_restores_it():
    before = _threads("openmp")
    assert before
    with openmp_threads(1):
        assert set(_threads("openmp")) == {1}
    assert _threads("openmp") == before
