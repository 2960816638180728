/*
 * sort.cuh: graphc_sort_lines and graphc_sort_keyed on the device, the CUDA form of the C
 * runtime's (qsort over each line with eager's comparators, and over randperm's keys). The lines' (value, index) pairs are sorted by CUB's segmented
 * stable sort from the toolkit: keyed by an unsigned integer in eager's order (-0.0 equal to
 * 0.0, NaN above +inf, so NaN goes last ascending and first descending), because CUB compares
 * floating keys with `<` in short segments and by their bits in long ones, and neither puts NaN
 * where eager does. Stability keeps equal values in their order, as eager's comparators do.
 * Under the host emulation, host_emulation.h defines the CUB routine over host memory.
 */
#ifndef GRAPHC_SORT_CUH
#define GRAPHC_SORT_CUH

#include "elementwise.cuh"
#ifdef __CUDACC__
#include <cub/device/device_segmented_sort.cuh>
#endif
#include <string.h>

/* (value, index) pairs of a line being sorted, and randperm's (key, index) pairs, as the C
   runtime's */
struct graphc_ranked {
    double value;
    int64_t index;
};

struct graphc_keyed {
    uint64_t key;
    int64_t index;
};

/* an unsigned key whose order is eager's order of the values */
__device__ inline uint64_t graphc_order_key(const graphc_ranked &pair)
{
    const double value = pair.value;
    if (value != value)
        return UINT64_MAX;
    const double canonical = value == 0.0 ? 0.0 : value;
    uint64_t bits;
    memcpy(&bits, &canonical, sizeof bits);
    return bits >> 63 ? ~bits : bits | 0x8000000000000000ull;
}

__device__ inline uint64_t graphc_order_key(const graphc_keyed &pair)
{
    return pair.key;
}

/* each pair's key (complemented for a descending sort: one ascending sort serves both, and
   equal keys still keep their order), its position, and a copy of the pairs (the sort permutes
   positions) */
template <class Pair>
__global__ void graphc_sort_keys(const Pair *__restrict__ lines, int64_t n, int descending,
                                 uint64_t *__restrict__ keys, int64_t *__restrict__ positions,
                                 Pair *__restrict__ copy)
{
    GRAPHC_GRID_STRIDE_LOOP(i, n) {
        const uint64_t key = graphc_order_key(lines[i]);
        keys[i] = descending ? ~key : key;
        positions[i] = i;
        copy[i] = lines[i];
    }
}

/* where line o starts, for o in [0, count] (line o ends where line o + 1 starts) */
__global__ void graphc_line_offsets(int64_t count, int64_t size, int64_t *__restrict__ offsets)
{
    GRAPHC_GRID_STRIDE_LOOP(o, count + 1)
        offsets[o] = o * size;
}

/* the pairs in their sorted positions */
template <class Pair>
__global__ void graphc_sorted_pairs(const Pair *__restrict__ copy,
                                    const int64_t *__restrict__ positions, int64_t n,
                                    Pair *__restrict__ lines)
{
    GRAPHC_GRID_STRIDE_LOOP(i, n)
        lines[i] = copy[positions[i]];
}

#define GRAPHC_SORT_TRY(call)             \
    if ((status = (call)) != cudaSuccess) \
        goto release;

/* `count` lines of `size` pairs, one after another, each sorted by its key on `stream`;
   returns the first failed runtime call's error */
template <class Pair>
static cudaError_t graphc_sort_pairs(cudaStream_t stream, Pair *lines, int64_t count,
                                     int64_t size, int descending)
{
    const int64_t n = count * size;
    const unsigned blocks = graphc_grid_blocks(n, 256, 4096);
    cudaError_t status = cudaSuccess;
    uint64_t *keys = nullptr, *sorted_keys = nullptr;
    int64_t *positions = nullptr, *sorted_positions = nullptr, *offsets = nullptr;
    Pair *copy = nullptr;
    void *work = nullptr;
    size_t work_bytes = 0;
    if (n == 0)
        return cudaSuccess;
    GRAPHC_SORT_TRY(cudaMalloc(&keys, n * sizeof *keys));
    GRAPHC_SORT_TRY(cudaMalloc(&sorted_keys, n * sizeof *sorted_keys));
    GRAPHC_SORT_TRY(cudaMalloc(&positions, n * sizeof *positions));
    GRAPHC_SORT_TRY(cudaMalloc(&sorted_positions, n * sizeof *sorted_positions));
    GRAPHC_SORT_TRY(cudaMalloc(&offsets, (count + 1) * sizeof *offsets));
    GRAPHC_SORT_TRY(cudaMalloc(&copy, n * sizeof *copy));
    GRAPHC_LAUNCH(blocks, 256, 0, stream, graphc_sort_keys<Pair>)(lines, n, descending, keys,
                                                                  positions, copy);
    GRAPHC_LAUNCH(graphc_grid_blocks(count + 1, 256, 4096), 256, 0, stream,
                  graphc_line_offsets)(count, size, offsets);
    GRAPHC_SORT_TRY(cudaGetLastError());
    for (int pass = 0; pass < 2; pass++) {  /* CUB's protocol: the bytes it needs, then the sort */
        GRAPHC_SORT_TRY(cub::DeviceSegmentedSort::StableSortPairs(
            work, work_bytes, keys, sorted_keys, positions, sorted_positions, n, count, offsets,
            offsets + 1, stream));
        if (pass == 0)
            GRAPHC_SORT_TRY(cudaMalloc(&work, work_bytes));
    }
    GRAPHC_LAUNCH(blocks, 256, 0, stream, graphc_sorted_pairs<Pair>)(copy, sorted_positions, n,
                                                                     lines);
    GRAPHC_SORT_TRY(cudaGetLastError());
release:
    cudaFree(work);
    cudaFree(copy);
    cudaFree(offsets);
    cudaFree(sorted_positions);
    cudaFree(positions);
    cudaFree(sorted_keys);
    cudaFree(keys);
    return status;
}

#undef GRAPHC_SORT_TRY

/* the C runtime's two sorts: lines of (value, index) pairs in eager's order, ascending or
   descending, and randperm's keys */
static cudaError_t graphc_sort_lines(cudaStream_t stream, graphc_ranked *lines, int64_t count,
                                     int64_t size, int descending)
{
    return graphc_sort_pairs(stream, lines, count, size, descending);
}

static cudaError_t graphc_sort_keyed(cudaStream_t stream, graphc_keyed *keyed, int64_t n)
{
    return graphc_sort_pairs(stream, keyed, 1, n, 0);
}

#endif  /* GRAPHC_SORT_CUH */
