/*
 * graphc_cuda.cuh: the first include of every .cu file graphc generates. Under nvcc it is real
 * CUDA; under a host C++ compiler it pulls in host_emulation.h, so the same source runs on a
 * machine without a GPU. Both spell a launch and dynamic shared memory the same way:
 *
 *     GRAPHC_LAUNCH(grid, block, shared_bytes, stream, kernel)(arguments...);
 *     GRAPHC_DYNAMIC_SHARED(float, tile);   (inside a kernel: its shared_bytes as a float *)
 *
 * (the kernel comes last so that a template's commas, as in reduce<sum, float, float>, need
 * no parentheses). GRAPHC_RACE_WINDOW() marks the point of a protocol between threads (the
 * error record's) where another thread may overtake: a pause under the emulation's
 * GRAPHC_WIDEN_RACES, nothing otherwise.
 */
#ifndef GRAPHC_CUDA_CUH
#define GRAPHC_CUDA_CUH

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define GRAPHC_LAUNCH(grid, block, shared_bytes, stream, ...) \
    __VA_ARGS__<<<grid, block, shared_bytes, stream>>>
#define GRAPHC_DYNAMIC_SHARED(type, name)                                  \
    extern __shared__ __align__(16) unsigned char graphc_dynamic_shared[]; \
    type *name = reinterpret_cast<type *>(graphc_dynamic_shared)
#define GRAPHC_RACE_WINDOW() ((void)0)
#else
#include "host_emulation.h"
#endif

/* every lane of a warp takes part in a shuffle */
#define GRAPHC_FULL_WARP 0xffffffffu

#endif  /* GRAPHC_CUDA_CUH */
