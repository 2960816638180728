/*
 * scatter.cuh: the atomic accumulation of the CUDA dialect's accumulating scatters (index_add_,
 * scatter_add_, index_put_ with accumulate): out[index[i]] += source[i] on the grid, so that
 * repeated indices all land. Integer sums are exact; float sums are added in whatever order the
 * threads reach the atomics, so their last bits can differ from run to run (torch's CUDA
 * scatter_add has the same property).
 */
#ifndef GRAPHC_SCATTER_CUH
#define GRAPHC_SCATTER_CUH

#include "graphc_cuda.cuh"

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

#endif  /* GRAPHC_SCATTER_CUH */
