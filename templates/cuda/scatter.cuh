/*
 * scatter.cuh: accumulating scatters (index_add_, scatter_add_, index_put_ with accumulate):
 * out[index[i]] += source[i], with atomics so that repeated indices all land. Integer sums are
 * exact; float sums are added in whatever order the threads reach the atomics, so their last
 * bits can differ from run to run (torch's CUDA scatter_add has the same property).
 */
#ifndef GRAPHC_SCATTER_CUH
#define GRAPHC_SCATTER_CUH

#include "elementwise.cuh"
#include "error.cuh"

__device__ __forceinline__ void graphc_atomic_accumulate(float *address, float value)
{
    atomicAdd(address, value);
}

__device__ __forceinline__ void graphc_atomic_accumulate(double *address, double value)
{
    atomicAdd(address, value);
}

__device__ __forceinline__ void graphc_atomic_accumulate(int32_t *address, int32_t value)
{
    atomicAdd((int *)address, (int)value);
}

/* two's complement: unsigned 64-bit addition wraps exactly as int64 addition */
__device__ __forceinline__ void graphc_atomic_accumulate(int64_t *address, int64_t value)
{
    atomicAdd((unsigned long long *)address, (unsigned long long)value);
}

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

#endif  /* GRAPHC_SCATTER_CUH */
