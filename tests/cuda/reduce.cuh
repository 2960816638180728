/*
 * reduce.cuh: hand-written block tree reductions with warp shuffles, and the two-pass form for
 * long inputs: a test program of the host emulation (its shuffles, barriers and shared memory,
 * bit for bit against a numpy model). The CUDA dialect prints its own reductions from the
 * kernel IR's folds (graphc/codegen/render/cuda.py).
 *
 * The combining order is fixed (no atomics), so a reduction gives the same bits on every run
 * and under host emulation:
 *   1. thread t of the grid folds its grid-stride share x[t], x[t + S], ... left to right,
 *      starting from the identity (S: the grid's threads);
 *   2. each warp folds its 32 lanes as a tree: lane l takes lane l + 16, then l + 8, 4, 2, 1;
 *   3. warp 0 folds the warps' results the same way (missing warps read as the identity);
 *   4. thread 0 of block b writes the block's result: the answer when the grid is one block,
 *      else partial b, which a second launch of one block folds by steps 1-3.
 * Along the last dimension (graphc_reduce_rows, graphc_argmax_rows) a block folds whole rows.
 * Blocks are 1-D with blockDim.x a multiple of 32 (at most 1024).
 *
 * Max with argmax follows torch: NaN wins (the first NaN), and of equal values the lowest
 * index wins, so the answer is the first position of the maximum whatever the order of folds.
 * An empty input gives the identity (max: -inf and index INT64_MAX); torch raises there, so
 * the caller checks the length first. Max is for floating types (its identity is -inf).
 */
#ifndef GRAPHC_REDUCE_CUH
#define GRAPHC_REDUCE_CUH

#include "elementwise.cuh"

struct graphc_sum_op {
    template <class T>
    __device__ static T identity() { return T(0); }
    template <class T>
    __device__ static T combine(T a, T b) { return a + b; }
};

/* NaN propagates as in torch.max */
struct graphc_max_op {
    template <class T>
    __device__ static T identity() { return -INFINITY; }
    template <class T>
    __device__ static T combine(T a, T b) { return (a != a || a >= b) ? a : b; }
};

/* lane 0 of each warp ends with the fold of the warp's 32 values */
template <class Op, class T>
__device__ __forceinline__ T graphc_warp_reduce(T value)
{
    for (int offset = warpSize / 2; offset > 0; offset /= 2)
        value = Op::combine(value, __shfl_down_sync(GRAPHC_FULL_WARP, value, offset));
    return value;
}

/* thread 0 ends with the fold of the block's values (every thread of the block must call it) */
template <class Op, class T>
__device__ T graphc_block_reduce(T value)
{
    __shared__ T warp_results[32];
    const unsigned lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
    value = graphc_warp_reduce<Op>(value);
    if (lane == 0)
        warp_results[warp] = value;
    __syncthreads();
    if (warp == 0) {
        value = lane < blockDim.x / warpSize ? warp_results[lane] : Op::template identity<T>();
        value = graphc_warp_reduce<Op>(value);
    }
    __syncthreads();  // the next call may reuse warp_results
    return value;
}

/* pass 1 (or the only pass, on a grid of one block): block b folds its grid-stride share of
   x[0 .. n) into out[b], in the accumulator type Acc */
template <class Op, class T, class Acc>
__global__ void graphc_reduce_partials(const T *__restrict__ x, int64_t n, Acc *__restrict__ out)
{
    Acc value = Op::template identity<Acc>();
    GRAPHC_GRID_STRIDE_LOOP(i, n)
        value = Op::combine(value, (Acc)x[i]);
    value = graphc_block_reduce<Op>(value);
    if (threadIdx.x == 0)
        out[blockIdx.x] = value;
}

/* pass 2, on one block: folds the `count` partials of pass 1 into *out, converted to T */
template <class Op, class Acc, class T>
__global__ void graphc_reduce_finish(const Acc *__restrict__ partials, int64_t count,
                                     T *__restrict__ out)
{
    Acc value = Op::template identity<Acc>();
    for (int64_t i = threadIdx.x; i < count; i += blockDim.x)
        value = Op::combine(value, partials[i]);
    value = graphc_block_reduce<Op>(value);
    if (threadIdx.x == 0)
        *out = (T)value;
}

/* a reduction along the last dimension: block b folds rows b, b + gridDim.x, ... of the
   (rows, length) array x into out[row], its thread t folding elements t, t + blockDim.x, ...
   of the row before the block tree (graphc_reduce_finish's order) */
template <class Op, class T, class Acc>
__global__ void graphc_reduce_rows(const T *__restrict__ x, int64_t rows, int64_t length,
                                   T *__restrict__ out)
{
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *row = x + r * length;
        Acc value = Op::template identity<Acc>();
        for (int64_t i = threadIdx.x; i < length; i += blockDim.x)
            value = Op::combine(value, (Acc)row[i]);
        value = graphc_block_reduce<Op>(value);
        if (threadIdx.x == 0)
            out[r] = (T)value;
    }
}

/* ------------------------------------------------------------------ max with argmax */

/* a candidate maximum: its value and position (INT64_MAX: no element yet) */
template <class T>
struct graphc_ranked {
    T value;
    int64_t index;
};

template <class T>
__device__ __forceinline__ graphc_ranked<T> graphc_no_maximum()
{
    return {(T)-INFINITY, INT64_MAX};
}

/* the better of two candidates: a NaN, else the larger value, the lower index on ties */
template <class T>
__device__ __forceinline__ graphc_ranked<T> graphc_better(graphc_ranked<T> a, graphc_ranked<T> b)
{
    const bool a_nan = a.value != a.value, b_nan = b.value != b.value;
    bool a_wins;
    if (a_nan || b_nan)
        a_wins = a_nan && (!b_nan || a.index < b.index);
    else
        a_wins = a.value > b.value || (a.value == b.value && a.index < b.index);
    return a_wins ? a : b;
}

template <class T>
__device__ __forceinline__ graphc_ranked<T> graphc_warp_argmax(graphc_ranked<T> best)
{
    for (int offset = warpSize / 2; offset > 0; offset /= 2) {
        graphc_ranked<T> other;
        other.value = __shfl_down_sync(GRAPHC_FULL_WARP, best.value, offset);
        other.index = __shfl_down_sync(GRAPHC_FULL_WARP, best.index, offset);
        best = graphc_better(best, other);
    }
    return best;
}

template <class T>
__device__ graphc_ranked<T> graphc_block_argmax(graphc_ranked<T> best)
{
    __shared__ graphc_ranked<T> warp_results[32];
    const unsigned lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
    best = graphc_warp_argmax(best);
    if (lane == 0)
        warp_results[warp] = best;
    __syncthreads();
    if (warp == 0) {
        best = lane < blockDim.x / warpSize ? warp_results[lane] : graphc_no_maximum<T>();
        best = graphc_warp_argmax(best);
    }
    __syncthreads();
    return best;
}

/* pass 1 (or the only one): block b's maximum of its share into values[b], indices[b] */
template <class T>
__global__ void graphc_argmax_partials(const T *__restrict__ x, int64_t n, T *__restrict__ values,
                                       int64_t *__restrict__ indices)
{
    graphc_ranked<T> best = graphc_no_maximum<T>();
    GRAPHC_GRID_STRIDE_LOOP(i, n)
        best = graphc_better(best, graphc_ranked<T>{x[i], i});
    best = graphc_block_argmax(best);
    if (threadIdx.x == 0) {
        values[blockIdx.x] = best.value;
        indices[blockIdx.x] = best.index;
    }
}

/* pass 2, on one block: the best of the `count` partials */
template <class T>
__global__ void graphc_argmax_finish(const T *__restrict__ values,
                                     const int64_t *__restrict__ indices, int64_t count,
                                     T *__restrict__ value, int64_t *__restrict__ index)
{
    graphc_ranked<T> best = graphc_no_maximum<T>();
    for (int64_t i = threadIdx.x; i < count; i += blockDim.x)
        best = graphc_better(best, graphc_ranked<T>{values[i], indices[i]});
    best = graphc_block_argmax(best);
    if (threadIdx.x == 0) {
        *value = best.value;
        *index = best.index;
    }
}

/* max and argmax along the last dimension, one block per row as graphc_reduce_rows (indices
   count within the row) */
template <class T>
__global__ void graphc_argmax_rows(const T *__restrict__ x, int64_t rows, int64_t length,
                                   T *__restrict__ values, int64_t *__restrict__ indices)
{
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *row = x + r * length;
        graphc_ranked<T> best = graphc_no_maximum<T>();
        for (int64_t i = threadIdx.x; i < length; i += blockDim.x)
            best = graphc_better(best, graphc_ranked<T>{row[i], i});
        best = graphc_block_argmax(best);
        if (threadIdx.x == 0) {
            values[r] = best.value;
            indices[r] = best.index;
        }
    }
}

#endif  /* GRAPHC_REDUCE_CUH */
