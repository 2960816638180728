"""Passes over scheduled kernels (after the lowerings, before rendering; the same for every
target): in-place updates stored straight into their tensors, SGD steps fused into the products
computing their gradients, loops over one shape merged, fills folded into the loop that last
reads their tensor, long elementwise loops split into rows, and
kernels that differ only in their operands sharing one function."""
import collections
import dataclasses
import functools
import json
import re

from .c_layout import _dense, _numel, _signature
from .fusion import FLAT

__all__ = ["store_in_place", "fuse_updates_into_products", "merge_output_loops", "merge_fills",
           "split_loop", "share_identical_kernels"]


_POINTER = re.compile(r"\b(?:in|out|buf)\d+(?:_data)?\b")  # pointers and their loads
# what tells two kernels apart without changing their function's text
_CALL_SITE = ("name", "output", "summary", "nodes", "locations", "arguments", "function", "also")


def share_identical_kernels(kernels):
    """Kernels that differ only in the buffers they are called with (the steps of an unrolled
    loop) share one function: the first is defined, the others call it with their own
    pointers. An RNN unrolled over 100 steps has ~700 kernels but a handful of distinct ones;
    gcc's time grows with the functions it optimises."""
    first = {}
    for kernel in kernels:
        text = json.dumps({f.name: getattr(kernel, f.name) for f in dataclasses.fields(kernel)
                           if f.name not in _CALL_SITE},
                          sort_keys=True, default=repr)
        names = {}
        key = _POINTER.sub(lambda match: names.setdefault(match.group(0), f"p{len(names)}"), text)
        owner = first.setdefault(key, kernel)
        kernel.function, kernel.also = owner.name, []
        if owner is not kernel:
            owner.also.append(f"%{kernel.output} ({', '.join(kernel.locations)})")


def split_loop(kernel):
    """An elementwise loop over a shape of several dims whose loads need index arithmetic runs
    as rows (outer) of the last dim (inner): no division in the inner loop, which vectorises."""
    shape = kernel.loop_shape
    if not kernel.indexed or not shape or len(shape) < 2 or shape[-1] < 2 or (
            kernel.reduction or kernel.gemm or kernel.lines):
        return None
    return {"outer": _numel(shape) // shape[-1], "inner": shape[-1]}


def _is_output_loop(kernel):
    """An elementwise loop computing an output (not a buffer, reduction, product or draw)."""
    return kernel.output_pointer.startswith("out") and not (
        kernel.reduction or kernel.gemm or kernel.lines)


def store_in_place(kernels, writes, outputs, input_names, layouts, kept, types):
    """Let the kernel of an in-place update (`p.sub_(lr * p.grad)`, `p.grad.zero_()`) store into
    the updated tensor itself, saving a write-back pass over it after the call. Safe when the
    tensor is dense, the kernel reads it only at the element it writes, and every other kernel
    that reads it runs before: output kernels read only inputs and buffers, so they may be
    reordered, the in-place ones last, each after the kernels reading what it overwrites.
    Returns (kernels in their new order, {value stored in place: the input it updates})."""
    write_count = collections.Counter(value for _, value in writes)
    copied_from = {value for _, value in writes if value in input_names}
    kernel_of = {k.output: k for k in kernels if _is_output_loop(k)}
    candidates = {}
    for target, value in writes:
        kernel = kernel_of.get(value)
        shape, strides, _ = layouts[target]
        pointer = f"in{input_names.index(target)}_data"
        if (kernel is None or value in kept or write_count[value] > 1 or target in copied_from
                or not _dense(shape, strides) or _reads_elsewhere(kernel, pointer)):
            continue
        candidates[value] = (target, pointer)
    # schedule: a kernel storing into a tensor runs after every other kernel reading it
    moved = [k for k in kernels if k.output in candidates]
    order = [k for k in kernels if k.output not in candidates]
    while moved:
        ready = next((k for k in moved if not any(
            candidates[k.output][1] in other.pointers for other in moved if other is not k)),
            None)
        if ready is None:  # a cycle (two updates each reading the other's tensor): copy those
            for k in moved:
                del candidates[k.output]
            order += moved
            break
        moved.remove(ready)
        order.append(ready)
    for kernel in order:
        if kernel.output not in candidates:
            continue
        target, pointer = candidates[kernel.output]
        _read_through(kernel, pointer, kernel.output_pointer, types)
        kernel.summary += f" (stored in place into %{target})"
    return order, {value: target for value, (target, _) in candidates.items()}


def _reads_elsewhere(kernel, pointer):
    """Whether `kernel` reads `pointer` at another element than the one it writes."""
    return any(load["pointer"] == pointer and load["at"] != FLAT for load in kernel.loads)


def _read_through(kernel, pointer, out, types):
    """`kernel` reads the elements of `pointer` through `out`, the pointer that overwrites them
    (after reading each): one pointer fewer in its signature."""
    for load in kernel.loads:
        if load["pointer"] == pointer:
            load["pointer"] = out
    kernel.pointers = [p for p in kernel.pointers if p != pointer]
    outs = [kernel.output_pointer] + [p for p, _ in kernel.more_results]
    kernel.parameters, kernel.arguments = _signature(kernel.pointers, outs, types)


def fuse_updates_into_products(kernels, direct, input_names, fuse):
    """An update stored in place that adds a scaled product to its tensor (`w.sub_(lr * g)`, g
    a product nothing else reads: the .grad dropped) becomes the product itself,
    accumulating into `w` where the update ran: the gradient never goes through memory.
    `fuse(value, target, pointer)` gives (the product's name, its kernel accumulating into
    `pointer`) or None. The product moves later, to the update's place, so nothing between
    may overwrite what it reads. Runs before the loops are merged (an update is its own loop).
    Returns (kernels, the names of the products' dropped buffers)."""
    dropped = []
    for value, target in direct.items():
        update = next((k for k in kernels if k.output == value), None)
        found = None if update is None else fuse(value, target, update.output_pointer)
        if found is None:
            continue
        product_name, fused = found
        product = next((k for k in kernels if k.output == product_name), None)
        if product is None or update.reads() - {
                product.output_pointer, update.output_pointer}:
            continue
        start, end = kernels.index(product), kernels.index(update)
        overwritten = {f"in{input_names.index(direct[k.output])}_data"
                       for k in kernels[start + 1:end] if k.output in direct}
        if start > end or overwritten & product.reads() or any(
                product.output_pointer in k.reads() for k in kernels
                if k is not update and k is not product):
            continue
        fused.nodes = product.nodes + update.nodes
        fused.locations = sorted(set(product.locations) | set(update.locations))
        fused.name += "_update"
        fused.output, fused.summary = value, f"%{target} + {fused.summary}"
        kernels = [fused if k is update else k for k in kernels if k is not product]
        dropped.append(product_name)
    return kernels, dropped


def merge_output_loops(kernels, direct, types):
    """Outputs computed over the same loop share one loop (y and dy/dx of one x read x once).
    Output kernels read only inputs and buffers, so any of them may join another; those that
    store in place keep their own loops, whose order store_in_place chose."""
    merged, first_of_shape = [], {}
    for kernel in kernels:
        mergeable = _is_output_loop(kernel) and kernel.output not in direct
        host = first_of_shape.get(kernel.loop_shape) if mergeable else None
        if host is not None and all(
                load["pointer"] == other["pointer"] and load["at"] == other["at"]
                for load in kernel.loads for other in host.loads
                if load["symbol"] == other["symbol"]):
            part = len(host.more_results) + 1  # its temporaries renamed apart: t0 -> t0_1
            rename = functools.partial(re.sub, r"\bt(\d+)\b", rf"t\1_{part}")
            known = {load["symbol"] for load in host.loads}
            host.loads += [load for load in kernel.loads if load["symbol"] not in known]
            host.temporaries += [(rename(name), rename(value))
                                    for name, value in kernel.temporaries]
            host.more_results.append((kernel.output_pointer, rename(kernel.result)))
            host.pointers += [p for p in kernel.pointers if p not in host.pointers]
            outs = [host.output_pointer] + [p for p, _ in host.more_results]
            host.parameters, host.arguments = _signature(host.pointers, outs, types)
            host.indexed = host.indexed or kernel.indexed
            host.summary += f"\n *   and %{kernel.output} = {kernel.summary}"
            host.nodes += [n for n in kernel.nodes if n not in host.nodes]
            host.locations = sorted(set(host.locations) | set(kernel.locations))
            host.name = re.sub(r"(_and_\d+_more)?$", f"_and_{part}_more", host.name, count=1)
            continue
        if mergeable:
            first_of_shape[kernel.loop_shape] = kernel
        merged.append(kernel)
    return merged


def merge_fills(kernels, direct, input_names, types):
    """A fill stored in place (`p.grad.zero_()`) joins the loop of the last kernel reading that
    tensor, storing after the element was read: one pass over the memory instead of two. Not
    into a kernel that runs before one that can fail: a failed call must leave its inputs as
    they were (compile.py then runs the function eagerly, for eager's partial effects)."""
    merged = list(kernels)
    for fill in kernels:
        if not (fill.output in direct and not fill.loads and _is_output_loop(fill)):
            continue
        pointer = f"in{input_names.index(direct[fill.output])}_data"
        position = merged.index(fill)
        host = next((k for k in reversed(merged[:position]) if pointer in k.reads()), None)
        if host is None or not _is_output_loop(host) or host.loop_shape != fill.loop_shape or any(
                k.fails for k in merged[merged.index(host):position]) or _reads_elsewhere(
                host, pointer):
            continue
        host.more_results.append((fill.output_pointer, fill.result))
        _read_through(host, pointer, fill.output_pointer, types)
        host.summary += f"\n *   and %{fill.output} = {fill.summary}"
        host.nodes += fill.nodes
        host.locations = sorted(set(host.locations) | set(fill.locations))
        host.name += "_" + fill.name.split("_", 1)[1]
        merged.remove(fill)
    return merged
