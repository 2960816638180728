"""The CUDA dialect: the C backend's scheduled kernels (the same fusion, the same element and
reduction bodies) rendered as `__global__` kernels in grid-stride loops, with an `extern "C"`
entry point of graphc.compile's calling convention (`graphc_entry(slots, draws, threads)`:
host pointers in; templates/cuda/entry.cu.j2 copies them to the device, launches every kernel
on a stream, copies results back and reports the first error as the C code does).

Kernels built as kernel IR (codegen/lower) are printed by `CUDA`, the CUDA dialect of the
C-style renderer, each of their loops a launch of its own, in order: a parallel loop is a
grid-stride loop; a long reduction (a loop with a `Fold`) a block per output whose threads' parts
fold as a tree, or, longer still, parts over several blocks folded by a second launch; a serial
loop whose iterations only accumulate (a scatter) a grid-stride loop of atomics; a long scan
(cumsum, cumprod) a block per line, CUB's BlockScan giving each thread's chunk its start. A
check reports the position at which the serial loop meets it and the device-side error record
(templates/cuda/error.cuh) keeps the lowest, so the message is eager's; a checking launch after
a failed one does nothing. A kernel with any other loop (state carried between iterations,
scratch memory) runs in one thread, in the C loops' order.

Draws call the C backend's Philox helpers (templates/c/philox.c.j2), compiled as
`__host__ __device__` functions: each block of a draw is drawn from (seed, offset, block) alone,
so a grid-stride loop over blocks gives eager's numbers. A BLAS product is the same kernel IR as
on C, its GEMM call made on cuBLAS instead (templates/cuda/cublas.cuh: the row-major call on the
column-major library, operands swapped): a host function the entry calls in launch order, which
queues the products on the stream. A sort's lines are sorted by one call of CUB's segmented
stable sort (templates/cuda/sort.cuh), between the launches copying and picking them (randperm's
keys too). Kernels with no CUDA form yet (LAPACK's factorisations: library routines the device
has not got) raise `Unsupported` naming the op: a graph break for this backend only.
"""
import dataclasses
import math
import re

from .. import blas
from .. import kernel as k
from ...ir.math import MATH_FUNCTIONS
from ..c_backend import Unsupported, render as _schedule
from ..cuda_check import render as _render_template, render_program
from .cstyle import Dialect, used_names, without_dead_lets

__all__ = ["render"]

_BLOCK = 256        # threads per block
_MAX_BLOCKS = 4096  # grid-stride loops cover the rest


# the double functions formulas call by their C names, declared C's way in graphc_kernels
# (templates/cuda/c_math.cuh); isnan and its kind are one name for every type in C as well
C_MATH = sorted({f.c.double for f in MATH_FUNCTIONS.values()
                 if f.c and f.c.double != f.c.float and not f.c.double.startswith("graphc_")})
# the table's CUDA spellings where they differ from C's (a GPU has a fast expf of its own)
CUDA_SPELLINGS = {getattr(f.c, precision): getattr(f.cuda, precision)
                  for f in MATH_FUNCTIONS.values() if f.c and f.cuda
                  for precision in ("double", "float")
                  if getattr(f.c, precision) != getattr(f.cuda, precision)}
_NAME = re.compile(r"[A-Za-z_]\w*")


# the CUDA dialect's own loop kinds (the kernel IR's parallel loops and reductions, spread):
_GRID = "grid"        # the grid's threads share the iterations (a grid-stride loop)
_BLOCKS = "blocks"    # a block per iteration, the grid's blocks striding over them
_THREADS = "threads"  # the block's threads share the iterations
_THREAD = k.Var("threadIdx.x")
_TREE_LENGTH = 32     # a fold at least this long is shared by a block's threads
_PART = 4096          # longer folds are split over blocks, the parts folded by a second launch
_MAX_PARTS = 1024     # blocks of the first launch (over all the outputs)
_ATOMIC_TYPES = ("float", "double", "int32_t", "int64_t")  # atomicAdd's (scatter.cuh)


@dataclasses.dataclass(frozen=True)
class _Tree:
    """The fold of a block's threads' parts into thread 0's, as a tree (warp shuffles, then
    warp 0 over the warps' results); `accumulators`: their Lets (type and identity)."""
    fold: k.Fold
    accumulators: tuple


@dataclasses.dataclass(frozen=True)
class _BlockScan:
    """Each thread's accumulator replaced by the fold of the block's lower threads' values,
    starting from the accumulator's identity (an exclusive scan: CUB's BlockScan of `threads`
    threads, its storage `scan_storage`)."""
    fold: k.Fold
    accumulator: k.Let
    threads: int


@dataclasses.dataclass(frozen=True)
class _AtomicStore(k.Store):
    """An accumulating store that other threads may make to the same element."""


@dataclasses.dataclass(frozen=True)
class _PositionedCheck(k.Check):
    """A check of a loop spread over threads: `position` orders its failures as the serial
    loop meets them (the device's error record keeps the lowest)."""
    position: k.Expr = None


@dataclasses.dataclass
class _Function:
    """One `__global__` function of a kernel, and how it is launched."""
    name: str
    source: str
    work: object       # items the grid covers: graphc_grid_blocks(work, per_block, ...)
    per_block: int
    block: int         # threads per block
    parameters: list   # the kernel's parameter names it takes, in order
    partials: list     # (name, C type, count, written): device scratch shared with other
    #                    launches (a split fold's parts, a kernel's scratch such as a sort's lines)
    checked: bool
    call: str = None   # or a host function the entry calls in launch order (CUB's sort)
    call_arguments: list = None
    scans: bool = False  # scans with CUB's BlockScan (scan.cuh)


class CudaDialect(Dialect):
    name = "cuda"

    def formula(self, text):
        return _NAME.sub(lambda m: CUDA_SPELLINGS.get(m.group(0), m.group(0)), text)

    def parallel(self, loop, stop):
        return []  # a spread loop has its own kind (_GRID, _BLOCKS, _THREADS)

    def loop_header(self, loop, stop):
        start = self.expression(k.as_expr(loop.start))
        if loop.kind == _GRID:
            return [f"GRAPHC_GRID_STRIDE_LOOP({loop.var}, {stop}) {{"]
        if loop.kind == _BLOCKS:
            return [f"for (int64_t {loop.var} = blockIdx.x; {loop.var} < {stop}; "
                    f"{loop.var} += gridDim.x) {{"]
        if loop.kind == _THREADS:
            first = "threadIdx.x" if start == "0" else f"{start} + threadIdx.x"
            return [f"for (int64_t {loop.var} = {first}; {loop.var} < {stop}; "
                    f"{loop.var} += blockDim.x) {{"]
        return super().loop_header(loop, stop)

    def statement(self, s, release):
        if isinstance(s, _Tree):
            return self._tree(s)
        if isinstance(s, _BlockScan):
            return self._block_scan(s)
        if isinstance(s, _AtomicStore):
            return [f"graphc_atomic_accumulate(&{s.buffer}[{self.expression(s.index)}], "
                    f"{self.expression(s.value)});"]
        return super().statement(s, release)

    def stop_call(self, check, release):
        fields = [self.expression(k.as_expr(f)) if f is not None else "0"
                  for f in (check.value, check.size, check.dim)]
        position = getattr(check, "position", None)
        position = "0" if position is None else \
            f"(unsigned long long)({self.expression(position)})"
        return release + [f"graphc_report_error(error, {position}, {fields[0]}, {fields[1]}, "
                          f"{fields[2]}, {int(check.kind)});  /* ErrorKind.{check.kind.name} */",
                          "return;"]

    def _tree(self, tree):
        names = [let.name for let in tree.accumulators]
        shuffled = [f"const {let.ctype} other_{let.name} = __shfl_down_sync(GRAPHC_FULL_WARP, "
                    f"{let.name}, offset);" for let in tree.accumulators]
        return ["/* the threads' parts folded as a tree: each warp's lanes by shuffles, then "
                "warp 0 over the warps' results */",
                "const auto fold_warp = [&]() {",
                "    for (int offset = warpSize / 2; offset > 0; offset /= 2) {",
                *["        " + line for line in shuffled],
                *self.statements(tree.fold.combine, [], "        "), "    }", "};",
                "fold_warp();", "if (threadIdx.x % warpSize == 0) {",
                *[f"    warp_{name}[threadIdx.x / warpSize] = {name};" for name in names], "}",
                "__syncthreads();", "if (threadIdx.x < warpSize) {",
                *[f"    {let.name} = threadIdx.x < blockDim.x / warpSize ? "
                  f"warp_{let.name}[threadIdx.x] : {self.expression(let.value)};"
                  for let in tree.accumulators],
                "    fold_warp();", "}",
                "__syncthreads();  /* before the next output's parts overwrite the warps' */"]

    def _block_scan(self, scan):
        let = scan.accumulator
        return ["/* each thread's start: the fold of the chunks before its own (CUB) */",
                f"const auto combine = []({let.ctype} {let.name}, const {let.ctype} "
                f"other_{let.name}) {{",
                *self.statements(scan.fold.combine, [], "    "), f"    return {let.name};",
                "};",
                f"cub::BlockScan<{let.ctype}, {scan.threads}>(scan_storage).ExclusiveScan("
                f"{let.name}, {let.name}, {self.expression(let.value)}, combine);",
                "__syncthreads();  /* before the next line's scan reuses the storage */"]

    # ---------------------------------------------------------------- kernels

    def functions(self, ir, name, parameters):
        """The `__global__` functions of a kernel-IR kernel, in launch order: each of its loops
        spread over the GPU's threads (a parallel loop over the grid, a long reduction over a
        block per output or, longer still, over several blocks and a second launch, a loop
        whose iterations only accumulate with atomics), each in its own launch; a kernel with
        any other loop runs in one thread, in the C loops' order."""
        declared = [(p.name, self.parameters([p])) for p in parameters]
        ctypes = {p.name: p.ctype for p in parameters}
        body = without_dead_lets(ir.body)
        # scratch memory, when the steps are launches of their own: a device buffer the entry
        # allocates, shared by the launches
        scratch = [(s_name, ctype, count, True) for ctype, s_name, count in ir.scratch]
        if body and all(_sorts(s) or isinstance(s, k.Loop) and _spreadable(s, ctypes)
                        for s in body):
            functions = []
            for index, step in enumerate(body):
                if _sorts(step):  # the lines sorted by CUB, on the entry's stream
                    used = used_names([step])
                    functions.append(_Function(
                        None, None, 0, 1, 1, [], [s for s in scratch if s[0] in used], False,
                        step.value.function,
                        [self.expression(k.as_expr(a)) for a in step.value.arguments]))
                    continue
                functions += self._spread(step, name if len(body) == 1 else f"{name}_loop{index}",
                                          declared, ctypes, scratch)
            return functions
        if any(_sorts(s) for s in k.walk(body)):
            raise Unsupported(f"{name}: a sort whose lines are not copied by parallel loops has "
                              "no CUDA lowering yet")
        lines = ["if (blockIdx.x != 0 || threadIdx.x != 0)", "    return;", *self.body(ir)]
        return [self._function(name, lines, declared, [], ir.checks(), 1, 1, 1, body)]

    def _spread(self, loop, name, declared, ctypes, scratch):
        scan = loop.body[-1] if loop.body else None
        if loop.kind == k.PARALLEL and isinstance(scan, k.Loop) and scan.scan \
                and isinstance(scan.stop, int) and scan.stop >= _TREE_LENGTH \
                and len(scan.fold.accumulators) == 1:
            return self._scan(loop, scan, name, declared, scratch)
        folds = [s for s in loop.body if isinstance(s, k.Loop) and s.fold is not None
                 and not s.scan]
        # a block per output when the fold is long and every thread may run what precedes it
        # (Lets: thread 0 alone runs what follows)
        if loop.kind == k.PARALLEL and folds and isinstance(folds[0].stop, int) \
                and isinstance(loop.stop, int) and folds[0].stop >= _TREE_LENGTH \
                and all(isinstance(s, k.Let) for s in loop.body[:loop.body.index(folds[0])]):
            return self._reduction(loop, folds[0], name, declared, scratch)
        checks = [s for s in k.walk(loop.body) if isinstance(s, k.Check)]
        ordinal = {id(check): j for j, check in enumerate(checks)}

        def spread(statements):
            done = []
            for s in statements:
                if isinstance(s, k.Check):
                    s = _PositionedCheck(**{f: getattr(s, f) for f in s.__dataclass_fields__},
                                         position=k.Var(loop.var) * len(checks) + ordinal[id(s)])
                elif isinstance(s, k.Store) and s.op == "+=" and loop.kind == k.SERIAL:
                    s = _AtomicStore(s.buffer, s.index, s.value)
                elif isinstance(s, k.If):
                    s = dataclasses.replace(s, then=tuple(spread(s.then)),
                                            otherwise=tuple(spread(s.otherwise)))
                done.append(s)
            return done
        grid = dataclasses.replace(loop, kind=_GRID, body=tuple(spread(loop.body)))
        lines = self.statements([grid], [])
        return [self._function(name, lines, declared, scratch, bool(checks), loop.stop, _BLOCK,
                               _BLOCK, [grid])]

    def _reduction(self, loop, fold_loop, name, declared, scratch):
        """A block per output folding its elements as a tree; a fold longer than _PART in
        parts over several blocks, each part's result stored, then folded by a second launch
        (a block per output) that finishes as the C loop does."""
        at = loop.body.index(fold_loop)
        before, after = list(loop.body[:at]), list(loop.body[at + 1:])
        lets = {s.name: s for s in before if isinstance(s, k.Let)}
        accumulators = tuple(lets[name] for name in fold_loop.fold.accumulators)
        tree, first = _Tree(fold_loop.fold, accumulators), k.If(_THREAD.eq(0), tuple(after))
        outputs, count = loop.stop, fold_loop.stop
        parts = min(-(-count // _PART), max(1, _MAX_PARTS // max(outputs, 1)))
        if parts == 1:
            body = without_dead_lets([k.Loop(loop.var, outputs, (*before, dataclasses.replace(
                fold_loop, kind=_THREADS, fold=None), tree, first), _BLOCKS)])
            return [self._function(name, self._shared(accumulators) + self.statements(body, []),
                                   declared, scratch, False, outputs, 1, _threads(count), body)]
        chunk, part = -(-count // parts), k.Var("part")
        stop = k.Var("start") + chunk
        partials = [(f"partial_{let.name}", let.ctype, outputs * parts) for let in accumulators]
        split = [k.Let(loop.var, "int64_t", part // parts),
                 k.Let("start", "int64_t", part % parts * chunk), *before,
                 k.Let("stop", "int64_t", k.Select(stop.lt(count), stop, k.Const(count))),
                 dataclasses.replace(fold_loop, kind=_THREADS, start=k.Var("start"),
                                     stop=k.Var("stop"), fold=None), tree,
                 k.If(_THREAD.eq(0), tuple(k.Store(p, part, k.Var(let.name))
                                           for (p, _, _), let in zip(partials, accumulators)))]
        first_pass = without_dead_lets([k.Loop("part", outputs * parts, tuple(split), _BLOCKS)])
        folded = k.Loop("part", parts, (*[k.Let(f"other_{let.name}", let.ctype, k.Load(
            p, k.Var(loop.var) * parts + part)) for (p, _, _), let in zip(partials, accumulators)],
            *fold_loop.fold.combine), _THREADS)
        second_pass = without_dead_lets([k.Loop(loop.var, outputs, (*before, folded, tree, first),
                                                _BLOCKS)])
        shared = self._shared(accumulators)
        return [self._function(f"{name}_parts", shared + self.statements(first_pass, []),
                               declared, [(*p, True) for p in partials] + scratch, False,
                               outputs * parts, 1, _BLOCK, first_pass),
                self._function(name, shared + self.statements(second_pass, []), declared,
                               [(*p, False) for p in partials] + scratch, False, outputs, 1,
                               _threads(parts), second_pass)]

    def _scan(self, loop, scan, name, declared, scratch):
        """A block per line of a long scan: each thread folds its chunk of the line, the
        chunks' results are scanned across the block (CUB's BlockScan), and each thread reruns
        its chunk from its start, storing as the C loop does. Sums are grouped by chunk, so a
        float scan's last bits may differ from the serial loop's (as torch's CUDA cumsum)."""
        threads = _threads(scan.stop)
        chunk = -(-scan.stop // threads)
        start = k.Var("start")
        [accumulator] = [s for s in loop.body if isinstance(s, k.Let)
                         and s.name == scan.fold.accumulators[0]]
        rerun = dataclasses.replace(scan, start=start, stop=k.Var("stop"), fold=None,
                                    scan=False)
        folded = dataclasses.replace(rerun, body=tuple(s for s in scan.body
                                                       if not isinstance(s, k.Store)))
        stop = start + chunk
        body = without_dead_lets([k.Loop(loop.var, loop.stop, (
            *loop.body[:-1], k.Let("start", "int64_t", _THREAD * chunk),
            k.Let("stop", "int64_t", k.Select(stop.lt(scan.stop), stop, k.Const(scan.stop))),
            folded, _BlockScan(scan.fold, accumulator, threads), rerun), _BLOCKS)])
        shared = [f"__shared__ cub::BlockScan<{accumulator.ctype}, {threads}>::TempStorage "
                  "scan_storage;  /* the block's scan */"]
        function = self._function(name, shared + self.statements(body, []), declared, scratch,
                                  False, loop.stop, 1, threads, body)
        return [dataclasses.replace(function, scans=True)]

    @staticmethod
    def _shared(accumulators):
        return [f"__shared__ {let.ctype} warp_{let.name}[32];  /* each warp's part */"
                for let in accumulators]

    def _function(self, name, lines, declared, partials, checked, work, per_block, block,
                  body):
        used = used_names(body) | {e.buffer for s in k.walk(body) for e in _expressions(s)
                                   if isinstance(e, k.Load)}
        taken = [(n, p) for n, p in declared if n in used]
        partials = [p for p in partials if p[0] in used]
        parameters = [p for _, p in taken] + [
            self.parameters([k.Parameter(p, ctype, written)]) for p, ctype, _, written in partials]
        if checked:
            parameters.append("graphc_error_record *error")
            lines = ["if (graphc_failed(error))", "    return;  /* an earlier launch failed */",
                     *lines]
        source = "\n".join([f"__global__ void {name}({', '.join(parameters)})", "{",
                             *["    " + line for line in lines], "}"])
        return _Function(name, source, work, per_block, block, [n for n, _ in taken],
                         partials, checked)

    def host_kernel(self, ir, name, parameters):
        """The host function of a kernel calling GEMM: each call made on cuBLAS (graphc_gemm, on
        the entry's handle; CBLAS's leading row-major argument dropped), stopping at the first
        failure with cuBLAS's status."""
        body = self.statements(_on_cublas(without_dead_lets(ir.body)), [], "    ")
        return "\n".join([f"static int {name}(cublasHandle_t cublas, "
                          f"{self.parameters(parameters)})", "{",
                          "    int cublas_status = 0;", *body, "release:",
                          "    return cublas_status;", "}"])


def _sorts(statement):
    """Whether a statement is the sort of a kernel's lines or keys (graphc_sort_lines,
    graphc_sort_keyed: CUB's on CUDA)."""
    return isinstance(statement, k.Do) and isinstance(statement.value, k.Call) \
        and statement.value.function in ("graphc_sort_lines", "graphc_sort_keyed")


def _threads(count):
    """Threads of a block sharing `count` iterations: whole warps, at most _BLOCK."""
    return min(_BLOCK, max(32, -(-count // 32) * 32))


def _spreadable(loop, ctypes):
    """Whether a loop's iterations may run on many threads: a parallel loop whose checks are
    not inside an inner loop (each failure's position is then its iteration's), or a serial loop
    that only accumulates into elements other iterations may share (atomics of the element's
    type), stores at its own iteration's element, reads nothing it writes and carries nothing
    from one iteration to the next (a scatter, a checked gather)."""
    inner = [s for s in k.walk(loop.body) if isinstance(s, k.Loop)]
    if loop.kind == k.PARALLEL:
        return not any(isinstance(s, (k.Check, k.Break)) for l in inner for s in k.walk(l.body))
    statements = list(k.walk(loop.body))
    if inner or any(isinstance(s, (k.Break, k.Do, k.Array)) for s in statements):
        return False
    declared = {s.name for s in statements if isinstance(s, k.Let)}
    stored = {s.buffer for s in statements if isinstance(s, k.Store)}
    loaded = {e.buffer for s in statements for e in _expressions(s) if isinstance(e, k.Load)}
    return not (stored & loaded) and all(
        (s.op == "+=" and ctypes.get(s.buffer) in _ATOMIC_TYPES)
        or (s.op == "=" and s.index == k.Var(loop.var))
        for s in statements if isinstance(s, k.Store)) and all(
        isinstance(s.target, k.Var) and s.target.name in declared
        for s in statements if isinstance(s, k.Assign))


CUDA = CudaDialect()


def _on_cublas(statements):
    """`statements` with each BLAS GEMM call made through graphc_gemm on the `cublas` handle."""
    done = []
    for s in statements:
        if isinstance(s, k.Do) and isinstance(s.value, k.Call) \
                and s.value.function in blas.GEMM.values():
            call = k.Call("graphc_gemm", (k.Var("cublas"), *s.value.arguments[1:]))
            s = k.Do(k.Call("GRAPHC_CUBLAS_TRY", (call,)))
        elif isinstance(s, k.Loop):
            s = dataclasses.replace(s, body=tuple(_on_cublas(s.body)))
        done.append(s)
    return done


def render(graph, inputs, outputs, function_name, location, signature, writes=(), kept=()):
    """(CUDA source, dtype, C type, buffers, randoms): c_backend.render's result for CUDA."""
    return _schedule(graph, inputs, outputs, function_name, location, signature, writes=writes,
                     kept=kept, dialect=_cuda_unit)


def _refuse_what_has_no_cuda_form(kernel, graph):
    op = graph.node(kernel.output).op
    ir = kernel.ir
    if ir is None:
        raise Unsupported(f"{op}: a kernel not built as kernel IR yet has no CUDA form")
    called = {e.function for s in k.walk(ir.body) for e in _calls(s)
              if e.function.startswith(_HOST_ROUTINES) and e.function not in blas.GEMM.values()}
    if called:
        raise Unsupported(f"{op}: a kernel calling {', '.join(sorted(called))} (a host "
                          "library's routine) has no CUDA lowering yet")


# routines of the host's libraries (LAPACK, BLAS, qsort): the math functions a kernel calls
# (sqrt, pow, fabs) and Philox's helpers are the device's too, GEMM is cuBLAS's, and the
# runtime's sorts (graphc_sort_lines, graphc_sort_keyed) CUB's
_HOST_ROUTINES = ("scipy_", "qsort", "memcpy")


def _calls(statement):
    """The Call expressions a statement evaluates (library routines the device may lack)."""
    return [e for e in _expressions(statement) if isinstance(e, k.Call)]


def _expressions(statement):
    """Every expression a statement evaluates, nested ones included."""
    return [e for field in getattr(statement, "__dataclass_fields__", ())
            if isinstance(getattr(statement, field), k.Expr)
            for e in k.sub_expressions(getattr(statement, field))]


def _extent(shape, strides):
    """Elements from a strided input's first element to its last (what the device copy needs)."""
    if any(s < 0 for s in strides):
        raise Unsupported("an input with negative strides (no CUDA copy for it yet)")
    if math.prod(shape) == 0:
        return 0
    return 1 + sum((size - 1) * stride for size, stride in zip(shape, strides))


def _cuda_unit(unit):
    graph, types = unit["graph"], unit["types"]
    for kernel in unit["kernels"]:
        _refuse_what_has_no_cuda_form(kernel, graph)
    inputs, outputs, buffers, direct = (unit["inputs"], unit["outputs"], unit["buffers"],
                                        unit["direct"])
    written_inputs = set(direct.values()) | {w["target"] for w in unit["write_backs"]}
    # C pointer name -> what a launch passes: a device buffer, or a draw's seed and offset
    device = {name: name for r in range(len(unit["randoms"]))
              for name in (f"seed{r}", f"offset{r}")}
    slots = []      # entry.cu.j2's buffers, one per slot, in slot order
    for i, (name, shape, strides, _) in enumerate(inputs):
        pointer = f"in{i}_data"
        slots.append({"name": f"in{i}", "ctype": types.of(pointer), "argument": True,
                      "count": _extent(shape, strides), "copy_in": True,
                      "copy_out": name in written_inputs, "zero": False})
        device[pointer] = f"in{i}_device"
    input_index = {spec[0]: i for i, spec in enumerate(inputs)}
    for i, name in enumerate(outputs):
        pointer = f"out{i}_data"
        stored = name in direct  # stored straight into the input it updates
        slots.append({"name": f"out{i}", "ctype": types.of(pointer), "argument": True,
                      "count": 0 if stored else math.prod(graph.node(name).shape),
                      "copy_in": False, "copy_out": not stored, "zero": False})
        device[pointer] = f"in{input_index[direct[name]]}_device" if stored else f"out{i}_device"
    for name, pointer in buffers.items():  # (a product fused into an update has none)
        returned = name in outputs  # a returned reduction's buffer is its output's memory
        slots.append({"name": pointer[:-len("_data")], "ctype": types.of(pointer),
                      "argument": True,
                      "count": 0 if returned else math.prod(graph.node(name).shape),
                      "copy_in": False, "copy_out": False, "zero": False})
        device[pointer] = device[f"out{outputs.index(name)}_data"] if returned else \
            pointer.replace("_data", "_device")
    launches, sorting, scanning = [], False, False
    cublas = any(kernel.gemm for kernel in unit["kernels"])
    for kernel in unit["kernels"]:
        ir = kernel.ir
        # the kernel's parameter names, each with its argument: `in0_data` or `in0_data + 256`
        names = [parameter.name for parameter in kernel.parameters]
        given = {name: device[argument.name] + (
            f" + {CUDA.expression(argument.offset)}" if isinstance(argument, k.Address) else "")
            for name, argument in zip(names, kernel.arguments)}
        if kernel.gemm:  # a host function queueing cuBLAS calls
            if kernel.function == kernel.name:
                kernel.cuda = CUDA.host_kernel(ir, kernel.name, kernel.parameters)
            launches.append({"call": f"graphc_kernels::{kernel.function}(cublas, "
                                     f"{', '.join(given[name] for name in names)})",
                             "try": "GRAPHC_CUBLAS_TRY",
                             "comment": f"%{kernel.output}: cuBLAS on the stream"})
            continue
        functions = CUDA.functions(ir, kernel.function, kernel.parameters)
        sorting = sorting or any(function.call for function in functions)
        scanning = scanning or any(function.scans for function in functions)
        if kernel.function == kernel.name:
            kernel.cuda = "\n\n".join(function.source for function in functions
                                          if function.source)
        for function in functions:
            for partial, ctype, count, _ in function.partials:  # scratch between two launches
                scratch = f"{kernel.name}_{partial}"
                given[partial] = f"{scratch}_device"
                if not any(slot["name"] == scratch for slot in slots):
                    slots.append({"name": scratch, "ctype": ctype, "argument": False,
                                  "count": count, "copy_in": False, "copy_out": False,
                                  "zero": False})
            launches.append(_launch(function, given, f"%{kernel.output}"))
    for index, copy in enumerate(unit["write_backs"]):
        parameters = [k.Parameter("source", unit["ctype"]),
                      k.Parameter("target", unit["ctype"], written=True)]
        functions = CUDA.functions(copy["ir"], f"write_back{index}", parameters)
        copy["cuda"] = "\n\n".join(function.source for function in functions)
        given = {"source": device[copy["source"]], "target": f"in{copy['slot']}_device"}
        launches += [_launch(function, given, f"%{copy['target']}") for function in functions]
    kernels = _render_template("cuda/kernels.cu.j2", kernels=unit["kernels"],
                               write_backs=unit["write_backs"], ctype=unit["ctype"],
                               inline="inline __host__ __device__", c_math=C_MATH,
                               random=bool(unit["randoms"]), cublas=cublas, sorting=sorting,
                               scanning=scanning)
    return render_program(
        "cuda/entry.cu.j2",
        comment=f"graphc.compile of {unit['function']} ({unit['location']}), specialisation "
                f"{unit['signature']}", headers=[], kernels=[kernels],
        entries=[{"name": "graphc_entry", "comment": "the single entry point (host pointers in "
                  "slots, as the C backend's)", "slots": True, "scalars": [],
                  "draws": len(unit["randoms"]), "cublas": cublas, "buffers": slots, "launches": launches}])


def _launch(function, given, comment):
    """entry.cu.j2's launch of one `__global__` function, or its call of a host function
    (`given`: each parameter's argument)."""
    arguments = [given[name] for name in function.parameters] + [
        given[partial] for partial, _, _, _ in function.partials]
    if function.call:
        arguments = [given.get(a, a) for a in function.call_arguments]
        return {"call": f"{function.call}(stream, {', '.join(arguments)})",
                "try": "GRAPHC_CUDA_TRY", "comment": f"{comment}: CUB's sort on the stream"}
    return {"kernel": f"graphc_kernels::{function.name}", "comment": comment,
            "grid": f"graphc_grid_blocks({function.work}, {function.per_block}, {_MAX_BLOCKS})",
            "block": function.block, "shared_bytes": 0,
            "arguments": ", ".join(arguments + ["error_device"] * function.checked)}


def source_of(specialisation):
    """The CUDA translation unit of a compiled function's C specialisation (same graph, same
    scheduled kernels, same calling convention)."""
    return render(specialisation.graph, *specialisation.render_arguments)[0]
