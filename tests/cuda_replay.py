"""A pytest plugin that checks the CUDA dialect against every graph a test session compiles on C.

`PYTHONPATH=tests python -m pytest -p cuda_replay tests/test_compile.py` runs the tests as usual.
Meanwhile every native call of a C specialisation is recorded at its entry point: the bytes of
its inputs before the call, its draws, its return code, and the bytes of its inputs and outputs
after. At the end of the session each specialisation's CUDA translation unit is rendered
(render/cuda.py), built with plain `nvcc -arch=sm_90 -c` where nvcc is present and as host C++
against the emulation header, and each recorded call is replayed through the emulated entry
point on copies of the recorded inputs: the return code, the error detail, the outputs and the
inputs written in place must be the C call's. The C call is eager's (the tests assert that), so
the CUDA call is too.

Units are built up to BATCH_UNITS to a translation unit, each in a namespace of its own (one
compiler start and one parse of the shared headers per batch instead of per unit: the replay of
test_compile went from ~13 to ~3 minutes); a batch that fails to build is rebuilt unit by unit,
so a failure still names its own unit. A batch can hide a unit's missing include behind another
unit's preamble; the per-family nvcc builds of test_cuda_dialect build each unit alone.

A specialisation the CUDA dialect refuses (`Unsupported`: a sort or a factorisation, a host
library's routine) is reported with the refusal's message; anything else that goes wrong is a
failure. The report (JSON, one entry per specialisation) is written to $GRAPHC_CUDA_REPLAY_REPORT
when that is set; the session fails if any specialisation failed.
"""
import concurrent.futures
import ctypes
import hashlib
import importlib
import json
import math
import os
import pathlib
import tempfile
import traceback

import numpy as np

from graphc.codegen import c_backend, cuda_check
from graphc.codegen.c_layout import Unsupported

CALLS_PER_SPECIALISATION = 2   # the first calls of each (a trace's call, then a warm one)
_RECORDS = []                  # [specialisation, [calls]]


class _Call:
    """One native call's memory: before (inputs) and after (inputs, outputs)."""

    def __init__(self, before, draws):
        self.before, self.draws = before, draws
        self.after, self.status, self.error = None, None, None


def _extent(shape, strides):
    """Elements from a layout's first element to its last (None: a negative stride)."""
    if any(s < 0 for s in strides):
        return None
    return 0 if math.prod(shape) == 0 else 1 + sum((n - 1) * s for n, s in zip(shape, strides))


def _layout(specialisation):
    """[(slot, numpy dtype, element count)] of the inputs and outputs a call reads or writes."""
    inputs = specialisation.render_arguments[0]
    layout = [(i, dtype.np, _extent(shape, strides))
              for i, (_, shape, strides, dtype) in enumerate(inputs)]
    base = len(inputs)
    layout += [(base + i, specialisation.graph.node(name).dtype.np,
                math.prod(specialisation.graph.node(name).shape))
               for i, name in enumerate(specialisation.outputs)]
    return layout


def _read(ffi, slots, layout):
    return [None if count is None or slots[slot] == ffi.NULL else
            bytes(ffi.buffer(ffi.cast("char *", slots[slot]), count * np.dtype(dtype).itemsize))
            for slot, dtype, count in layout]


def _recording_entry(specialisation, entry, calls):
    """`entry` (the C library's graphc_entry), recording its first calls."""
    ffi = specialisation.ffi
    layout = _layout(specialisation)
    inputs = len(specialisation.render_arguments[0])

    def recorded(slots, draws, threads):
        if len(calls) >= CALLS_PER_SPECIALISATION:
            return entry(slots, draws, threads)
        call = _Call(_read(ffi, slots, layout[:inputs]),
                     [draws[i] for i in range(2 * len(specialisation.draws))])
        call.status = entry(slots, draws, threads)
        detail = specialisation.lib.graphc_error_detail
        call.error = [detail(i) for i in range(4)] if call.status else None
        call.after = _read(ffi, slots, layout) if not call.status else None
        calls.append(call)
        return call.status
    return recorded


def _patch_load():
    specialisations = importlib.import_module("graphc.compile")._Specialisation  # not the function
    original = specialisations._load

    def load(self, function, key, backend):
        result = original(self, function, key, backend)
        if backend.name == "c":
            calls = []
            _RECORDS.append((self, calls))
            self.entry = _recording_entry(self, self.entry, calls)
        return result
    specialisations._load = load


def pytest_configure(config):
    _patch_load()
    # the calls' steps in Python, where the recording entry above is what they call (the C
    # steps, graphc_call, would call the library's entry point directly)
    importlib.import_module("graphc.codegen.native_call")._built[0] = None


def _assert_same(name, dtype, ours, theirs):
    mine, reference = np.frombuffer(ours, dtype), np.frombuffer(theirs, dtype)
    if np.issubdtype(dtype, np.floating):  # the GPU's expf is not graphc's: a few ulp
        tolerance = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(mine, reference, rtol=tolerance, atol=tolerance,
                                   err_msg=name)
    else:
        np.testing.assert_array_equal(mine, reference, err_msg=name)


def _replay(specialisation, unit, call, stored_in_place):
    """Run `call` again through the emulated CUDA entry point of `unit` ((entry, error detail):
    build_units), on copies of its inputs; `stored_in_place`: the outputs both store straight
    into the inputs they update (their output slots are left as they were)."""
    ffi = specialisation.ffi
    layout = _layout(specialisation)
    inputs = len(specialisation.render_arguments[0])
    count = inputs + len(specialisation.outputs) + len(specialisation.buffers)
    slots = ffi.new("void *[]", max(count, 1))
    arrays = []
    for (slot, dtype, elements), data in zip(layout, call.before + [None] * len(layout)):
        array = (np.frombuffer(bytearray(data), dtype) if data is not None
                 else np.zeros(max(elements, 1), dtype))
        arrays.append(array)
        slots[slot] = ffi.cast("void *", array.ctypes.data)
    base = inputs + len(specialisation.outputs)
    for i, name in enumerate(specialisation.buffers):
        if name in specialisation.outputs:  # a returned reduction's buffer is its output
            slots[base + i] = slots[inputs + specialisation.outputs.index(name)]
        else:
            node = specialisation.graph.node(name)
            array = np.zeros(max(math.prod(node.shape), 1), node.dtype.np)
            arrays.append(array)
            slots[base + i] = ffi.cast("void *", array.ctypes.data)
    words = ffi.new("uint64_t[]", max(len(call.draws), 1))
    for i, word in enumerate(call.draws):
        words[i] = word
    entry, detail = unit
    address = lambda pointer: int(ffi.cast("uintptr_t", pointer))  # noqa: E731
    status = entry(address(slots), address(words), 1)
    assert bool(status) == bool(call.status), f"CUDA returned {status}, C {call.status}"
    if status:
        error = [detail(i) for i in range(4)]
        assert error == call.error, f"CUDA's error {error}, C's {call.error}"
        return
    names = [*specialisation.input_names, *specialisation.outputs]
    for (slot, dtype, elements), name, theirs in zip(layout, names, call.after):
        if theirs is not None and elements and name not in stored_in_place:
            _assert_same(f"%{name}", dtype, bytes(arrays[slot][:elements]), theirs)


# a translation unit holds up to this many units: the headers (CUDA's runtime, CUB, the
# emulation) are parsed once per batch instead of once per unit, ~1.5 s for each of nvcc and g++
# even for a one-kernel unit (10+ s with CUB), while a unit's own kernels take ~0.05 s
BATCH_UNITS = 40
_PREAMBLE_END = "#define restrict __restrict__"  # kernels.cu.j2's last line before the kernels
_EXTERN_C = ("graphc_entry", "graphc_error_detail", "graphc_cuda_error_message")


def _batch_source(sources):
    """One translation unit holding `sources`: each unit's preamble (its inlined headers, each
    under its include guard, and system includes) once, then each unit's kernels and entry in a
    namespace graphc_unit_K of their own, its extern "C" functions renamed NAME_K."""
    preambles, bodies = {}, []
    for k, source in enumerate(sources):
        preamble, marker, rest = source.partition(_PREAMBLE_END)
        assert marker, "a CUDA unit without kernels.cu.j2's preamble"
        cut = rest.index("\n") + 1
        preambles.setdefault(preamble + marker + rest[:cut])
        rename = "".join(f"#define {name} {name}_{k}\n" for name in _EXTERN_C)
        restore = "".join(f"#undef {name}\n" for name in _EXTERN_C)
        bodies.append(f"{rename}namespace graphc_unit_{k} {{\n{rest[cut:]}}}  "
                      f"// namespace graphc_unit_{k}\n{restore}")
    return "".join(preambles) + "".join(bodies)


def _functions(library, suffix=""):
    """(entry, error detail) of one unit of a loaded library, as ctypes functions."""
    entry = getattr(library, "graphc_entry" + suffix)
    entry.argtypes, entry.restype = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int), ctypes.c_int
    detail = getattr(library, "graphc_error_detail" + suffix)
    detail.argtypes, detail.restype = (ctypes.c_int,), ctypes.c_int64
    return entry, detail


def _build_alone(source, directory):
    """`source` built as it is: `nvcc -arch=sm_90 -c` where nvcc is present, then emulated."""
    name = "unit_" + hashlib.sha256(source.encode()).hexdigest()[:16]
    if cuda_check.nvcc() is not None:
        cuda_check.build_with_nvcc(source, directory, name + "_nvcc")
    return _functions(cuda_check.build_emulated(source, directory, name))


def _build_batch(sources, directory):
    """{source: its (entry, error detail), or the CudaBuildError of building it}: `sources` in
    one translation unit; when that does not build, each unit alone, so that the failing one
    reports its own error and the others still run."""
    name = "batch_" + hashlib.sha256("".join(sources).encode()).hexdigest()[:16]
    try:
        text = _batch_source(sources)
        if cuda_check.nvcc() is not None:
            cuda_check.build_with_nvcc(text, directory, name + "_nvcc")
        library = cuda_check.build_emulated(text, directory, name)
        return {source: _functions(library, f"_{k}") for k, source in enumerate(sources)}
    except cuda_check.CudaBuildError:
        built = {}
        for source in sources:
            try:
                built[source] = _build_alone(source, directory)
            except cuda_check.CudaBuildError as error:
                built[source] = error
        return built


def _batches(sources):
    """`sources` in batches of at most BATCH_UNITS, those on CUB apart (CUB's headers cost nvcc
    ~12 s to parse: a batch without them does not pay it)."""
    batches = []
    for group in (sorted(s for s in sources if "<cub/" not in s),
                  sorted(s for s in sources if "<cub/" in s)):
        count = -(-len(group) // BATCH_UNITS)
        batches += [group[i::count] for i in range(count)]
    return batches


def build_units(sources, directory):
    """{source: (entry, error detail) or CudaBuildError} of every distinct unit of `sources`,
    the batches built in parallel."""
    built = {}
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        for result in pool.map(lambda batch: _build_batch(batch, directory),
                               _batches(set(sources))):
            built.update(result)
    return built


def _check(specialisation, calls, source, built):
    """The report entry of one specialisation: its CUDA unit `source` (an Unsupported when the
    dialect refused it) replayed for each recorded call."""
    entry = {"function": specialisation.render_arguments[2],
             "signature": specialisation.render_arguments[4], "calls": len(calls)}
    if isinstance(source, Unsupported):
        return {**entry, "result": "refused", "reason": str(source)}
    try:
        if isinstance(built[source], Exception):
            raise built[source]
        stored_in_place = c_backend.render(specialisation.graph, *specialisation.render_arguments,
                                           dialect=lambda unit: unit["direct"])[0]
        for call in calls:
            _replay(specialisation, built[source], call, stored_in_place)
    except Exception:
        return {**entry, "result": "failed", "reason": traceback.format_exc(limit=4)}
    return {**entry, "result": "ran"}


def pytest_sessionfinish(session, exitstatus):
    if not _RECORDS:
        return
    from graphc.codegen.render import cuda
    directory = pathlib.Path(tempfile.mkdtemp(prefix="graphc-cuda-replay-"))
    sources = {}
    for specialisation, calls in _RECORDS:
        try:
            sources[id(specialisation)] = cuda.source_of(specialisation)
        except Unsupported as refused:
            sources[id(specialisation)] = refused
    built = build_units([sources[id(specialisation)] for specialisation, calls in _RECORDS
                         if calls and isinstance(sources[id(specialisation)], str)], directory)
    report = [_check(specialisation, calls, sources[id(specialisation)], built)
              for specialisation, calls in _RECORDS if calls]
    path = os.environ.get("GRAPHC_CUDA_REPLAY_REPORT")
    if path:
        pathlib.Path(path).write_text(json.dumps(report, indent=1))
    counts = {kind: sum(1 for r in report if r["result"] == kind)
              for kind in ("ran", "refused", "failed")}
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"cuda_replay: {len(report)} specialisations: {counts['ran']} ran "
                            f"as CUDA to C's results, {counts['refused']} refused by name, "
                            f"{counts['failed']} failed")
        for failure in (r for r in report if r["result"] == "failed"):
            reporter.write_line(f"  FAILED {failure['function']} [{failure['signature']}]:\n"
                                f"{failure['reason']}")
    if counts["failed"] and session.exitstatus == 0:
        session.exitstatus = 1
