"""Building generated C into a shared library, content-addressed on disk.

The key hashes the source, the backend (backend.py: its name, compiler command, version and
flags), the machine, and all
of graphc's Python sources and templates (an edited template or op formula never serves stale
code). A lookup loads an entry only after checking it against the size and checksum kept
beside it (a library cut short would crash the process with SIGBUS when loaded); any other
entry is rebuilt. A build takes a per-key lock, looks again (another process may have built
it meanwhile), compiles in a temporary directory and renames the result into place, so
processes sharing the cache never see a half-written library. A cache directory that cannot
be written still serves what it holds; builds then go to a private temporary directory, with
one warning. Loaded libraries are also kept in memory for the process.
"""
import atexit
import fcntl
import functools
import hashlib
import json
import logging
import os
import pathlib
import platform
import shutil
import tempfile
import threading
import warnings

from .backend import BACKENDS
from .toolchain import BuildFailed, CompilerMissing, compile_library

__all__ = ["CompilerMissing", "BuildFailed", "cache_dir", "load", "clear", "info"]

log = logging.getLogger("graphc")
_loaded = {}  # key -> (ffi, lib), for this process
_private = {}  # an unwritable cache directory -> the temporary directory used instead
_private_lock = threading.Lock()
_PACKAGE = pathlib.Path(__file__).resolve().parents[1]

# OpenMP workers that spin after a parallel loop starve OpenBLAS's threads in the gemm that
# follows (a 784-256-10 MLP step ran 10x slower on 2 cores); passive waiting costs a parallel
# loop a few microseconds instead. libgomp reads this once, when the first library loads; a
# user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class _Unwritable(Exception):
    """A cache directory refused a write (read-only, not a directory, no permission)."""


def _configured_dir():
    """$GRAPHC_CACHE_DIR, else the user's cache directory (not created here)."""
    root = os.environ.get("GRAPHC_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "graphc")
    return pathlib.Path(root)


def cache_dir():
    """The cache directory, created private (0700)."""
    path = _configured_dir()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _private_dir(shared, reason):
    """The temporary directory this process builds in instead of `shared` (warned once)."""
    with _private_lock:
        if shared not in _private:
            folder = pathlib.Path(tempfile.mkdtemp(prefix="graphc-cache-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _private[shared] = folder
            warnings.warn(
                f"graphc: the kernel cache directory {shared} cannot be written ({reason}); this "
                f"process builds in the temporary directory {folder} instead, and its kernels "
                "are rebuilt by the next process. Point GRAPHC_CACHE_DIR at a writable "
                "directory.", RuntimeWarning, stacklevel=2)
        return _private[shared]


def _roots():
    """Where entries are looked up: the cache directory, then this process's private one."""
    shared = _configured_dir()
    return [shared] + ([_private[shared]] if shared in _private else [])


@functools.lru_cache(maxsize=None)
def _codegen_fingerprint():
    """A hash of graphc's Python sources and templates (the op declarations and formulas, the
    code generator, the dtypes...): part of every key. Computed once per process."""
    from .c_backend import template_root
    digest = hashlib.sha256()
    for root in (_PACKAGE, template_root()):
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".j2") and path.is_file():
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _blas_library():
    """Which BLAS the code links (none, or this environment's): environments without one
    generate loop nests, and a library is linked to the path of the BLAS it was built with."""
    from . import blas
    return str(blas.library_dir())


def _toolchain_parts(backend):
    return [*backend.key_parts(), platform.machine(), _codegen_fingerprint(), _blas_library()]


def _hash(parts):
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def key_of(source, cdef, backend=BACKENDS["c"]):
    return _hash([source, cdef, *_toolchain_parts(backend), platform.platform()])


def graph_key_of(description, backend=BACKENDS["c"]):
    """The key of a traced graph: its description, the code generator, the backend (compiler
    and flags) and the BLAS (two environments sharing a cache must not serve each other's
    code)."""
    return _hash([description, *_toolchain_parts(backend)])


def _dump(name, source, suffix, compiler_output=None):
    """GRAPHC_DUMP=dir: every generated source (and, on failure, the compiler's output)."""
    folder = os.environ.get("GRAPHC_DUMP")
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    pathlib.Path(folder, f"{name}{suffix}").write_text(source)
    if compiler_output is not None:
        pathlib.Path(folder, f"{name}.compiler.txt").write_text(compiler_output)


def _write_atomically(path, text):
    """Write `path` through a temporary file of its own (threads and processes never share
    one) and a rename, so that readers see the old content or the new, never a part."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


def _checksum(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _metadata_path(target):
    return target.with_name(target.name + ".json")


def _intact(target):
    """Whether the library `target` is whole: its size and checksum are those recorded when
    it was built (a library cut short would crash the process with SIGBUS when loaded)."""
    try:
        recorded = json.loads(_metadata_path(target).read_text())
        size = target.stat().st_size
        return (isinstance(recorded, dict) and recorded.get("size") == size
                and recorded.get("sha256") == _checksum(target))
    except (OSError, ValueError):
        return False


def _kernel_count(source):
    return source.count("\n * IR nodes: ")


def _build(source, target, name, backend):
    """Compile `source` into the shared library `target` (atomically), then record its size
    and checksum beside it."""
    try:
        folder = tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-")
    except OSError as error:
        raise _Unwritable(error) from None
    with folder:
        c_file = pathlib.Path(folder.name, "kernel" + backend.source_suffix)
        library = pathlib.Path(folder.name, "kernel.so")
        try:
            c_file.write_text(source)
        except OSError as error:
            raise _Unwritable(error) from None
        from .blas import link_flags
        what = f"{name} ({_kernel_count(source)} kernels)"
        try:
            compile_library(c_file, library, [*link_flags(source), "-lm"], what, backend)
        except BuildFailed as failure:
            _dump(name, source, backend.source_suffix, str(failure))
            raise
        metadata = json.dumps({"size": library.stat().st_size, "sha256": _checksum(library)})
        try:
            os.replace(library, target)
            _write_atomically(_metadata_path(target), metadata)
            target.with_suffix(backend.source_suffix).write_text(source)
        except OSError as error:
            raise _Unwritable(error) from None


def _open(target, cdef, backend):
    return backend.load(target, cdef, target.parent.parent)


def _entry(root, key, backend):
    return root / (backend.cache_folder or key[:2]) / f"{key}.so"


def _load_or_build(root, key, source, cdef, name, backend):
    """(ffi, lib) and where it came from, building the entry in `root` unless another process
    did; raises _Unwritable when `root` refuses a write."""
    target = _entry(root, key, backend)
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        target.parent.mkdir(exist_ok=True, mode=0o700)
        lock = open(target.with_suffix(".lock"), "a")
    except OSError as error:
        raise _Unwritable(error) from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        how = "disk"
        for attempt in range(2):
            if not _intact(target):
                if target.exists():
                    log.warning("graphc: cache entry %s does not match its recorded size and "
                                "checksum; rebuilding it", target.name)
                _build(source, target, name, backend)
                how = "built"
            try:
                return _open(target, cdef, backend), how
            except OSError as error:
                if attempt:
                    raise BuildFailed(f"the library built for {name} cannot be loaded: "
                                      f"{error}") from None
                log.warning("graphc: cache entry %s failed to load; rebuilding it", target.name)
                target.unlink()


def load(source, cdef, name, backend=BACKENDS["c"]):
    """(ffi, lib) for `source` with the C declarations `cdef`, built by `backend` when not
    cached."""
    key = key_of(source, cdef, backend)
    if key in _loaded:
        return _loaded[key], key, "memory"
    _dump(name, source, backend.source_suffix)
    loaded = None
    # a whole entry needs no lock, and no write: a read-only cache serves what it holds
    for root in _roots():
        if _intact(_entry(root, key, backend)):
            try:
                loaded, how = _open(_entry(root, key, backend), cdef, backend), "disk"
                break
            except OSError:
                pass  # rebuilt below
    if loaded is None:
        shared = _configured_dir()
        try:
            loaded, how = _load_or_build(shared, key, source, cdef, name, backend)
        except _Unwritable as reason:
            try:
                private = _private_dir(shared, reason)
                loaded, how = _load_or_build(private, key, source, cdef, name, backend)
            except (OSError, _Unwritable) as error:
                raise BuildFailed(f"graphc has nowhere to build {name}: neither the cache "
                                  f"directory {shared} ({reason}) nor a temporary directory "
                                  f"({error}) can be written") from None
    _loaded[key] = loaded
    return loaded, key, how


def _graph_index(root, graph_key):
    return root / graph_key[:2] / f"{graph_key}.json"


_GENERATED_FIELDS = {"source": str, "cdef": str, "dtype": str, "ctype": str, "buffers": list,
                     "randoms": list}


def _valid_generated(record):
    """The generated code in an index record, or None when the record is not one graphc wrote
    (cut short, edited, or from another version): then the code is generated again."""
    if not isinstance(record, dict) or not isinstance(record.get("generated"), dict):
        return None
    generated = record["generated"]
    if record.get("sha256") != hashlib.sha256(_canonical(generated).encode()).hexdigest():
        return None
    if set(generated) != set(_GENERATED_FIELDS) or not all(
            isinstance(generated[field], kind) for field, kind in _GENERATED_FIELDS.items()):
        return None
    if not all(isinstance(item, str) for item in generated["buffers"] + generated["randoms"]):
        return None
    return generated


def _canonical(generated):
    return json.dumps(generated, sort_keys=True)


def generated_for(graph_key):
    """What an earlier process generated for this graph (its source and declarations), so that
    a warm start loads the library without rendering the code again (sympy stays unloaded)."""
    for root in _roots():
        try:
            record = json.loads(_graph_index(root, graph_key).read_text())
        except (OSError, ValueError):
            continue
        generated = _valid_generated(record)
        if generated is not None:
            return generated
    return None


def remember(graph_key, generated):
    """Record what was generated for this graph, for later processes; best effort (a cache
    that cannot be written only loses the warm start)."""
    text = _canonical(generated)
    record = json.dumps({"sha256": hashlib.sha256(text.encode()).hexdigest(),
                         "generated": generated})
    for root in reversed(_roots()):
        path = _graph_index(root, graph_key)
        try:
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.parent.mkdir(exist_ok=True, mode=0o700)
            _write_atomically(path, record)
            return
        except OSError:
            continue


def info():
    folder = _configured_dir()
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    entries = [p for p in files if p.suffix == ".so"]
    # a kernel library sits in its key's two-digit folder; others (the call extension) in
    # their backend's cache_folder
    libraries = [p for p in entries if p.parent.name == p.name[:2]]
    return {"directory": str(folder), "libraries": len(libraries),
            "extensions": len(entries) - len(libraries),
            "bytes": sum(p.stat().st_size for p in files)}


def clear():
    folder = cache_dir()
    for child in folder.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    _loaded.clear()
