"""The CUDA dialect: the C backend's scheduled kernels (the same fusion, the same element and
reduction bodies) rendered as `__global__` kernels in grid-stride loops, with an `extern "C"`
entry point of graphc.compile's calling convention (`graphc_entry(slots, draws, threads)`:
host pointers in; templates/cuda/entry.cu.j2 copies them to the device, launches every kernel
on a stream, copies results back and reports the first error as the C code does).

Kernels with no CUDA form yet (BLAS products, index checks, draws, sorts, linear algebra) raise
`Unsupported` naming the op: a graph break for this backend only.
"""
import math

from ..c_backend import Unsupported, render as _schedule
from ..cuda_check import render as _render_template

__all__ = ["render"]

_BLOCK = 256        # threads per block
_MAX_BLOCKS = 4096  # grid-stride loops cover the rest


def render(graph, inputs, outputs, function_name, location, signature, writes=(), kept=()):
    """(CUDA source, dtype, C type, buffers, randoms): c_backend.render's result for CUDA."""
    return _schedule(graph, inputs, outputs, function_name, location, signature, writes=writes,
                     kept=kept, dialect=_cuda_unit)


def _refuse_what_has_no_cuda_form(kernel, graph):
    op = graph.node(kernel["output"]).op
    if kernel.get("ir") is not None and kernel["ir"].draws:
        raise Unsupported(f"{op}: a draw (Philox on the device is not wired in yet) has no CUDA "
                          "lowering")
    for field, what in (("gemm", "a BLAS product (cuBLAS is not called yet)"),
                        ("lines", "a kernel of its own loops (its CUDA form is not rendered yet)")):
        if kernel.get(field):
            raise Unsupported(f"{op}: {what} has no CUDA lowering")


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
    if unit["randoms"]:
        raise Unsupported("draws have no CUDA lowering yet")
    inputs, outputs, buffers, direct = (unit["inputs"], unit["outputs"], unit["buffers"],
                                        unit["direct"])
    written_inputs = set(direct.values()) | {w["target"] for w in unit["write_backs"]}
    device = {}     # C pointer name -> the device buffer a launch passes
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
        # a returned reduction's slot is its output's array: copied back like an output
        slots.append({"name": f"buf{i}", "ctype": types.of(pointer), "argument": True,
                      "count": math.prod(graph.node(name).shape), "copy_in": False,
                      "copy_out": name in outputs, "zero": False})
        device[pointer] = f"buf{i}_device"
    launches = []
    for kernel in unit["kernels"]:
        work = kernel["numel"] if not kernel.get("split") else kernel["split"]["outer"]
        arguments = []
        for argument in kernel["arguments"].split(", "):  # `in0_data` or `in0_data + 256`
            pointer, _, offset = argument.partition(" + ")
            arguments.append(device[pointer] + (f" + {offset}" if offset else ""))
        launches.append({"kernel": kernel["function"], "comment": f"%{kernel['output']}",
                         "grid": f"graphc_grid_blocks({work}, {_BLOCK}, {_MAX_BLOCKS})",
                         "block": _BLOCK, "shared_bytes": 0, "arguments": ", ".join(arguments)})
    for index, copy in enumerate(unit["write_backs"]):
        target = f"in{copy['slot']}_device"
        launches.append({"kernel": f"write_back{index}", "comment": f"%{copy['target']}",
                         "grid": f"graphc_grid_blocks({copy['numel']}, {_BLOCK}, {_MAX_BLOCKS})",
                         "block": _BLOCK, "shared_bytes": 0,
                         "arguments": f"{device[copy['source']]}, {target}"})
    kernels = _render_template("cuda/kernels.cu.j2", kernels=unit["kernels"],
                               write_backs=unit["write_backs"], ctype=unit["ctype"],
                               inline="static inline __host__ __device__")
    return _render_template(
        "cuda/entry.cu.j2",
        comment=f"graphc.compile of {unit['function']} ({unit['location']}), specialisation "
                f"{unit['signature']}", headers=[], kernels=[kernels],
        entries=[{"name": "graphc_entry", "comment": "the single entry point (host pointers in "
                  "slots, as the C backend's)", "slots": True, "scalars": [],
                  "buffers": slots, "launches": launches}])


def source_of(specialisation):
    """The CUDA translation unit of a compiled function's C specialisation (same graph, same
    scheduled kernels, same calling convention)."""
    return render(specialisation.graph, *specialisation.render_arguments)[0]
