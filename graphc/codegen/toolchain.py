"""Running a backend's compiler on one generated source: the command, its limits and its
failures. The compiler and its flags come from the Backend (backend.py); FLAGS, OPENMP and
`compiler` here are the C backend's (gcc's or clang's, $CC).

A build either leaves a shared library where it was asked to or raises `CompilerMissing` or
`BuildFailed`, each with one message saying what went wrong (graphc.compile then runs the
function eagerly). A compiler that hangs is stopped after $GRAPHC_BUILD_TIMEOUT seconds; one
without OpenMP builds the loops serially; a build still running after a couple of seconds says
so on stderr, so that a long compile is not mistaken for a hang.
"""
import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading

__all__ = ["CompilerMissing", "BuildFailed", "FLAGS", "OPENMP", "compiler", "compiler_version",
           "compile_library"]

FLAGS = ("-O3", "-march=native", "-shared", "-fPIC", "-ffp-contract=off", "-fno-math-errno",
         "-fwrapv")  # integer overflow wraps, as eager (numpy) integers do: never UB
OPENMP = ("-fopenmp",)
DEFAULT_TIMEOUT_S = 600.0
NOTICE_AFTER_S = 2.0  # a build running longer than this says so on stderr
_OUTPUT_SHOWN = 4000  # characters of the compiler's output kept in an error message
log = logging.getLogger("graphc")
_serial_compilers = set()  # compilers that built without OpenMP, warned about once


class CompilerMissing(RuntimeError):
    """No C compiler: set CC, or install gcc/clang."""


class BuildFailed(RuntimeError):
    """The C compiler failed, hung, or wrote no library (its output is in the message)."""


def compiler():
    command = os.environ.get("CC", "cc")
    found = shutil.which(command)
    if found is None:
        raise CompilerMissing(
            f"graphc.compile needs a C compiler and found none ('{command}' is not on PATH): "
            "install gcc or clang, or point CC at one.")
    return found


def timeout_s():
    text = os.environ.get("GRAPHC_BUILD_TIMEOUT")
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        raise BuildFailed(f"GRAPHC_BUILD_TIMEOUT={text!r} is not a number of seconds") from None
    if value <= 0:
        raise BuildFailed(f"GRAPHC_BUILD_TIMEOUT={text!r} must be a positive number of seconds")
    return value


class _Stopped(Exception):
    """The compiler ran past its time limit (it has been killed)."""


def _run(command):
    """(return code, output) of `command`; killed with everything it started on timeout."""
    limit = timeout_s()
    try:
        # a session of its own, so that the compiler's children (cc1, as, ld) die with it
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    except OSError as error:
        raise BuildFailed(f"the C compiler {command[0]} could not be run: {error}") from None
    try:
        output, _ = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise _Stopped(limit) from None
    return process.returncode, output


@functools.lru_cache(maxsize=None)
def compiler_version(path):
    try:
        code, output = _run([path, "--version"])
    except _Stopped as stopped:
        raise BuildFailed(f"the C compiler {path} did not answer `--version` within "
                          f"{stopped.args[0]:g} s (GRAPHC_BUILD_TIMEOUT)") from None
    lines = output.splitlines()
    return lines[0] if code == 0 and lines else path


def _shown(command, output):
    output = output if len(output) <= _OUTPUT_SHOWN else "...\n" + output[-_OUTPUT_SHOWN:]
    return " ".join(command) + "\n" + output


def _attempt(command, library, what):
    """None when `command` built `library`, else the reason it did not."""
    try:
        code, output = _run(command)
    except _Stopped as stopped:
        raise BuildFailed(f"the C compiler did not finish {what} within {stopped.args[0]:g} s "
                          "and was stopped (set GRAPHC_BUILD_TIMEOUT to allow longer):\n"
                          + " ".join(command)) from None
    if code != 0:
        return f"the C compiler failed on {what} (exit status {code}):\n" + _shown(command, output)
    if not os.path.isfile(library) or os.path.getsize(library) == 0:
        return (f"the C compiler exited 0 on {what} but wrote no library at {library}:\n"
                + _shown(command, output))
    return None


def _notice(what, path):
    print(f"graphc: still compiling {what} with {path} ...", file=sys.stderr, flush=True)


def compile_library(c_file, library, link, what, backend):
    """Build the shared library `library` from `c_file` with `backend`'s compiler and flags;
    `what` names it in messages."""
    path = backend.find_compiler()
    common = [*backend.flags(), str(c_file), "-o", str(library), *link]
    timer = threading.Timer(NOTICE_AFTER_S, _notice, (what, path))
    timer.daemon = True
    timer.start()
    try:
        failure = _attempt([path, *backend.parallel_flags(), *common], library, what)
        if failure is None:
            return
        # a compiler without OpenMP (clang without libomp fails to link -lomp): the pragmas
        # are ignored and the loops run on one thread
        if backend.parallel_flags() and _attempt([path, *common], library, what) is None:
            if path not in _serial_compilers:
                _serial_compilers.add(path)
                log.warning("graphc: %s cannot build with OpenMP; compiled loops run on one "
                            "thread", path)
            return
    finally:
        timer.cancel()
    raise BuildFailed(failure + ("\n(building without OpenMP failed too)"
                                 if backend.parallel_flags() else ""))
