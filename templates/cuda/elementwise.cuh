/*
 * elementwise.cuh: the grid-stride loop of an elementwise kernel. Thread t of the grid visits
 * elements t, t + S, t + 2S, ... (S: the threads of the whole grid), so any grid covers any n
 * and a grid capped at a few blocks per multiprocessor still reads memory in coalesced rows.
 */
#ifndef GRAPHC_ELEMENTWISE_CUH
#define GRAPHC_ELEMENTWISE_CUH

#include "graphc_cuda.cuh"

#define GRAPHC_GRID_STRIDE_LOOP(i, n)                                                  \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (int64_t)(n); \
         i += (int64_t)blockDim.x * gridDim.x)

/* blocks of `threads` for n elements: one element per thread, at most max_blocks (the
   grid-stride loop covers the rest) and at least one, so a launch is valid for n == 0 */
__host__ __device__ inline unsigned graphc_grid_blocks(int64_t n, unsigned threads,
                                                       unsigned max_blocks)
{
    const int64_t wanted = (n + threads - 1) / threads;
    return wanted < 1 ? 1u : wanted > (int64_t)max_blocks ? max_blocks : (unsigned)wanted;
}

#endif  /* GRAPHC_ELEMENTWISE_CUH */
