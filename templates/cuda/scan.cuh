/*
 * scan.cuh: the block scan of the CUDA dialect's long cumsum and cumprod lines (a block per
 * line: each thread folds its chunk, the chunks' results are scanned across the block, each
 * thread reruns its chunk from its start). The scan is CUB's BlockScan from the toolkit; under
 * the host emulation, host_emulation.h defines it over the emulated block's shared memory.
 */
#ifndef GRAPHC_SCAN_CUH
#define GRAPHC_SCAN_CUH

#include "graphc_cuda.cuh"
#ifdef __CUDACC__
#include <cub/block/block_scan.cuh>
#endif

#endif  /* GRAPHC_SCAN_CUH */
