/*
 * scatter_add.cuh: a hand-written accumulating scatter over templates/cuda's atomics and error
 * record, the test program of tests/test_cuda_emulation.py that races threads through the
 * record's protocol.
 */
#ifndef GRAPHC_TEST_SCATTER_ADD_CUH
#define GRAPHC_TEST_SCATTER_ADD_CUH

#include "elementwise.cuh"
#include "error.cuh"
#include "scatter.cuh"

/* out[index[i]] += source[i] for i in [0, n), out having `size` elements; a bad index is
   reported (kind: the exception eager raises) and its element skipped */
template <class T>
__global__ void graphc_scatter_add(const int64_t *__restrict__ index,
                                   const T *__restrict__ source, int64_t n, int64_t size,
                                   T *__restrict__ out, graphc_error_record *error, int kind)
{
    GRAPHC_GRID_STRIDE_LOOP(i, n) {
        const int64_t target = graphc_checked_index(error, i, index[i], size, 0, kind);
        if (target >= 0)
            graphc_atomic_accumulate(out + target, source[i]);
    }
}

#endif  /* GRAPHC_TEST_SCATTER_ADD_CUH */
