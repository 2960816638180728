"""The CUDA dialect: the C backend's scheduled kernels (the same fusion, the same element and
reduction bodies) rendered as `__global__` kernels in grid-stride loops, with an `extern "C"`
entry point of graphc.compile's calling convention (`graphc_entry(slots, draws, threads)`:
host pointers in; templates/cuda/entry.cu.j2 copies them to the device, launches every kernel
on a stream, copies results back and reports the first error as the C code does).

Kernels built as kernel IR (codegen/lower) are printed by `CUDA`, the CUDA dialect of the
C-style renderer: a kernel that is one parallel loop runs it as a grid-stride loop; any other
(serial loops, checks in eager's order, scratch memory) runs in one thread, its checks reporting
the first bad index through the device-side error record (templates/cuda/error.cuh).

Draws call the C backend's Philox helpers (templates/c/philox.c.j2), compiled as
`__host__ __device__` functions: each block of a draw is drawn from (seed, offset, block) alone,
so a grid-stride loop over blocks gives eager's numbers. A BLAS product is the same kernel IR as
on C, its GEMM call made on cuBLAS instead (templates/cuda/cublas.cuh: the row-major call on the
column-major library, operands swapped): a host function the entry calls in launch order, which
queues the products on the stream. Kernels with no CUDA form yet (sorts, linear algebra:
library routines the device has not got) raise `Unsupported` naming the op: a graph break for
this backend only.
"""
import dataclasses
import math
import re

from .. import blas
from .. import kernel as k
from ...ir.math import MATH_FUNCTIONS
from ..c_backend import Unsupported, render as _schedule
from ..cuda_check import render as _render_template, render_program
from .cstyle import Dialect, without_dead_lets

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


class CudaDialect(Dialect):
    name = "cuda"

    def formula(self, text):
        return _NAME.sub(lambda m: CUDA_SPELLINGS.get(m.group(0), m.group(0)), text)

    def parallel(self, loop, stop):
        return []  # a kernel's one parallel loop is its grid (`grid_loop`); others stay loops

    def stop_call(self, check, release):
        fields = [self.expression(k.as_expr(f)) if f is not None else "0"
                  for f in (check.value, check.size, check.dim)]
        return release + [f"graphc_report_error(error, 0, {fields[0]}, {fields[1]}, "
                          f"{fields[2]}, {int(check.kind)});  /* ErrorKind.{check.kind.name} */",
                          "return;"]

    @staticmethod
    def grid_loop(ir):
        """The kernel's one parallel loop, when that is all it does (its iterations become the
        grid's threads), else None (the kernel runs in one thread)."""
        body = without_dead_lets(ir.body)
        if len(body) == 1 and isinstance(body[0], k.Loop) and body[0].kind == k.PARALLEL \
                and not ir.scratch and not any(isinstance(s, (k.Check, k.Break))
                                               for s in k.walk(body[0].body)):
            return body[0]
        return None

    def kernel(self, ir, name, parameters):
        """The `__global__` function of a kernel-IR kernel."""
        parameters += ", graphc_error_record *error" if ir.checks() else ""
        loop = self.grid_loop(ir)
        if loop is not None:
            lines = [f"GRAPHC_GRID_STRIDE_LOOP({loop.var}, {self.expression(k.as_expr(loop.stop))}) {{",
                     *self.statements(loop.body, [], "    "), "}"]
        else:  # in order, as the C loops run: one thread
            lines = ["if (blockIdx.x != 0 || threadIdx.x != 0)", "    return;", *self.body(ir)]
        return "\n".join([f"__global__ void {name}({parameters})", "{",
                          *["    " + line for line in lines], "}"])

    def host_kernel(self, ir, name, parameters):
        """The host function of a kernel calling GEMM: each call made on cuBLAS (graphc_gemm, on
        the entry's handle; CBLAS's leading row-major argument dropped), stopping at the first
        failure with cuBLAS's status."""
        body = self.statements(_on_cublas(without_dead_lets(ir.body)), [], "    ")
        return "\n".join([f"static int {name}(cublasHandle_t cublas, {parameters})", "{",
                          "    int cublas_status = 0;", *body, "release:",
                          "    return cublas_status;", "}"])


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
    op = graph.node(kernel["output"]).op
    ir = kernel.get("ir")
    if ir is None:
        raise Unsupported(f"{op}: a kernel not built as kernel IR yet has no CUDA form")
    called = {e.function for s in k.walk(ir.body) for e in _calls(s)
              if e.function.startswith(_HOST_ROUTINES) and e.function not in blas.GEMM.values()}
    if called:
        raise Unsupported(f"{op}: a kernel calling {', '.join(sorted(called))} (a host "
                          "library's routine) has no CUDA lowering yet")


# routines of the host's libraries (LAPACK, BLAS, qsort): the math functions a kernel calls
# (sqrt, pow, fabs) and Philox's helpers are the device's too, and GEMM is cuBLAS's
_HOST_ROUTINES = ("scipy_", "qsort", "memcpy")


def _calls(statement):
    """The Call expressions a statement evaluates (library routines the device may lack)."""
    return [e for field in getattr(statement, "__dataclass_fields__", ())
            if isinstance(getattr(statement, field), k.Expr)
            for e in k.sub_expressions(getattr(statement, field)) if isinstance(e, k.Call)]


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
    for i, name in enumerate(buffers):
        pointer = f"buf{i}_data"
        returned = name in outputs  # a returned reduction's buffer is its output's memory
        slots.append({"name": f"buf{i}", "ctype": types.of(pointer), "argument": True,
                      "count": 0 if returned else math.prod(graph.node(name).shape),
                      "copy_in": False, "copy_out": False, "zero": False})
        device[pointer] = device[f"out{outputs.index(name)}_data"] if returned else \
            f"buf{i}_device"
    launches = []
    cublas = any(kernel.get("gemm") for kernel in unit["kernels"])
    for kernel in unit["kernels"]:
        work, block = kernel["numel"] if not kernel.get("split") else kernel["split"]["outer"], _BLOCK
        ir = kernel.get("ir")
        if kernel.get("gemm"):  # a host function queueing cuBLAS calls
            if kernel["function"] == kernel["name"]:
                kernel["cuda"] = CUDA.host_kernel(ir, kernel["name"], kernel["parameters"])
        elif ir is not None:  # its grid loop's iterations, or one thread
            loop = CUDA.grid_loop(ir)
            work, block = (loop.stop, _BLOCK) if loop is not None else (1, 1)
            if kernel["function"] == kernel["name"]:
                kernel["cuda"] = CUDA.kernel(ir, kernel["name"], kernel["parameters"])
        arguments = []
        for argument in kernel["arguments"].split(", "):  # `in0_data` or `in0_data + 256`
            pointer, _, offset = argument.partition(" + ")
            arguments.append(device[pointer] + (f" + {offset}" if offset else ""))
        if ir is not None and ir.checks():
            arguments.append("error_device")
        if kernel.get("gemm"):
            launches.append({"call": f"graphc_kernels::{kernel['function']}(cublas, "
                                     f"{', '.join(arguments)})",
                             "comment": f"%{kernel['output']}: cuBLAS on the stream"})
            continue
        launches.append({"kernel": f"graphc_kernels::{kernel['function']}", "comment": f"%{kernel['output']}",
                         "grid": f"graphc_grid_blocks({work}, {block}, {_MAX_BLOCKS})",
                         "block": block, "shared_bytes": 0, "arguments": ", ".join(arguments)})
    for index, copy in enumerate(unit["write_backs"]):
        copy["cuda"] = CUDA.kernel(copy["ir"], f"write_back{index}",
                                   f"const {unit['ctype']} *restrict source, "
                                   f"{unit['ctype']} *restrict target")
        target = f"in{copy['slot']}_device"
        launches.append({"kernel": f"graphc_kernels::write_back{index}", "comment": f"%{copy['target']}",
                         "grid": f"graphc_grid_blocks({copy['numel']}, {_BLOCK}, {_MAX_BLOCKS})",
                         "block": _BLOCK, "shared_bytes": 0,
                         "arguments": f"{device[copy['source']]}, {target}"})
    kernels = _render_template("cuda/kernels.cu.j2", kernels=unit["kernels"],
                               write_backs=unit["write_backs"], ctype=unit["ctype"],
                               inline="inline __host__ __device__", c_math=C_MATH,
                               random=bool(unit["randoms"]), cublas=cublas)
    return render_program(
        "cuda/entry.cu.j2",
        comment=f"graphc.compile of {unit['function']} ({unit['location']}), specialisation "
                f"{unit['signature']}", headers=[], kernels=[kernels],
        entries=[{"name": "graphc_entry", "comment": "the single entry point (host pointers in "
                  "slots, as the C backend's)", "slots": True, "scalars": [],
                  "draws": len(unit["randoms"]), "cublas": cublas, "buffers": slots, "launches": launches}])


def source_of(specialisation):
    """The CUDA translation unit of a compiled function's C specialisation (same graph, same
    scheduled kernels, same calling convention)."""
    return render(specialisation.graph, *specialisation.render_arguments)[0]
