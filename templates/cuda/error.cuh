/*
 * error.cuh: a device-side error record that keeps the first bad element of a launch.
 *
 * Eager code (and the C backend's serial loops) stop at the first bad element, so their message
 * names the lowest failing position. Threads of a grid fail in any order; each one lowers
 * `position` with atomicMin, and only a thread that lowered it writes the details (value, size,
 * dim, kind: the meaning of the C backend's graphc_error[0..3]). The details are written under a
 * small lock, re-checking that the position is still the writer's own, so a lower position that
 * arrived in between is never overwritten by a higher one. Only failing threads take the lock.
 *
 * `position` orders failures as the serial loop meets them: element i with `checks` checks per
 * element passes i * checks + check. `kind` picks eager's exception and message as
 * graphc.compile's raise_error reads them (0: advanced indexing's IndexError, 1: gather's and
 * scatter's RuntimeError, ...); entry.cu.j2 adds 14, a failed CUDA runtime call.
 */
#ifndef GRAPHC_ERROR_CUH
#define GRAPHC_ERROR_CUH

#include "graphc_cuda.cuh"

#define GRAPHC_NO_ERROR_POSITION 0xffffffffffffffffull

struct graphc_error_record {
    unsigned long long position;  // GRAPHC_NO_ERROR_POSITION while nothing failed
    long long value, size;        // the bad index and the size it must lie within
    int dim, kind;                // the dimension the message names, the exception's kind
    int lock;                     // 1 while a thread writes the details
};

/* the record of a launch with no failure yet (copy it to the device before the launch) */
__host__ __device__ inline graphc_error_record graphc_no_error()
{
    return {GRAPHC_NO_ERROR_POSITION, 0, 0, 0, 0, 0};
}

__device__ inline void graphc_report_error(graphc_error_record *record,
                                           unsigned long long position, long long value,
                                           long long size, int dim, int kind)
{
    GRAPHC_RACE_WINDOW();
    if (atomicMin(&record->position, position) <= position)
        return;  // a position as low or lower already failed
    GRAPHC_RACE_WINDOW();
    while (atomicCAS(&record->lock, 0, 1) != 0) {
    }
    __threadfence();
    if (atomicAdd(&record->position, 0ull) == position) {  // an atomic read: still the lowest?
        GRAPHC_RACE_WINDOW();
        *(volatile long long *)&record->value = value;
        *(volatile long long *)&record->size = size;
        *(volatile int *)&record->dim = dim;
        *(volatile int *)&record->kind = kind;
    }
    __threadfence();
    atomicExch(&record->lock, 0);
}

/* whether a launch before this one failed (a launch that checks returns at once: the call
   stops at its first failure, as the C code does) */
__device__ inline bool graphc_failed(const graphc_error_record *record)
{
    return *(const volatile unsigned long long *)&record->position != GRAPHC_NO_ERROR_POSITION;
}

/* an index checked against a dimension of `size` (negative indices count from the end):
   returns it wrapped into [0, size), or -1 after reporting it */
__device__ inline int64_t graphc_checked_index(graphc_error_record *record,
                                               unsigned long long position, int64_t index,
                                               int64_t size, int dim, int kind)
{
    if (index < -size || index >= size) {
        graphc_report_error(record, position, index, size, dim, kind);
        return -1;
    }
    return index < 0 ? index + size : index;
}

#endif  /* GRAPHC_ERROR_CUH */
