"""Backends as data: what graphc.compile(backend=...) picks, each a renderer, a compiler with its
flags, the suffix of its source files and a loader.

The cache (cache.py) and the build (toolchain.py) take everything target-specific from a
`Backend`: the compiler command and flags go into the cache key, so two backends (or one whose
flags changed) never share a library. `BACKENDS` is the registry; `get` resolves a name as
graphc.compile does ("inductor" and None, torch's defaults, are the C backend).
"""
import dataclasses
import functools
from typing import Callable

from . import c_backend, toolchain
from .declarations import ffi_for

__all__ = ["Backend", "BACKENDS", "InvalidBackend", "get", "cffi_loader"]


class InvalidBackend(RuntimeError, ValueError):
    """An unknown backend name: torch raises torch._dynamo.exc.InvalidBackend, a RuntimeError
    (a ValueError too, what graphc.compile raised before backends were data)."""


@dataclasses.dataclass(frozen=True)
class Backend:
    """One compilation target. The flag fields are functions, read at every build and key, so
    that a changed setting (toolchain.FLAGS patched, $CC pointed elsewhere) is never missed."""
    name: str
    render: Callable          # (graph, inputs, outputs, name, location, signature, ...) -> source
    find_compiler: Callable[[], str]   # the compiler's path; raises CompilerMissing
    flags: Callable[[], tuple]         # always passed
    parallel_flags: Callable[[], tuple]  # tried first; the build is retried without them
    source_suffix: str        # of the file handed to the compiler
    load: Callable            # (library path, declarations, cache folder) -> (ffi, lib)
    # why a call cannot run code of this backend ("": it can); graphc.compile then refuses
    # every call before tracing (nothing of the caller's runs), and only renders source
    cannot_run: str = ""
    # the cache's folder for its entries ("": the key's first two digits, kernels' libraries);
    # the call extension keeps its own so that counting and clearing can tell the two apart
    cache_folder: str = ""

    def key_parts(self):
        """What of this backend a cache key covers: its name, compiler, version and flags (a
        backend that cannot run builds nothing: its name and flags, no compiler needed)."""
        if self.cannot_run:
            return [self.name, " ".join(self.flags())]
        path = self.find_compiler()
        return [self.name, path, toolchain.compiler_version(path), " ".join(self.flags()),
                " ".join(self.parallel_flags())]


def _dlopen_flags(ffi):
    """Never unload a library: at interpreter exit, unloading the last user of libgomp unmapped
    it under OpenMP workers still spinning in it (a segfault after the program's last line)."""
    return ffi.RTLD_NOW | getattr(ffi, "RTLD_NODELETE", 0)


def cffi_loader(library, cdef, folder):
    """A shared library opened through cffi's ABI mode with the declarations `cdef` (their
    parsed form kept in `folder`)."""
    ffi = ffi_for(cdef, str(folder))
    return ffi, ffi.dlopen(str(library), _dlopen_flags(ffi))


def _render_c(*args, **kwargs):
    """c_backend.render, looked up at each call as the flags are."""
    return c_backend.render(*args, **kwargs)


def _render_cuda(*args, **kwargs):
    from .render import cuda  # the CUDA dialect loads sympy's C printer only when asked for
    return cuda.render(*args, **kwargs)


_NO_CUDA_RUNTIME = ("the CUDA runtime is not built yet: graphc renders the CUDA source of a "
                    "compiled function (compiled.source(*example_args)) but cannot run it")


def _nvcc():
    found = _cuda_check().nvcc()
    if found is None:
        raise toolchain.CompilerMissing("the CUDA backend needs nvcc, and none is on PATH")
    return found


def _cuda_check():
    from . import cuda_check  # jinja2 stays off a warm start's path
    return cuda_check


def _no_cuda_runtime(library, cdef, folder):
    raise RuntimeError(_NO_CUDA_RUNTIME)


BACKENDS = {
    "c": Backend(name="c", render=_render_c, find_compiler=toolchain.compiler,
                 # read from toolchain at each use, where gcc's flags are set (and patched)
                 flags=functools.partial(getattr, toolchain, "FLAGS"),
                 parallel_flags=functools.partial(getattr, toolchain, "OPENMP"),
                 source_suffix=".c", load=cffi_loader),
    "cuda": Backend(name="cuda", render=_render_cuda, find_compiler=_nvcc,
                    flags=lambda: _cuda_check().NVCC_CHECK_FLAGS, parallel_flags=tuple,
                    source_suffix=".cu", load=_no_cuda_runtime, cannot_run=_NO_CUDA_RUNTIME),
}
_ALIASES = {None: "c", "inductor": "c"}  # torch's default names compile through C


def get(name):
    """The Backend that graphc.compile(backend=name) uses; InvalidBackend for an unknown one."""
    if isinstance(name, Backend):
        return name
    found = BACKENDS.get(_ALIASES.get(name, name)) if isinstance(name, (str, type(None))) \
        else None
    if found is None:
        raise InvalidBackend(f"Invalid backend: {name!r} is an unknown backend for graphc.compile "
                             f"(available: {', '.join(map(repr, BACKENDS))}; 'inductor' and "
                             "None mean 'c')")
    return found
