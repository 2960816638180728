"""The C declarations of a generated library as a cffi FFI, without parsing C on a warm start.

`cffi.FFI().cdef` parses with pycparser, whose import alone costs ~30 ms of a warm start. cffi
can also build an FFI from its own compact form of parsed declarations (what its out-of-line
ABI mode writes into a generated module): graphc keeps that form in the cache directory as
plain data (never code), keyed by the declarations and cffi's version, and rebuilds the FFI
from it in well under a millisecond.
"""
import ast
import functools
import hashlib
import json
import os
import re
import tempfile

__all__ = ["ffi_for"]


@functools.lru_cache(maxsize=None)
def ffi_for(cdef, folder):
    """An FFI declaring `cdef`; its compact form is read from, or written to, `folder`."""
    import _cffi_backend
    digest = hashlib.sha256(f"{cdef}\0{_cffi_backend.__version__}".encode()).hexdigest()
    record = os.path.join(folder, f"ffi-{digest[:32]}.json")
    try:
        with open(record) as file:
            arguments = _decode(json.load(file))
        declared = {entry[4:] for entry in arguments["_globals"][::2]}  # 4 bytes of type index
        if all(name.encode() in declared for name in re.findall(r"(\w+)\s*\(", cdef)):
            return _cffi_backend.FFI("graphc", **arguments)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass  # not recorded yet, or not a record graphc wrote: parse the declarations
    import cffi
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    try:
        _record(ffi, record)
    except (OSError, ValueError, SyntaxError):
        pass  # an unwritable cache, or a cffi whose generated module looks different
    return ffi


def _record(ffi, record):
    """Write cffi's compact form of `ffi`'s declarations to `record` (atomically)."""
    from cffi import recompiler
    with tempfile.TemporaryDirectory() as scratch:
        module = os.path.join(scratch, "declarations.py")
        ffi.set_source("graphc", None)
        recompiler.make_py_source(ffi, "graphc", module)
        with open(module) as file:
            tree = ast.parse(file.read())
    call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "FFI")
    arguments = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
    partial = f"{record}.{os.getpid()}.tmp"
    with open(partial, "w") as file:
        json.dump(_encode(arguments), file)
    os.replace(partial, record)


def _encode(value):
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, (tuple, list)):
        return {"tuple": [_encode(item) for item in value]}
    if isinstance(value, dict):
        return {"dict": {key: _encode(item) for key, item in value.items()}}
    if isinstance(value, (int, str)) or value is None:
        return value
    raise ValueError(f"unexpected value in cffi's declarations: {value!r}")


def _decode(value):
    if isinstance(value, dict):
        (kind, item), = value.items()
        if kind == "bytes":
            return bytes.fromhex(item)
        if kind == "tuple":
            return tuple(_decode(element) for element in item)
        return {key: _decode(element) for key, element in item.items()}
    return value
