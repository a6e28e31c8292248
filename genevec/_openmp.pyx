# cython: language_level=3
"""What OpenMP gives this build: is it there, and how many threads may we use."""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define GENEVEC_OPENMP 1
    #else
    #define GENEVEC_OPENMP 0
    static int omp_get_max_threads(void) { return 1; }
    #endif
    """
    int GENEVEC_OPENMP
    int omp_get_max_threads() nogil


def openmp_enabled():
    """Return True if the compiled kernels were built with OpenMP."""
    return bool(GENEVEC_OPENMP)


def omp_max_threads():
    """Return OpenMP's ``omp_get_max_threads()`` (1 without OpenMP)."""
    return omp_get_max_threads()
