"""Building generated C into a shared library, content-addressed on disk.

The key hashes the source, the compiler command, its version and flags, the machine, and
graphc's own code generator and templates (a changed template never serves stale code). A
build looks the key up, takes a per-key lock, looks again (another process may have built it
meanwhile), compiles in a temporary directory and renames the result into place, so processes
sharing the cache never see a half-written library. A library that fails to load is treated as
corrupted and rebuilt. Loaded libraries are also kept in memory for the process.
"""
import fcntl
import functools
import hashlib
import logging
import os
import pathlib
import platform
import shutil
import subprocess
import tempfile

__all__ = ["CompilerMissing", "BuildFailed", "cache_dir", "load", "clear", "info"]

FLAGS = ("-O3", "-march=native", "-shared", "-fPIC", "-ffp-contract=off", "-fno-math-errno",
         "-fwrapv")  # integer overflow wraps, as eager (numpy) integers do: never UB
OPENMP = ("-fopenmp",)
log = logging.getLogger("graphc")
_loaded = {}  # key -> (ffi, lib), for this process

# OpenMP workers that spin after a parallel loop starve OpenBLAS's threads in the gemm that
# follows (a 784-256-10 MLP step ran 10x slower on 2 cores); passive waiting costs a parallel
# loop a few microseconds instead. libgomp reads this once, when the first library loads; a
# user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class CompilerMissing(RuntimeError):
    """No C compiler: set CC, or install gcc/clang."""


class BuildFailed(RuntimeError):
    """The C compiler rejected generated code (its output is in the message and the dump)."""


def cache_dir():
    """$GRAPHC_CACHE_DIR, else the user's cache directory; created private (0700)."""
    root = os.environ.get("GRAPHC_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "graphc")
    path = pathlib.Path(root)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def compiler():
    command = os.environ.get("CC", "cc")
    found = shutil.which(command)
    if found is None:
        raise CompilerMissing(
            f"graphc.compile needs a C compiler and found none ('{command}' is not on PATH): "
            "install gcc or clang, or point CC at one.")
    return found


@functools.lru_cache(maxsize=None)
def _compiler_version(path):
    result = subprocess.run([path, "--version"], capture_output=True, text=True)
    return result.stdout.splitlines()[0] if result.stdout else path


@functools.lru_cache(maxsize=None)
def _codegen_fingerprint():
    """A hash of graphc's code generator and templates: part of every key."""
    from .c_backend import template_root
    digest = hashlib.sha256()
    roots = [pathlib.Path(__file__).parent, template_root()]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".j2") and path.is_file():
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _blas_library():
    """Which BLAS the code links (none, or this environment's): environments without one
    generate loop nests, and a library is linked to the path of the BLAS it was built with."""
    from . import blas
    return str(blas.library_dir())


def key_of(source, cdef):
    path = compiler()
    digest = hashlib.sha256()
    for part in (source, cdef, path, _compiler_version(path), " ".join(FLAGS), platform.machine(),
                 platform.platform(), _codegen_fingerprint(), _blas_library()):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _dump(name, source, compiler_output=None):
    """GRAPHC_DUMP=dir: every generated source (and, on failure, the compiler's output)."""
    folder = os.environ.get("GRAPHC_DUMP")
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    pathlib.Path(folder, f"{name}.c").write_text(source)
    if compiler_output is not None:
        pathlib.Path(folder, f"{name}.compiler.txt").write_text(compiler_output)


def _build(source, target):
    """Compile `source` into the shared library `target` (atomically)."""
    with tempfile.TemporaryDirectory(dir=target.parent) as folder:
        c_file = pathlib.Path(folder, "kernel.c")
        c_file.write_text(source)
        library = pathlib.Path(folder, "kernel.so")
        from .blas import link_flags
        libraries = [*link_flags(source), "-lm"]
        command = [compiler(), *FLAGS, *OPENMP, str(c_file), "-o", str(library), *libraries]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 and "openmp" in (result.stderr + result.stdout).lower():
            # a compiler without OpenMP: the pragmas are ignored and the loops run on one thread
            command = [compiler(), *FLAGS, str(c_file), "-o", str(library), *libraries]
            result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            output = " ".join(command) + "\n" + result.stdout + result.stderr
            _dump(target.stem, source, output)
            raise BuildFailed(f"the C compiler failed on generated code:\n{output}")
        os.replace(library, target)
        target.with_suffix(".c").write_text(source)


def _dlopen_flags(ffi):
    """Never unload a library: at interpreter exit, unloading the last user of libgomp unmapped
    it under OpenMP workers still spinning in it (a segfault after the program's last line)."""
    return ffi.RTLD_NOW | getattr(ffi, "RTLD_NODELETE", 0)


def load(source, cdef, name):
    """(ffi, lib) for `source` with the C declarations `cdef`, building it when not cached."""
    import cffi
    key = key_of(source, cdef)
    if key in _loaded:
        return _loaded[key], key, "memory"
    _dump(name, source)
    folder = cache_dir() / key[:2]
    folder.mkdir(exist_ok=True, mode=0o700)
    target = folder / f"{key}.so"
    how = "disk"
    with open(folder / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for attempt in range(2):
            if not target.exists():
                _build(source, target)
                how = "built"
            ffi = cffi.FFI()
            ffi.cdef(cdef)
            try:
                lib = ffi.dlopen(str(target), _dlopen_flags(ffi))
                break
            except OSError:
                if attempt:
                    raise
                log.warning("cache entry %s is corrupted; rebuilding it", target.name)
                target.unlink()
    _loaded[key] = (ffi, lib)
    return (ffi, lib), key, how


def _graph_index(graph_key):
    return cache_dir() / graph_key[:2] / f"{graph_key}.json"


def generated_for(graph_key):
    """What an earlier process generated for this graph (its source and declarations), so that
    a warm start loads the library without rendering the code again (sympy stays unloaded)."""
    import json
    path = _graph_index(graph_key)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def remember(graph_key, generated):
    import json
    path = _graph_index(graph_key)
    path.parent.mkdir(exist_ok=True, mode=0o700)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(generated))
    os.replace(temporary, path)


def graph_key_of(description):
    """The key of a traced graph: its description, the code generator, the compiler and the
    BLAS (two environments sharing a cache must not serve each other's code)."""
    path = compiler()
    digest = hashlib.sha256()
    for part in (description, path, _compiler_version(path), " ".join(FLAGS),
                 platform.machine(), _codegen_fingerprint(), _blas_library()):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def info():
    folder = cache_dir()
    libraries = list(folder.rglob("*.so"))
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"directory": str(folder), "libraries": len(libraries), "bytes": size}


def clear():
    folder = cache_dir()
    for child in folder.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    _loaded.clear()
