"""The CUDA test programs: small .cu programs over the building blocks of templates/cuda (the
grid-stride loop, the error record, atomics, the emulation's threads) with hand-written kernels
(here and in tests/cuda), rendered through templates/cuda/entry.cu.j2, and numpy models of the
combining orders they promise.

tests/test_cuda_emulation.py builds them as host C++ against the emulation header (and with
nvcc -c where nvcc exists); tests/gpu/run_on_device.sh runs the same tests on a GPU.
"""
import pathlib

import numpy as np

from graphc.codegen import cuda_check

# hand-written kernels of the test programs alone (the CUDA dialect prints its own)
_KERNELS = pathlib.Path(__file__).resolve().parent / "cuda"


def _kernels(name):
    return (_KERNELS / name).read_text()


def _entry(name, comment, buffers, launches, scalars=(), slots=False):
    return dict(name=name, comment=comment, buffers=buffers, launches=launches,
                scalars=list(scalars), slots=slots)


def _buffer(name, ctype, count, argument=True, copy_in=False, copy_out=False, zero=False):
    return dict(name=name, ctype=ctype, count=count, argument=argument, copy_in=copy_in,
                copy_out=copy_out, zero=zero)


def _launch(kernel, grid, block, arguments, comment, shared_bytes="0"):
    return dict(kernel=kernel, grid=grid, block=block, shared_bytes=shared_bytes,
                arguments=arguments, comment=comment)


def _program(comment, headers, kernels, entries):
    return cuda_check.render_program("cuda/entry.cu.j2", comment=comment, headers=headers,
                             kernels=kernels, entries=entries)


# ------------------------------------------------------------------ elementwise

_SCALE_ADD = """\
/* out[i] = x[i] * scale + y[i % m]: a fused elementwise kernel with a broadcast input */
__global__ void scale_add_broadcast(const float *__restrict__ x, const float *__restrict__ y,
                                    int64_t n, int64_t m, float scale, float *__restrict__ out)
{
    GRAPHC_GRID_STRIDE_LOOP(i, n)
        out[i] = x[i] * scale + y[i % m];
}"""


def elementwise():
    entry = _entry(
        name="scale_add", comment="out = x * scale + y (y broadcast along the rows)",
        scalars=[dict(ctype="int64_t", name="n"), dict(ctype="int64_t", name="m"),
                 dict(ctype="float", name="scale"), dict(ctype="unsigned", name="max_blocks")],
        buffers=[_buffer("x", "float", "n", copy_in=True),
                 _buffer("y", "float", "m", copy_in=True),
                 _buffer("out", "float", "n", copy_out=True)],
        launches=[_launch("scale_add_broadcast", "graphc_grid_blocks(n, 64, max_blocks)", "64",
                          "x_device, y_device, n, m, scale, out_device",
                          "one thread per element, grid-stride past max_blocks blocks")])
    return _program("a grid-stride elementwise kernel", ["elementwise.cuh"], [_SCALE_ADD],
                    [entry])


# ------------------------------------------------------------------ reductions

def _reduction_entry(name, comment, ctype, acc, op_kernels, output_buffers, finish_arguments,
                     partial_buffers, partial_arguments):
    partials, finish = op_kernels
    return _entry(
        name=name, comment=comment,
        scalars=[dict(ctype="int64_t", name="n"), dict(ctype="unsigned", name="blocks"),
                 dict(ctype="unsigned", name="threads")],
        buffers=[_buffer("x", ctype, "n", copy_in=True), *partial_buffers, *output_buffers],
        launches=[_launch(partials, "blocks", "threads", f"x_device, n, {partial_arguments}",
                          "pass 1: each block folds its grid-stride share into a partial"),
                  _launch(finish, "1", "threads", finish_arguments,
                          "pass 2: one block folds the partials")])


def reductions():
    entries = []
    for ctype, acc in (("float", "float"), ("double", "double")):
        entries.append(_reduction_entry(
            f"sum_{ctype}", f"the sum of x ({ctype}, accumulated in {acc})", ctype, acc,
            (f"graphc_reduce_partials<graphc_sum_op, {ctype}, {acc}>",
             f"graphc_reduce_finish<graphc_sum_op, {acc}, {ctype}>"),
            [_buffer("out", ctype, "1", copy_out=True)],
            "partials_device, (int64_t)blocks, out_device",
            [_buffer("partials", acc, "blocks", argument=False)], "partials_device"))
        entries.append(_reduction_entry(
            f"max_{ctype}", f"the maximum of x ({ctype}; NaN wins)", ctype, ctype,
            (f"graphc_reduce_partials<graphc_max_op, {ctype}, {ctype}>",
             f"graphc_reduce_finish<graphc_max_op, {ctype}, {ctype}>"),
            [_buffer("out", ctype, "1", copy_out=True)],
            "partials_device, (int64_t)blocks, out_device",
            [_buffer("partials", ctype, "blocks", argument=False)], "partials_device"))
        entries.append(_reduction_entry(
            f"argmax_{ctype}", f"the maximum of x and its first position ({ctype})", ctype,
            ctype, (f"graphc_argmax_partials<{ctype}>", f"graphc_argmax_finish<{ctype}>"),
            [_buffer("value", ctype, "1", copy_out=True),
             _buffer("index", "int64_t", "1", copy_out=True)],
            "values_device, indices_device, (int64_t)blocks, value_device, index_device",
            [_buffer("values", ctype, "blocks", argument=False),
             _buffer("indices", "int64_t", "blocks", argument=False)],
            "values_device, indices_device"))
    row_scalars = [dict(ctype="int64_t", name=name) for name in ("rows", "length")] + [
        dict(ctype="unsigned", name=name) for name in ("blocks", "threads")]
    entries.append(_entry(
        name="sum_rows_float", comment="the sums of the rows of x (float)", scalars=row_scalars,
        buffers=[_buffer("x", "float", "rows * length", copy_in=True),
                 _buffer("out", "float", "rows", copy_out=True)],
        launches=[_launch("graphc_reduce_rows<graphc_sum_op, float, float>", "blocks",
                          "threads", "x_device, rows, length, out_device",
                          "a block per row, grid-stride over the rows")]))
    entries.append(_entry(
        name="argmax_rows_double", comment="the maxima of the rows of x and their positions",
        scalars=row_scalars,
        buffers=[_buffer("x", "double", "rows * length", copy_in=True),
                 _buffer("values", "double", "rows", copy_out=True),
                 _buffer("indices", "int64_t", "rows", copy_out=True)],
        launches=[_launch("graphc_argmax_rows<double>", "blocks", "threads",
                          "x_device, rows, length, values_device, indices_device",
                          "a block per row, grid-stride over the rows")]))
    entries.append(_entry(
        "graphc_entry", "the sum of 1000 floats, called as graphc.compile calls its entry",
        slots=True,
        buffers=[_buffer("x", "float", "1000", copy_in=True),
                 _buffer("partials", "float", "4", argument=False),
                 _buffer("out", "float", "1", copy_out=True)],
        launches=[_launch("graphc_reduce_partials<graphc_sum_op, float, float>", "4", "64",
                          "x_device, (int64_t)1000, partials_device", "pass 1"),
                  _launch("graphc_reduce_finish<graphc_sum_op, float, float>", "1", "64",
                          "partials_device, (int64_t)4, out_device", "pass 2")]))
    return _program("block tree reductions: one and two passes, and along rows",
                    [], [_kernels("reduce.cuh")], entries)


def _warp_tree(values):
    """Lane 0 of a warp after shuffling down by 16, 8, 4, 2, 1 (lanes past 31 read their own)."""
    lanes = values.copy()
    for offset in (16, 8, 4, 2, 1):
        shifted = lanes.copy()
        shifted[:, :32 - offset] = lanes[:, offset:]
        lanes = lanes + shifted
    return lanes[:, 0]


def _block_tree(values, dtype):
    """Thread 0's sum of one block's per-thread values, in the shuffle tree's order."""
    warps = values.reshape(-1, 32)
    warp_sums = np.zeros((1, 32), dtype=dtype)
    warp_sums[0, :warps.shape[0]] = _warp_tree(warps)
    return _warp_tree(warp_sums)[0]


def row_tree_sum(row, threads):
    """The sum graphc_reduce_rows computes for one row, in its order (bit for bit)."""
    dtype = row.dtype.type
    per_thread = np.zeros(threads, dtype=dtype)
    for start in range(0, len(row), threads):
        chunk = row[start:start + threads]
        per_thread[:len(chunk)] += chunk
    return _block_tree(per_thread, dtype)


def tree_sum(x, blocks, threads):
    """The sum reduce.cuh computes, in its combining order, in x's dtype (bit for bit)."""
    dtype = x.dtype.type
    stride = blocks * threads
    per_thread = np.zeros(stride, dtype=dtype)
    for start in range(0, len(x), stride):  # each thread folds its share left to right
        chunk = x[start:start + stride]
        per_thread[:len(chunk)] += chunk
    partials = np.array([_block_tree(per_thread[b * threads:(b + 1) * threads], dtype)
                         for b in range(blocks)], dtype=dtype)
    second = np.zeros(threads, dtype=dtype)
    for start in range(0, blocks, threads):
        chunk = partials[start:start + threads]
        second[:len(chunk)] += chunk
    return _block_tree(second, dtype)


# ------------------------------------------------------------------ scatter and the error flag

def scatter():
    entries = []
    for ctype in ("float", "double", "int64_t"):
        entries.append(_entry(
            name=f"scatter_add_{ctype}", comment=f"out[index[i]] += source[i] ({ctype})",
            scalars=[dict(ctype="int64_t", name="n"), dict(ctype="int64_t", name="size"),
                     dict(ctype="int", name="kind"), dict(ctype="unsigned", name="blocks")],
            buffers=[_buffer("index", "int64_t", "n", copy_in=True),
                     _buffer("source", ctype, "n", copy_in=True),
                     _buffer("out", ctype, "size", copy_in=True, copy_out=True)],
            launches=[_launch(f"graphc_scatter_add<{ctype}>", "blocks", "64",
                              "index_device, source_device, n, size, out_device, error_device, "
                              "kind", "atomics accumulate repeated indices")]))
    return _program("an accumulating scatter with a device-side error flag", [],
                    [_kernels("scatter_add.cuh")], entries)


_TAKE_2D = """\
/* out[i] = source[rows_index[i], columns_index[i]]: two checks per element, ordered as a
   serial loop meets them (position 2i for the row, 2i + 1 for the column) */
__global__ void take_2d(const int64_t *__restrict__ rows_index,
                        const int64_t *__restrict__ columns_index, int64_t n, int64_t rows,
                        int64_t columns, const double *__restrict__ source,
                        double *__restrict__ out, graphc_error_record *error)
{
    GRAPHC_GRID_STRIDE_LOOP(i, n) {
        const int64_t r = graphc_checked_index(error, 2 * i, rows_index[i], rows, 0, 0);
        const int64_t c = graphc_checked_index(error, 2 * i + 1, columns_index[i], columns, 1, 0);
        out[i] = r >= 0 && c >= 0 ? source[r * columns + c] : 0.0;
    }
}"""


def gathers():
    rows = _entry(
        name="gather_rows_float", comment="out[i, :] = source[index[i], :] (embedding)",
        scalars=[dict(ctype="int64_t", name=name) for name in ("n", "rows", "width")] + [
            dict(ctype="int", name="kind")],
        buffers=[_buffer("index", "int64_t", "n", copy_in=True),
                 _buffer("source", "float", "rows * width", copy_in=True),
                 _buffer("out", "float", "n * width", copy_out=True)],
        launches=[_launch("graphc_gather_rows<float>", "graphc_grid_blocks(n * width, 64, 16)",
                          "64", "index_device, source_device, n, rows, width, out_device, "
                          "error_device, kind", "one thread per element of the result")])
    take = _entry(
        name="take_2d_double", comment="out[i] = source[rows_index[i], columns_index[i]]",
        scalars=[dict(ctype="int64_t", name=name) for name in ("n", "rows", "columns")],
        buffers=[_buffer("rows_index", "int64_t", "n", copy_in=True),
                 _buffer("columns_index", "int64_t", "n", copy_in=True),
                 _buffer("source", "double", "rows * columns", copy_in=True),
                 _buffer("out", "double", "n", copy_out=True)],
        launches=[_launch("take_2d", "graphc_grid_blocks(n, 64, 16)", "64",
                          "rows_index_device, columns_index_device, n, rows, columns, "
                          "source_device, out_device, error_device",
                          "advanced indexing with two index tensors")])
    return _program("gathers with checked indices", [], [_kernels("gather.cuh"), _TAKE_2D],
                    [rows, take])


# ------------------------------------------------------------------ the emulation itself

_LANES = """\
/* each thread's results of the four shuffles and of a __syncthreads round trip */
__global__ void lane_exchange(int *down, int *xor_, int *up, int *broadcast, int *neighbour)
{
    __shared__ int slots[1024];
    const int t = threadIdx.x, global = blockIdx.x * blockDim.x + t;
    const int value = 1000 * blockIdx.x + t;
    down[global] = __shfl_down_sync(GRAPHC_FULL_WARP, value, 3);
    xor_[global] = __shfl_xor_sync(GRAPHC_FULL_WARP, value, 5);
    up[global] = __shfl_up_sync(GRAPHC_FULL_WARP, value, 2, 16);
    broadcast[global] = __shfl_sync(GRAPHC_FULL_WARP, value, 7);
    slots[t] = value;
    __syncthreads();
    neighbour[global] = slots[(t + 1) % blockDim.x];
}"""


_COORDINATES = """\
/* where each thread of a 2-D grid of 2-D blocks is, at its linear position (x fastest) */
__global__ void thread_coordinates(int *where)
{
    const int block = blockIdx.x + gridDim.x * blockIdx.y;
    const int thread = threadIdx.x + blockDim.x * threadIdx.y;
    int *out = where + 4 * (block * blockDim.x * blockDim.y + thread);
    out[0] = blockIdx.x;
    out[1] = blockIdx.y;
    out[2] = threadIdx.x;
    out[3] = threadIdx.y;
}"""

_REVERSE = """\
/* each block's slice of x reversed, through dynamic shared memory of blockDim.x doubles */
__global__ void reverse_in_blocks(const double *x, double *out)
{
    GRAPHC_DYNAMIC_SHARED(double, tile);
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    tile[threadIdx.x] = x[i];
    __syncthreads();
    out[i] = tile[blockDim.x - 1 - threadIdx.x];
}"""


_EARLY_EXIT = """\
/* threads from `limit` on return at once; the others meet at a barrier when asked to (a
   barrier some threads skipped: undefined on a GPU) and then write their index */
__global__ void early_exit(int limit, int with_barrier, int *out)
{
    const int t = threadIdx.x;
    if (t >= limit)
        return;
    if (with_barrier)
        __syncthreads();
    out[blockIdx.x * blockDim.x + t] = t;
}"""


def lanes():
    early = _entry(
        name="exit_early", comment="threads returning before others meet at a barrier",
        scalars=[dict(ctype="int", name=name) for name in ("limit", "with_barrier")],
        buffers=[_buffer("out", "int", "2 * 64", zero=True, copy_out=True)],
        launches=[_launch("early_exit", "2", "64", "limit, with_barrier, out_device",
                          "two blocks of 64 threads")])
    coordinates = _entry(
        name="coordinates", comment="threadIdx and blockIdx over a 2-D grid of 2-D blocks",
        scalars=[dict(ctype="unsigned", name=name) for name in ("gx", "gy", "bx", "by")],
        buffers=[_buffer("where", "int", "4 * gx * gy * bx * by", copy_out=True)],
        launches=[_launch("thread_coordinates", "dim3(gx, gy)", "dim3(bx, by)", "where_device",
                          "one record per thread")])
    reverse = _entry(
        name="reverse", comment="blocks of x reversed in dynamic shared memory",
        scalars=[dict(ctype="unsigned", name="blocks"), dict(ctype="unsigned", name="threads")],
        buffers=[_buffer("x", "double", "blocks * threads", copy_in=True),
                 _buffer("out", "double", "blocks * threads", copy_out=True)],
        launches=[_launch("reverse_in_blocks", "blocks", "threads", "x_device, out_device",
                          "a tile per block", shared_bytes="threads * sizeof(double)")])
    entry = _entry(
        name="exchange", comment="the lanes' shuffles and a block barrier",
        scalars=[dict(ctype="unsigned", name="blocks"), dict(ctype="unsigned", name="threads")],
        buffers=[_buffer(name, "int", "blocks * threads", copy_out=True)
                 for name in ("down", "xor_", "up", "broadcast", "neighbour")],
        launches=[_launch("lane_exchange", "blocks", "threads",
                          "down_device, xor__device, up_device, broadcast_device, "
                          "neighbour_device", "one value per thread, exchanged")])
    return _program("threads' coordinates, warp shuffles, __syncthreads, dynamic shared memory",
                    [], [_COORDINATES, _LANES, _REVERSE, _EARLY_EXIT],
                    [coordinates, entry, reverse, early])


# ------------------------------------------------------------------ drivers for the sanitizers

# mains calling a program's entry points, for emulated builds under g++'s sanitizers:
# ThreadSanitizer reports two accesses of one address, one a write, that no barrier or atomic
# orders; AddressSanitizer an access past a buffer; UndefinedBehaviorSanitizer overflows,
# misaligned or out-of-range shifts and the like
SANITIZER_DRIVERS = {
    "reductions": """
#include <vector>
int main()
{
    for (int64_t n : {0, 33, 5000}) {
        std::vector<float> x(n);
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)(i % 7) - 3.0f;
        float sum, maximum, value;
        int64_t index;
        if (sum_float(n, 3, 64, x.data(), &sum) || max_float(n, 3, 64, x.data(), &maximum) ||
            argmax_float(n, 3, 96, x.data(), &value, &index))
            return 1;
    }
    std::vector<float> rows(7 * 100, 1.0f), sums(7);
    std::vector<double> wide(7 * 100, 2.0), maxima(7);
    std::vector<int64_t> positions(7);
    return sum_rows_float(7, 100, 2, 64, rows.data(), sums.data()) ||
           argmax_rows_double(7, 100, 2, 64, wide.data(), maxima.data(), positions.data());
}
""",
    "scatter": """
#include <vector>
int main()
{
    std::vector<int64_t> index(3000);
    std::vector<double> source(3000, 1.0), out(10, 0.0);
    for (int i = 0; i < 3000; i++)
        index[i] = i % 10;
    if (scatter_add_double(3000, 10, 1, 4, index.data(), source.data(), out.data()) != 0)
        return 1;
    for (int i = 1000; i < 3000; i += 3)
        index[i] = 10 + i;
    return scatter_add_double(3000, 10, 1, 4, index.data(), source.data(), out.data()) == 1 &&
           graphc_error_detail(0) == 1010 ? 0 : 1;
}
""",
    "lanes": """
#include <vector>
int main()
{
    std::vector<int> down(128), xor_(128), up(128), broadcast(128), neighbour(128);
    return exchange(2, 64, down.data(), xor_.data(), up.data(), broadcast.data(),
                    neighbour.data());
}
""",
    "elementwise": """
#include <vector>
int main()
{
    std::vector<float> x(1001, 1.0f), y(7, 2.0f), out(1001);
    return scale_add(1001, 7, 0.5f, 3, x.data(), y.data(), out.data()) || out[1000] != 2.5f;
}
""",
    "gathers": """
#include <vector>
int main()
{
    std::vector<int64_t> index(300, 4), columns(300, -1);
    std::vector<float> source(10 * 16, 1.0f), out(300 * 16);
    std::vector<double> table(5 * 8, 3.0), taken(300);
    return gather_rows_float(300, 10, 16, 13, index.data(), source.data(), out.data()) ||
           take_2d_double(300, 5, 8, index.data(), columns.data(), table.data(), taken.data());
}
""",
}


PROGRAMS = {"elementwise": elementwise, "reductions": reductions, "scatter": scatter,
            "gathers": gathers, "lanes": lanes}
