"""A compiled call's steps after its guard, in C: `templates/c/call.c`, a CPython extension
built once per interpreter and cached as the kernels' libraries are.

The rendered call path (call_path.py) checks its guard in Python, then hands the rest to one
`Call.run`: fresh output arrays, the generators' claims, the entry point, version bumps and the
output tensors. Written in Python those steps took ~3.5 µs of the seed step's ~6 µs call (four
cffi array stores, one cffi call, a wrap, two bumps); one C call does them in a fraction.

The extension needs the interpreter's headers (Python.h). Where they are missing, or the build
fails, `extension()` is None and the call path writes the same steps in Python; the results are
the same either way (tests run both). GRAPHC_NATIVE_CALL=0 keeps the Python steps.
"""
import importlib.machinery
import importlib.util
import logging
import os
import pathlib
import sys
import sysconfig
import threading

from . import toolchain
from .backend import Backend

__all__ = ["extension", "prepare", "lock"]

log = logging.getLogger("graphc")
_MODULE = "graphc_call"


def _headers():
    """The folder holding this interpreter's Python.h, or None."""
    include = sysconfig.get_paths().get("include")
    return include if include and pathlib.Path(include, "Python.h").is_file() else None


def _import(library, cdef, folder):
    """The built extension module (its loader answers to cache.load as cffi's does)."""
    loader = importlib.machinery.ExtensionFileLoader(_MODULE, str(library))
    spec = importlib.util.spec_from_file_location(_MODULE, str(library), loader=loader)
    module = importlib.util.module_from_spec(spec)
    try:
        loader.exec_module(module)
    except ImportError as error:  # a broken entry: cache.load rebuilds it once
        raise OSError(str(error)) from None
    return None, module


def _flags():
    return ("-O1", "-shared", "-fPIC", "-fwrapv", f"-I{_headers()}")  # API calls: -O1 does


_EXTENSION = Backend(name="python-extension", render=None, find_compiler=toolchain.compiler,
                     flags=_flags, parallel_flags=tuple, source_suffix=".c", load=_import,
                     cache_folder="extensions")


_UNSET = object()
_built = [_UNSET]
_building = threading.Lock()


def _after_fork_in_child():
    """A child forked while the build thread held the lock would wait on it forever."""
    global _building
    _building = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def prepare():
    """Start building the extension in the background, beside a first compile's own build
    (the kernels' compiler runs meanwhile): a cold start waits for the longer of the two."""
    if _built[0] is _UNSET and not _building.locked():
        threading.Thread(target=extension, name="graphc-call-build", daemon=True).start()


def extension():
    """The `graphc_call` module, or None where it cannot be built (then the steps stay
    Python)."""
    if _built[0] is _UNSET:
        with _building:
            if _built[0] is _UNSET:
                _built[0] = _build()
    return _built[0]


def lock():
    """A specialisation's lock: graphc_call.Lock (its acquire() has no arguments to parse:
    ~0.3 µs less per call than threading.Lock's here) or, without the extension, threading's."""
    module = extension()
    return threading.Lock() if module is None else module.Lock()


def _build():
    if os.environ.get("GRAPHC_NATIVE_CALL") == "0" or _headers() is None:
        return None
    from . import cache
    from .c_backend import template_root
    # the interpreter is part of the key: an extension serves only the ABI it was built for
    source = (f"/* for {sys.implementation.cache_tag} "
              f"({sysconfig.get_config_var('EXT_SUFFIX')}) */\n"
              + (template_root() / "c" / "call.c").read_text())
    try:
        (_, module), _, _ = cache.load(source, "", _MODULE, _EXTENSION)
    except (toolchain.CompilerMissing, toolchain.BuildFailed, OSError) as reason:
        log.info("graphc: compiled calls keep their steps in Python (%s)", reason)
        return None
    return module
