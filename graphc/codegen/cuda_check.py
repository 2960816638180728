"""Build graphc's CUDA source on any machine: as host C++ against templates/cuda/host_emulation.h
(g++, no GPU needed: the kernels' logic runs on the CPU), or with nvcc (an object file, proving
the source is valid CUDA, or a shared library for a machine with a GPU).

The tests of the CUDA building blocks and the GPU check script (benchmarks/gpu_check.py) build
their programs through these functions, so both compile the same source the same way.
"""
import ctypes
import functools
import pathlib
import re
import shutil
import subprocess

import jinja2

from .c_backend import template_root
from .errors import ErrorKind, c_kind

__all__ = ["cuda_template_dir", "render", "render_program", "inline_headers", "host_compiler", "nvcc", "build_emulated",
           "build_emulated_program", "build_with_nvcc", "CudaBuildError"]

# -ffp-contract=off / --fmad=false: one rounding per operation, as numpy and the C backend
EMULATION_FLAGS = ("-x", "c++", "-std=c++17", "-O2", "-pthread", "-fPIC", "-ffp-contract=off")
# the check that a source is valid CUDA: nvcc's plain object build, nothing else (the headers
# are inlined into the source, so no include path either)
NVCC_CHECK_FLAGS = ("-arch=sm_90", "-c")
# a build to run: one rounding per operation as the C backend (no fused multiply-adds)
NVCC_FLAGS = ("-O2", "--fmad=false")


class CudaBuildError(RuntimeError):
    """A CUDA program did not compile: the message holds the command and the compiler's output."""


def cuda_template_dir():
    """templates/cuda: the building blocks' headers, the emulation header, entry.cu.j2."""
    return template_root() / "cuda"


@functools.lru_cache(maxsize=None)
def _environment():
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_root())),
                                     trim_blocks=True, lstrip_blocks=True,
                                     keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    # the error kinds the entry reports itself, written as errors.c_kind writes them
    environment.globals["kinds"] = {kind.name: c_kind(kind) for kind in ErrorKind}
    return environment


def render(template, **context):
    """Render a template of templates/ (e.g. "cuda/kernels.cu.j2") with `context`."""
    return _environment().get_template(template).render(**context)


def render_program(template, **context):
    """A whole .cu program (e.g. "cuda/entry.cu.j2") with graphc's headers inlined, so that it
    builds with no include path: `nvcc -arch=sm_90 -c file.cu`."""
    return inline_headers(render(template, **context))


_INCLUDE = re.compile(r'^#include "([\w.]+)"[^\n]*\n', re.MULTILINE)
EMULATION_HEADER = "host_emulation.h"  # stays an include: only a host compiler reads it


def inline_headers(text, seen=None):
    """`text` with each `#include "header.cuh"` of templates/cuda replaced by the header (itself
    inlined), the first time only, as its include guard would; the emulation's include is kept."""
    seen = set() if seen is None else seen

    def expand(match):
        name = match.group(1)
        if name == EMULATION_HEADER:
            return match.group(0)
        if name in seen:
            return ""
        seen.add(name)
        return inline_headers((cuda_template_dir() / name).read_text(), seen)
    return _INCLUDE.sub(expand, text)


def host_compiler():
    return shutil.which("g++")


def nvcc():
    return shutil.which("nvcc")


def _compile(command, source_path):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise CudaBuildError(f"{' '.join(command)} failed on {source_path}:\n{result.stderr}")


def _write_source(source, directory, name):
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.cu"
    path.write_text(source)
    return path


def build_emulated(source, directory, name, flags=()):
    """Compile `source` as host C++ into directory/name.so (emulated) and load it (ctypes);
    `flags`: more g++ flags (e.g. -DGRAPHC_WIDEN_RACES, see host_emulation.h)."""
    return ctypes.CDLL(str(_build_host(source, directory, name, [*flags, "-shared"], ".so")))


def build_emulated_program(source, directory, name, flags=()):
    """Compile `source` (with a main) as a host C++ executable; `flags`: more g++ flags (e.g.
    -fsanitize=thread). Returns the executable's path."""
    return _build_host(source, directory, name, flags, "")


def _build_host(source, directory, name, flags, suffix):
    compiler = host_compiler()
    if compiler is None:
        raise CudaBuildError("no g++ on PATH: the CUDA emulation needs a C++17 compiler")
    source_path = _write_source(source, directory, name)
    built = source_path.with_suffix(suffix)
    _compile([compiler, *EMULATION_FLAGS, *flags, f"-I{cuda_template_dir()}",
              str(source_path), "-o", str(built)], source_path)
    return built


def build_with_nvcc(source, directory, name, arch="sm_90", shared=False, flags=()):
    """Compile `source` with nvcc for `arch`: an object file (shared=False: the plain
    `nvcc -arch=sm_90 -c`, which proves it is valid CUDA, no GPU needed) or a loaded shared
    library (shared=True: needs a GPU to run); `flags`: more nvcc flags. No include path: a
    program's headers are inlined (render_program)."""
    compiler = nvcc()
    if compiler is None:
        raise CudaBuildError("no nvcc on PATH")
    source_path = _write_source(source, directory, name)
    output = source_path.with_suffix(".so" if shared else ".o")
    mode = [*NVCC_FLAGS, "-shared", "-Xcompiler", "-fPIC"] if shared else ["-c"]
    _compile([compiler, f"-arch={arch}", *mode, *flags, str(source_path), "-o", str(output)],
             source_path)
    return ctypes.CDLL(str(output)) if shared else output
