/*
 * host_emulation.h: run graphc's CUDA source as host C++, so a machine without a GPU can
 * execute and test the kernels' logic (g++ -x c++ -std=c++17 -pthread). graphc_cuda.cuh
 * includes it when the compiler is not nvcc; nvcc never sees it.
 *
 * What is emulated:
 *   - the qualifiers (__global__, __device__, __host__, __forceinline__, __launch_bounds__;
 *     __restrict__ is g++'s own keyword), dim3/uint3 and warpSize;
 *   - a launch (GRAPHC_LAUNCH): the blocks of the grid run one after another; the threads of a
 *     block run as real std::threads, and __syncthreads() is a barrier they all meet at (a
 *     thread that returned early is not waited for, as on a GPU; a barrier it skipped makes
 *     the launch fail with cudaErrorLaunchFailure instead of hanging);
 *   - __shared__ variables: static locals, so every thread of a block sees the same storage
 *     (blocks run one at a time, and launches are serialised, so one copy serves all blocks);
 *     dynamic shared memory through GRAPHC_DYNAMIC_SHARED;
 *   - warp shuffles (__shfl_sync, _up_, _down_, _xor_): each lane puts its value in the block's
 *     shuffle scratch, the warp meets at a barrier, each lane reads its source lane, the warp
 *     meets again. Warps are the block's threads in groups of 32 by linear thread index;
 *   - atomics (atomicAdd, atomicMin, atomicMax, atomicCAS, atomicExch) on host memory, with
 *     compare-and-swap loops on the values' bits: their results are those a GPU gives in some
 *     order of the competing threads;
 *   - the runtime calls graphc's host code makes (cudaMalloc, cudaMemcpy[Async], cudaMemset
 *     [Async], cudaFree, streams, cudaDeviceSynchronize, cudaGetLastError) over host memory
 *     (a buffer is exactly as long as asked, so -fsanitize=address finds overruns), and the
 *     cuBLAS routines of templates/cuda/cublas.cuh (GEMM as a plain column-major loop nest,
 *     each sum in the operands' type, as BLAS forms it: its last bits may differ from a GPU's),
 *     CUB's segmented stable pair sort of templates/cuda/sort.cuh (std::stable_sort) and its
 *     BlockScan's exclusive scan (templates/cuda/scan.cuh: each thread folds the lower
 *     threads' parts in order);
 *     Every launch and copy finishes before its call returns, so a stream is always idle;
 *   - with -DGRAPHC_WIDEN_RACES, GRAPHC_RACE_WINDOW() pauses the thread, so that a test meets
 *     the interleavings of a protocol between threads that a GPU produces and that the
 *     emulation's schedule would almost never show.
 *
 * What is not: timing and occupancy, the GPU memory model (a race a GPU could expose may stay
 * hidden here, as threads interleave differently; an emulated build under g++
 * -fsanitize=thread reports accesses that no barrier or atomic orders, whatever the
 * interleaving, but knows nothing of GPU caches or fences), warp divergence and lockstep execution
 * (a shuffle's mask is ignored: every existing lane of the warp must take part; reading a
 * lane past the block's last thread returns the reader's own value), uninitialised shared
 * memory (the statics start as zeros, where a GPU leaves garbage), and the limits of real
 * hardware other than the launch's shape (shared memory size, registers).
 */
#ifndef GRAPHC_HOST_EMULATION_H
#define GRAPHC_HOST_EMULATION_H

#ifdef __CUDACC__
#error "host_emulation.h is for host compilers; nvcc compiles the real CUDA"
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <stdlib.h>  // posix_memalign
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#define GRAPHC_EMULATED 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct uint3 {
    unsigned int x, y, z;
};

struct dim3 {
    unsigned int x, y, z;
    dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};

constexpr int warpSize = 32;

inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;

/* ------------------------------------------------------------------ the runtime, on host memory */

enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorLaunchFailure = 719,
};

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};

struct graphc_emulated_stream {};
typedef graphc_emulated_stream *cudaStream_t;

namespace graphc_emu {

inline cudaError_t &last_error()
{
    static cudaError_t error = cudaSuccess;
    return error;
}

inline cudaError_t fail(cudaError_t error)
{
    last_error() = error;
    return error;
}

}  // namespace graphc_emu

inline cudaError_t cudaGetLastError()
{
    const cudaError_t error = graphc_emu::last_error();
    graphc_emu::last_error() = cudaSuccess;
    return error;
}

inline cudaError_t cudaPeekAtLastError() { return graphc_emu::last_error(); }

inline const char *cudaGetErrorString(cudaError_t error)
{
    switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    }
    return "unknown error";
}

template <class T>
cudaError_t cudaMalloc(T **pointer, size_t bytes)
{
    /* 256-byte aligned, as cudaMalloc's memory is, and exactly `bytes` long (at least one),
       so that AddressSanitizer sees a kernel reading or writing past a buffer */
    void *memory = nullptr;
    if (posix_memalign(&memory, 256, bytes ? bytes : 1) != 0)
        memory = nullptr;
    *pointer = static_cast<T *>(memory);
    return memory ? cudaSuccess : graphc_emu::fail(cudaErrorMemoryAllocation);
}

inline cudaError_t cudaFree(void *pointer)
{
    std::free(pointer);
    return cudaSuccess;
}

inline cudaError_t cudaMemcpy(void *to, const void *from, size_t bytes, cudaMemcpyKind)
{
    if (bytes == 0)
        return cudaSuccess;  // a null pointer is fine then (memmove's is not)
    if (!to || !from)
        return graphc_emu::fail(cudaErrorInvalidValue);
    std::memmove(to, from, bytes);
    return cudaSuccess;
}

inline cudaError_t cudaMemcpyAsync(void *to, const void *from, size_t bytes, cudaMemcpyKind kind,
                                   cudaStream_t = nullptr)
{
    return cudaMemcpy(to, from, bytes, kind);
}

inline cudaError_t cudaMemset(void *to, int value, size_t bytes)
{
    if (bytes == 0)
        return cudaSuccess;
    if (!to)
        return graphc_emu::fail(cudaErrorInvalidValue);
    std::memset(to, value, bytes);
    return cudaSuccess;
}

inline cudaError_t cudaMemsetAsync(void *to, int value, size_t bytes, cudaStream_t = nullptr)
{
    return cudaMemset(to, value, bytes);
}

inline cudaError_t cudaStreamCreate(cudaStream_t *stream)
{
    *stream = new graphc_emulated_stream;
    return cudaSuccess;
}

inline cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    delete stream;
    return cudaSuccess;
}

inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

/* ------------------------------------------------------------------ cuBLAS, on host memory */

struct cublasContext {
    cudaStream_t stream;
};
typedef cublasContext *cublasHandle_t;

inline int cublasCreate_v2(cublasHandle_t *handle)
{
    *handle = new cublasContext{nullptr};
    return 0;
}

inline int cublasDestroy_v2(cublasHandle_t handle)
{
    delete handle;
    return 0;
}

inline int cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream)
{
    handle->stream = stream;
    return 0;
}

namespace graphc_emu {

/* column-major C = alpha op(A) op(B) + beta C (op: 1 transposes); C is not read when beta is
   0, as BLAS specifies (an uninitialised output may hold NaN) */
template <class T>
int gemm(int transa, int transb, int m, int n, int k, const T *alpha, const T *a, int lda,
         const T *b, int ldb, const T *beta, T *c, int ldc)
{
    if (m < 0 || n < 0 || k < 0 || lda < 1 || ldb < 1 || ldc < (m > 1 ? m : 1))
        return 7;  /* CUBLAS_STATUS_INVALID_VALUE */
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            T sum = T(0);
            for (int l = 0; l < k; l++)
                sum += (transa ? a[l + (int64_t)i * lda] : a[i + (int64_t)l * lda]) *
                       (transb ? b[j + (int64_t)l * ldb] : b[l + (int64_t)j * ldb]);
            T &out = c[i + (int64_t)j * ldc];
            out = *beta == T(0) ? *alpha * sum : *alpha * sum + *beta * out;
        }
    return 0;
}

}  // namespace graphc_emu

inline int cublasSgemm_v2(cublasHandle_t, int transa, int transb, int m, int n, int k,
                          const float *alpha, const float *a, int lda, const float *b, int ldb,
                          const float *beta, float *c, int ldc)
{
    return graphc_emu::gemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

inline int cublasDgemm_v2(cublasHandle_t, int transa, int transb, int m, int n, int k,
                          const double *alpha, const double *a, int lda, const double *b,
                          int ldb, const double *beta, double *c, int ldc)
{
    return graphc_emu::gemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* ------------------------------------------------------------------ CUB, on host memory */

/* cub::DeviceSegmentedSort::StableSortPairs (templates/cuda/sort.cuh): CUB's two-call protocol
   (a null `work` asks for the bytes), each segment [begin[s], end[s]) stably sorted by key with
   `<`, as CUB orders the integer keys graphc gives it */
namespace cub {
struct DeviceSegmentedSort {
    template <class K, class V, class B, class E>
    static cudaError_t StableSortPairs(void *work, size_t &work_bytes, const K *keys_in,
                                       K *keys_out, const V *values_in, V *values_out, int64_t,
                                       int64_t segments, B begin, E end, cudaStream_t = nullptr)
    {
        if (work == nullptr) {
            work_bytes = 1;
            return cudaSuccess;
        }
        std::vector<int64_t> order;
        for (int64_t s = 0; s < segments; s++) {
            order.clear();
            for (int64_t i = begin[s]; i < end[s]; i++)
                order.push_back(i);
            std::stable_sort(order.begin(), order.end(),
                             [&](int64_t a, int64_t b) { return keys_in[a] < keys_in[b]; });
            for (size_t j = 0; j < order.size(); j++) {
                keys_out[begin[s] + j] = keys_in[order[j]];
                values_out[begin[s] + j] = values_in[order[j]];
            }
        }
        return cudaSuccess;
    }
};
}  // namespace cub

/* ------------------------------------------------------------------ blocks, barriers, warps */

namespace graphc_emu {

/* a group's threads (a block's, a warp's) wait until every thread still running the kernel has
 * arrived; reusable (a generation counter tells one round from the next). A thread that
 * returns from the kernel leaves the group, so the others never wait for it; a barrier that a
 * thread left before reaching it is divergent (undefined on a GPU), and the launch fails. */
class Barrier {
public:
    explicit Barrier(unsigned count) : members_(count), count_(count) {}

    void wait()
    {
        std::unique_lock<std::mutex> lock(mutex_);
        divergent_ = divergent_ || count_ != members_;
        const unsigned generation = generation_;
        if (++arrived_ == count_) {
            release();
            return;
        }
        ready_.wait(lock, [&] { return generation != generation_; });
    }

    void leave()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        --count_;
        if (arrived_ > 0) {
            divergent_ = true;
            if (arrived_ == count_)
                release();
        }
    }

    void rejoin()  // every member, for the next block (no thread is inside)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        count_ = members_;
    }

    bool divergent()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return divergent_;
    }

private:
    void release()
    {
        arrived_ = 0;
        ++generation_;
        ready_.notify_all();
    }

    std::mutex mutex_;
    std::condition_variable ready_;
    const unsigned members_;
    unsigned count_, arrived_ = 0, generation_ = 0;
    bool divergent_ = false;
};

/* what the threads of the running block share */
struct Block {
    unsigned threads;
    Barrier barrier;  // __syncthreads
    Barrier finished;  // the end of a block: every thread, whether it left early or not
    std::vector<std::unique_ptr<Barrier>> warp_barriers;
    std::vector<unsigned long long> shuffle_slots;  // one per thread
    std::vector<unsigned char> dynamic_shared;

    Block(unsigned threads_, size_t shared_bytes)
        : threads(threads_), barrier(threads_), finished(threads_), shuffle_slots(threads_),
          dynamic_shared(shared_bytes + 16)
    {
        for (unsigned first = 0; first < threads; first += warpSize) {
            const unsigned left = threads - first;
            warp_barriers.emplace_back(new Barrier(left < (unsigned)warpSize ? left : warpSize));
        }
    }
};

inline thread_local Block *current_block = nullptr;

inline unsigned linear_thread()
{
    return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
}

/* the value `value` of lane `source` of the calling thread's warp (see the header comment) */
template <class T>
T exchange(T value, int source)
{
    static_assert(sizeof(T) <= sizeof(unsigned long long), "shuffles move at most 8 bytes");
    Block &block = *current_block;
    const unsigned me = linear_thread();
    const unsigned first = me / warpSize * warpSize;
    Barrier &warp = *block.warp_barriers[me / warpSize];
    std::memcpy(&block.shuffle_slots[me], &value, sizeof(T));
    warp.wait();
    T result = value;
    if (first + source < block.threads)
        std::memcpy(&result, &block.shuffle_slots[first + source], sizeof(T));
    warp.wait();  // nobody overwrites a slot before every lane has read it
    return result;
}

inline int lane() { return (int)(linear_thread() % warpSize); }

/* one launch at a time: __shared__ statics and the scratch belong to the running block */
inline std::mutex &launch_mutex()
{
    static std::mutex mutex;
    return mutex;
}

inline void run(dim3 grid, dim3 block_shape, size_t shared_bytes,
                const std::function<void()> &kernel_call)
{
    const unsigned long long threads = (unsigned long long)block_shape.x * block_shape.y *
                                       block_shape.z;
    const unsigned long long blocks = (unsigned long long)grid.x * grid.y * grid.z;
    if (threads == 0 || threads > 1024 || blocks == 0 || block_shape.z > 64 ||
        grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
        fail(cudaErrorInvalidConfiguration);
        return;
    }
    std::lock_guard<std::mutex> one_launch(launch_mutex());
    Block block((unsigned)threads, shared_bytes);
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; t++)
        workers.emplace_back([&, t] {
            current_block = &block;
            gridDim = grid;
            blockDim = block_shape;
            threadIdx = {t % block_shape.x, t / block_shape.x % block_shape.y,
                         t / (block_shape.x * block_shape.y)};
            for (unsigned long long b = 0; b < blocks; b++) {
                blockIdx = {(unsigned)(b % grid.x), (unsigned)(b / grid.x % grid.y),
                            (unsigned)(b / ((unsigned long long)grid.x * grid.y))};
                kernel_call();
                Barrier &warp = *block.warp_barriers[t / warpSize];
                block.barrier.leave();
                warp.leave();
                block.finished.wait();  // the next block reuses the shared memory
                block.barrier.rejoin();
                warp.rejoin();
                block.finished.wait();  // nobody waits on a barrier before it is whole again
            }
            current_block = nullptr;
        });
    for (std::thread &worker : workers)
        worker.join();
    bool divergent = block.barrier.divergent();
    for (const std::unique_ptr<Barrier> &warp : block.warp_barriers)
        divergent = warp->divergent() || divergent;
    if (divergent) {
        std::fprintf(stderr, "graphc host emulation: a __syncthreads, __syncwarp or shuffle that "
                             "not every thread of its block or warp reached\n");
        fail(cudaErrorLaunchFailure);
    }
}

/* GRAPHC_LAUNCH(...)(args): converts the arguments to the kernel's parameter types, as a real
   launch copies them */
template <class... Parameters>
struct Launch {
    void (*kernel)(Parameters...);
    dim3 grid, block;
    size_t shared_bytes;

    template <class... Arguments>
    void operator()(Arguments &&...arguments) const
    {
        run(grid, block, shared_bytes, [&] { kernel(Parameters(arguments)...); });
    }
};

template <class... Parameters>
Launch<Parameters...> launcher(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t,
                               void (*kernel)(Parameters...))
{
    return {kernel, grid, block, shared_bytes};
}

}  // namespace graphc_emu

#define GRAPHC_LAUNCH(grid, block, shared_bytes, stream, ...) \
    graphc_emu::launcher(dim3(grid), dim3(block), shared_bytes, stream, __VA_ARGS__)

#define GRAPHC_DYNAMIC_SHARED(type, name) \
    type *name = reinterpret_cast<type *>(graphc_emu::current_block->dynamic_shared.data())

/* a pause where a protocol between threads could be raced (see graphc_cuda.cuh) */
#ifdef GRAPHC_WIDEN_RACES
namespace graphc_emu {
inline void race_window()  // mostly short, one call in four 2 ms: a thread overtaken
{
    thread_local unsigned state = 2654435761u * (linear_thread() + 1);
    state = state * 1103515245u + 12345u;
    const unsigned draw = state >> 16;
    std::this_thread::sleep_for(std::chrono::microseconds(draw % 4 == 0 ? 2000 : draw % 50));
}
}  // namespace graphc_emu
#define GRAPHC_RACE_WINDOW() graphc_emu::race_window()
#else
#define GRAPHC_RACE_WINDOW() ((void)0)
#endif

inline void __syncthreads() { graphc_emu::current_block->barrier.wait(); }

inline void __syncwarp(unsigned = 0xffffffffu)
{
    graphc_emu::current_block->warp_barriers[graphc_emu::linear_thread() / warpSize]->wait();
}

inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }

template <class T>
T __shfl_sync(unsigned, T value, int source_lane, int width = warpSize)
{
    const int lane = graphc_emu::lane();
    return graphc_emu::exchange(value, lane / width * width + source_lane % width);
}

template <class T>
T __shfl_down_sync(unsigned, T value, unsigned delta, int width = warpSize)
{
    const int lane = graphc_emu::lane();
    const bool inside = lane % width + (int)delta < width;
    return graphc_emu::exchange(value, inside ? lane + (int)delta : lane);
}

template <class T>
T __shfl_up_sync(unsigned, T value, unsigned delta, int width = warpSize)
{
    const int lane = graphc_emu::lane();
    const bool inside = lane % width >= (int)delta;
    return graphc_emu::exchange(value, inside ? lane - (int)delta : lane);
}

template <class T>
T __shfl_xor_sync(unsigned, T value, int lane_mask, int width = warpSize)
{
    const int lane = graphc_emu::lane();
    const int source = lane ^ lane_mask;
    return graphc_emu::exchange(value, source / width == lane / width ? source : lane);
}

/* ------------------------------------------------------------------ CUB's block scan */

/* cub::BlockScan<T, THREADS>(storage).ExclusiveScan(input, output, initial, op) (scan.cuh):
   each thread's output is `initial` folded with the inputs of the block's lower threads, in
   thread order; the threads meet before and after, as CUB's do (its storage may be reused
   after a __syncthreads) */
namespace cub {
template <class T, int THREADS>
class BlockScan {
public:
    struct TempStorage {
        T parts[THREADS];
    };

    explicit BlockScan(TempStorage &storage) : storage_(storage) {}

    template <class Op>
    void ExclusiveScan(T input, T &output, T initial, Op op)
    {
        const unsigned me = graphc_emu::linear_thread();
        if (graphc_emu::current_block->threads != (unsigned)THREADS)
            graphc_emu::fail(cudaErrorLaunchFailure);  // a scan of another block's shape
        storage_.parts[me] = input;
        __syncthreads();
        T prefix = initial;
        for (unsigned t = 0; t < me; t++)
            prefix = op(prefix, storage_.parts[t]);
        __syncthreads();
        output = prefix;
    }

private:
    TempStorage &storage_;
};
}  // namespace cub

/* ------------------------------------------------------------------ atomics */

namespace graphc_emu {

/* *address = update(*address) atomically; returns the old value */
template <class T, class Update>
T atomic_update(T *address, Update update)
{
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "atomics act on 4- or 8-byte words");
    typedef typename std::conditional<sizeof(T) == 4, uint32_t, uint64_t>::type Bits;
    Bits *word = reinterpret_cast<Bits *>(address);
    Bits seen = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    for (;;) {
        T old_value, new_value;
        std::memcpy(&old_value, &seen, sizeof(T));
        new_value = update(old_value);
        Bits wanted;
        std::memcpy(&wanted, &new_value, sizeof(T));
        if (__atomic_compare_exchange_n(word, &seen, wanted, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return old_value;
    }
}

}  // namespace graphc_emu

/* name(address, value): *address = expression (of old and value), atomically; returns old */
#define GRAPHC_EMULATED_ATOMIC(name, type, expression)                 \
    inline type name(type *address, type value)                       \
    {                                                                 \
        return graphc_emu::atomic_update(address, [value](type old) { \
            (void)old;                                                \
            return (type)(expression);                                \
        });                                                           \
    }

GRAPHC_EMULATED_ATOMIC(atomicAdd, int, old + value)
GRAPHC_EMULATED_ATOMIC(atomicAdd, unsigned int, old + value)
GRAPHC_EMULATED_ATOMIC(atomicAdd, unsigned long long, old + value)
GRAPHC_EMULATED_ATOMIC(atomicAdd, float, old + value)
GRAPHC_EMULATED_ATOMIC(atomicAdd, double, old + value)
GRAPHC_EMULATED_ATOMIC(atomicMin, int, old < value ? old : value)
GRAPHC_EMULATED_ATOMIC(atomicMin, unsigned int, old < value ? old : value)
GRAPHC_EMULATED_ATOMIC(atomicMin, long long, old < value ? old : value)
GRAPHC_EMULATED_ATOMIC(atomicMin, unsigned long long, old < value ? old : value)
GRAPHC_EMULATED_ATOMIC(atomicMax, int, old > value ? old : value)
GRAPHC_EMULATED_ATOMIC(atomicMax, unsigned int, old > value ? old : value)
GRAPHC_EMULATED_ATOMIC(atomicMax, long long, old > value ? old : value)
GRAPHC_EMULATED_ATOMIC(atomicMax, unsigned long long, old > value ? old : value)
GRAPHC_EMULATED_ATOMIC(atomicExch, int, value)
GRAPHC_EMULATED_ATOMIC(atomicExch, unsigned int, value)
GRAPHC_EMULATED_ATOMIC(atomicExch, unsigned long long, value)
GRAPHC_EMULATED_ATOMIC(atomicExch, float, value)
#undef GRAPHC_EMULATED_ATOMIC

/* atomicCAS(address, compare, value): *address = value if it was compare; returns old */
#define GRAPHC_EMULATED_CAS(type)                                               \
    inline type atomicCAS(type *address, type compare, type value)              \
    {                                                                           \
        return graphc_emu::atomic_update(address, [compare, value](type old) { \
            return old == compare ? value : old;                                \
        });                                                                     \
    }

GRAPHC_EMULATED_CAS(int)
GRAPHC_EMULATED_CAS(unsigned int)
GRAPHC_EMULATED_CAS(unsigned long long)
#undef GRAPHC_EMULATED_CAS

/* ------------------------------------------------------------------ device intrinsics */

template <class T>
T __ldg(const T *address) { return *address; }

inline unsigned int __umulhi(unsigned int a, unsigned int b)
{
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}

#endif  /* GRAPHC_HOST_EMULATION_H */
