/*
 * gather.cuh: hand-written gathers whose indices are checked on the device (a test program of
 * the error record; the CUDA dialect prints its gathers from the kernel IR):
 * a bad index is reported to the launch's error record (error.cuh) with the lowest position
 * winning, and its element is written as zero (the entry point then copies nothing back).
 */
#ifndef GRAPHC_GATHER_CUH
#define GRAPHC_GATHER_CUH

#include "elementwise.cuh"
#include "error.cuh"

/* out[i, j] = source[index[i], j] for i < n, j < width: rows of `width` elements picked from
   the (rows, width) source (embedding; index_select along dim 0 with width 1 or more) */
template <class T>
__global__ void graphc_gather_rows(const int64_t *__restrict__ index,
                                   const T *__restrict__ source, int64_t n, int64_t rows,
                                   int64_t width, T *__restrict__ out, graphc_error_record *error,
                                   int kind)
{
    GRAPHC_GRID_STRIDE_LOOP(e, n * width) {
        const int64_t i = e / width;
        const int64_t row = graphc_checked_index(error, i, index[i], rows, 0, kind);
        out[e] = row >= 0 ? source[row * width + e % width] : T(0);
    }
}

#endif  /* GRAPHC_GATHER_CUH */
