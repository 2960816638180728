"""The kernel cache and the C toolchain: entries shared by processes and threads, checked
before they are loaded, keys that cover everything the generated code depends on, and
compilers that fail, hang, lack OpenMP or take long, none of which takes the program down."""
import builtins
import errno
import io
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest

import graphc
from graphc.codegen import cache, declarations, native_call, toolchain

REAL_CC = shutil.which(os.environ.get("CC", "cc"))
pytestmark = pytest.mark.skipif(REAL_CC is None, reason="no C compiler")
ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "cache"))
    fresh_start()
    yield tmp_path / "cache"


def scaled_sigmoid(x):
    return (x * 3).sigmoid() + x


def expected(x):
    values = x.numpy().astype(np.float64)
    return 1 / (1 + np.exp(-3 * values)) + values


def fresh_start():
    """Forget the libraries this process loaded, as a new process would."""
    cache._loaded.clear()
    declarations.ffi_for.cache_clear()


def compiled_origin(function, x, **options):
    compiled = graphc.compile(function, **options)
    result = compiled(x)
    return result, compiled._latest.origin


def kernel_libraries(folder):
    """The cache's kernel libraries (each in its key's two-digit folder), not the call
    extension built beside them."""
    return [p for p in folder.rglob("*.so") if p.parent.name == p.name[:2]]


def fake_compiler(tmp_path, body, name="cc"):
    """A shell script standing in for the C compiler (CC points at it)."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return str(path)


def runtime_warnings(record):
    return [str(w.message) for w in record if issubclass(w.category, RuntimeWarning)]


SCRIPT = textwrap.dedent("""
    import graphc, numpy as np
    f = graphc.compile(lambda x: (x * 3).sigmoid() + x)
    x = graphc.arange(6.0)
    out = f(x)
    assert np.allclose(out.numpy(), (1 / (1 + np.exp(-3 * np.arange(6.0))) + np.arange(6.0)))
    print(f._latest.origin)
""")


def _run_script(cache_dir, extra_env=None):
    env = dict(os.environ, GRAPHC_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT))
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=120)


def test_a_second_process_reuses_the_disk_cache(private_cache):
    first = _run_script(private_cache)
    second = _run_script(private_cache)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert first.stdout.strip() == "built" and second.stdout.strip() == "disk"


def test_processes_compiling_at_once_share_one_build(private_cache):
    env = dict(os.environ, GRAPHC_CACHE_DIR=str(private_cache), PYTHONPATH=str(ROOT))
    processes = [subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    outcomes = [p.communicate(timeout=120) + (p.returncode,) for p in processes]
    assert all(code == 0 for _, _, code in outcomes), outcomes
    assert sorted(out.strip() for out, _, _ in outcomes).count("built") == 1
    assert len(kernel_libraries(private_cache)) == 1
    # and one call extension, built by one of them too, where this interpreter can build one
    extensions = list(private_cache.glob("extensions/*.so"))
    assert len(extensions) == (native_call.extension() is not None)


def test_a_corrupted_cache_entry_is_rebuilt(private_cache):
    assert _run_script(private_cache).returncode == 0
    (library,) = kernel_libraries(private_cache)
    library.write_bytes(b"not a shared library")
    result = _run_script(private_cache)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "built"


def test_cache_command_line(private_cache):
    assert _run_script(private_cache).returncode == 0
    env = dict(os.environ, GRAPHC_CACHE_DIR=str(private_cache), PYTHONPATH=str(ROOT))
    info = subprocess.run([sys.executable, "-m", "graphc", "cache", "info"], capture_output=True,
                          text=True, env=env, check=True)
    assert "libraries: 1" in info.stdout
    assert f"extensions: {int(native_call.extension() is not None)}" in info.stdout
    subprocess.run([sys.executable, "-m", "graphc", "cache", "clear"], env=env, check=True,
                   capture_output=True)
    assert not list(private_cache.rglob("*.so"))
    assert oct(private_cache.stat().st_mode & 0o777) == oct(0o700)


# --- entries are checked before they are loaded ---

def test_a_broken_call_extension_is_rebuilt_and_calls_still_equal_eager(private_cache):
    if native_call.extension() is None:
        pytest.skip("this interpreter cannot build the call extension (no Python.h)")
    assert _run_script(private_cache).returncode == 0
    (built,) = private_cache.glob("extensions/*.so")
    intact = built.read_bytes()
    # a new file in its place: this process may have the old one mapped (truncating a mapped
    # library in place is a SIGBUS for its users, whatever a cache does)
    cut = built.with_name("cut")
    cut.write_bytes(intact[: len(intact) // 2])
    os.replace(cut, built)
    env = dict(os.environ, GRAPHC_CACHE_DIR=str(private_cache), PYTHONPATH=str(ROOT))
    check = SCRIPT + "from graphc.codegen import native_call\nprint(native_call.extension())\n"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "disk" and "graphc_call" in result.stdout
    assert cache._intact(built)  # rebuilt whole: its size and checksum as recorded

def test_a_library_cut_short_is_rebuilt_not_loaded(private_cache):
    """Loading a truncated library crashed every later process with SIGBUS."""
    assert _run_script(private_cache).returncode == 0
    (library,) = kernel_libraries(private_cache)
    library.write_bytes(library.read_bytes()[: library.stat().st_size * 6 // 10])
    result = _run_script(private_cache)
    assert (result.returncode, result.stdout.strip()) == (0, "built"), result.stderr
    again = _run_script(private_cache)
    assert (again.returncode, again.stdout.strip()) == (0, "disk"), again.stderr


@pytest.mark.parametrize("content", ["{}", "[]", "null", '{"size": 1, "sha256": "0"}',
                                     '{"generated": {}, "sha256": "x"}', '{"source": ', ""])
def test_wrong_or_corrupt_records_are_rebuilt(private_cache, content):
    """A record that parses but is not what graphc wrote (`{}`) raised KeyError on every run."""
    x = graphc.arange(6.0)
    compiled_origin(scaled_sigmoid, x)
    records = list(private_cache.rglob("*.json"))
    assert records
    for record in records:
        record.write_text(content)
    fresh_start()
    result, origin = compiled_origin(scaled_sigmoid, x)
    np.testing.assert_allclose(result.numpy(), expected(x), rtol=1e-6)
    fresh_start()
    result, origin = compiled_origin(scaled_sigmoid, x)
    np.testing.assert_allclose(result.numpy(), expected(x), rtol=1e-6)
    assert origin == "disk"
    assert all(record.read_text() != content for record in records)


def test_a_warm_start_loads_without_sympy_jinja2_or_a_c_parser(private_cache):
    script = SCRIPT + ("import sys; print('sympy' in sys.modules, 'jinja2' in sys.modules, "
                       "'pycparser' in sys.modules, 'scipy_openblas32' in sys.modules)\n")
    env = dict(os.environ, GRAPHC_CACHE_DIR=str(private_cache), PYTHONPATH=str(ROOT))
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env=env, timeout=120) for _ in range(2)]
    assert all(run.returncode == 0 for run in runs), [run.stderr for run in runs]
    assert runs[1].stdout.split() == ["disk", "False", "False", "False", "False"]


@pytest.mark.parametrize("content", ["not json", "{}", '{"dict": {}}', '{"_types": {"bytes": "zz"}}',
                                     '{"_version": 1, "_types": {"bytes": "00"}}'])
def test_a_bad_declarations_record_is_parsed_again(private_cache, content):
    cdef = "int graphc_probe(int which);"
    private_cache.mkdir()
    declarations.ffi_for.cache_clear()
    declarations.ffi_for(cdef, str(private_cache))  # writes the record
    (record,) = private_cache.glob("ffi-*.json")
    record.write_text(content)
    declarations.ffi_for.cache_clear()
    ffi = declarations.ffi_for(cdef, str(private_cache))
    library = ffi.dlopen(None)  # the declarations parsed again: a symbol is found by them
    assert ffi.typeof("int(*)(int)").cname == "int(*)(int)"
    with pytest.raises(AttributeError, match="graphc_probe"):
        library.graphc_probe  # declared, but not in the process: cffi names it
    assert record.read_text() != content  # written again


# --- a cache directory that cannot be written ---

def make_read_only(monkeypatch, root):
    """Every write under `root` fails as on a read-only file system (root ignores chmod)."""
    root = os.path.abspath(root)

    def inside(path):
        if isinstance(path, int):
            return False
        path = os.path.abspath(os.fsdecode(path))
        return path == root or path.startswith(root + os.sep)

    def refused(path):
        return PermissionError(errno.EROFS, "Read-only file system", os.fsdecode(path))

    real_mkdir, real_open, real_os_open = os.mkdir, builtins.open, os.open
    real_replace, real_rename = os.replace, os.rename

    def mkdir(path, mode=0o777, **options):
        if inside(path):
            if os.path.exists(path):
                raise FileExistsError(errno.EEXIST, "File exists", os.fsdecode(path))
            raise refused(path)
        return real_mkdir(path, mode, **options)

    def open_(file, mode="r", *args, **options):
        if inside(file) and set(mode) & set("wax+"):
            raise refused(file)
        return real_open(file, mode, *args, **options)

    def os_open(path, flags, *args, **options):
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise refused(path)
        return real_os_open(path, flags, *args, **options)

    def replace(source, target, **options):
        if inside(source) or inside(target):
            raise refused(target)
        return real_replace(source, target, **options)

    def rename(source, target, **options):
        if inside(source) or inside(target):
            raise refused(target)
        return real_rename(source, target, **options)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "rename", rename)


def compile_two_functions(x):
    first, first_origin = compiled_origin(scaled_sigmoid, x)
    second, second_origin = compiled_origin(lambda t: t.tanh() * 2, x)
    np.testing.assert_allclose(first.numpy(), expected(x), rtol=1e-6)
    np.testing.assert_allclose(second.numpy(), np.tanh(x.numpy()) * 2, rtol=1e-6)
    return first_origin, second_origin


@pytest.mark.parametrize("where", ["under a file", "read-only"])
def test_an_unwritable_cache_warns_once_and_builds_privately(tmp_path, monkeypatch, where):
    """A cache directory under a regular file (or on a read-only file system) raised a bare
    NotADirectoryError / PermissionError."""
    if where == "under a file":
        (tmp_path / "a-file").write_text("")
        folder = tmp_path / "a-file" / "cache"
    else:
        folder = tmp_path / "read-only"
        folder.mkdir()
        make_read_only(monkeypatch, folder)
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(folder))
    x = graphc.arange(6.0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert compile_two_functions(x) == ("built", "built")
    (message,) = runtime_warnings(record)
    assert str(folder) in message and "GRAPHC_CACHE_DIR" in message
    fresh_start()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        # this process's private directory serves the libraries it built
        assert compile_two_functions(x) == ("disk", "disk")
    assert runtime_warnings(record) == []


def test_a_read_only_cache_serves_the_entries_it_holds(private_cache, monkeypatch):
    x = graphc.arange(6.0)
    assert compile_two_functions(x) == ("built", "built")
    fresh_start()
    make_read_only(monkeypatch, private_cache)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert compile_two_functions(x) == ("disk", "disk")
    assert runtime_warnings(record) == []


# --- threads ---

def test_threads_compiling_the_same_fresh_graph_at_once(private_cache, monkeypatch):
    """The temporary record file was named by the process id only: threads of one process
    renamed it from under each other (FileNotFoundError reached the user)."""
    real_replace = os.replace

    def slow_replace(*args, **options):
        # widens the window between writing a temporary file and renaming it
        threading.Event().wait(0.05)
        return real_replace(*args, **options)
    monkeypatch.setattr(os, "replace", slow_replace)

    def fresh_function(x):
        return (x * 5).tanh() - x.exp()
    x = graphc.arange(6.0)
    count = 6
    barrier = threading.Barrier(count)
    failures, results = [], []

    def worker():
        barrier.wait()
        try:
            results.append(graphc.compile(fresh_function, fullgraph=True)(x).numpy())
        except Exception as failure:  # noqa: BLE001  (reported by the assertion below)
            failures.append(repr(failure))
    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    values = x.numpy()
    for result in results:
        np.testing.assert_allclose(result, np.tanh(values * 5) - np.exp(values), rtol=1e-5)
    assert len(kernel_libraries(private_cache)) == 1
    assert not [path for path in private_cache.rglob("*") if path.name.endswith(".tmp")]


# --- compilers that fail, hang, lack OpenMP or take long ---

def check_falls_back_to_eager(match):
    """fullgraph=True raises CompileError; otherwise one warning and the eager result."""
    x = graphc.arange(6.0)
    with pytest.raises(graphc.CompileError, match=match):
        graphc.compile(scaled_sigmoid, fullgraph=True)(x)
    compiled = graphc.compile(scaled_sigmoid)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(2):
            np.testing.assert_allclose(compiled(x).numpy(), expected(x), rtol=1e-6)
    (message,) = runtime_warnings(record)
    assert "eagerly" in message


def test_a_compiler_that_writes_nothing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CC", fake_compiler(tmp_path, "exit 0\n"))
    check_falls_back_to_eager("exited 0 .* but wrote no library")


def test_a_compiler_that_rejects_everything_falls_back_to_eager(tmp_path, monkeypatch):
    monkeypatch.setenv("CC", fake_compiler(tmp_path, """\
        [ "$1" = --version ] && { echo "broken-cc 1.0"; exit 0; }
        echo "broken-cc: error: this compiler is broken" >&2
        exit 1
    """))
    check_falls_back_to_eager("this compiler is broken")


def test_a_compiler_that_never_returns_is_stopped(tmp_path, monkeypatch):
    pid_file = tmp_path / "pid"
    monkeypatch.setenv("CC", fake_compiler(tmp_path, f"""\
        [ "$1" = --version ] && {{ echo "stuck-cc 1.0"; exit 0; }}
        echo $$ > {pid_file}
        sleep 30
        exit 1
    """))
    monkeypatch.setenv("GRAPHC_BUILD_TIMEOUT", "1")
    check_falls_back_to_eager("did not finish .* within 1 s .*GRAPHC_BUILD_TIMEOUT")
    # the compiler was killed, not left running
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_a_bad_build_timeout_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("GRAPHC_BUILD_TIMEOUT", "soon")
    check_falls_back_to_eager("GRAPHC_BUILD_TIMEOUT='soon' is not a number")


def test_a_compiler_without_openmp_builds_serial_loops(tmp_path, monkeypatch):
    """clang without libomp fails to link -lomp; the build used to fail hard."""
    monkeypatch.setenv("CC", fake_compiler(tmp_path, f"""\
        for argument in "$@"; do
            if [ "$argument" = -fopenmp ]; then
                echo "/usr/bin/ld: cannot find -lomp: No such file or directory" >&2
                echo "clang: error: linker command failed with exit code 1" >&2
                exit 1
            fi
        done
        exec {REAL_CC} "$@"
    """))
    x = graphc.arange(6.0)
    result, origin = compiled_origin(scaled_sigmoid, x, fullgraph=True)
    np.testing.assert_allclose(result.numpy(), expected(x), rtol=1e-6)
    assert origin == "built"


def test_a_long_build_says_what_it_is_building(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CC", fake_compiler(tmp_path, f"""\
        sleep 1
        exec {REAL_CC} "$@"
    """))
    monkeypatch.setattr(toolchain, "NOTICE_AFTER_S", 0.1)
    x = graphc.arange(6.0)
    compiled = graphc.compile(scaled_sigmoid, fullgraph=True)
    np.testing.assert_allclose(compiled(x).numpy(), expected(x), rtol=1e-6)
    kernels = compiled.source().count("IR nodes:")
    assert kernels >= 1
    notices = [line for line in capsys.readouterr().err.splitlines() if "still compiling" in line]
    assert len(notices) == 1
    assert "scaled_sigmoid" in notices[0] and f"({kernels} kernels)" in notices[0]


# --- the key covers everything the generated code depends on ---

def test_the_compiler_flags_are_part_of_the_key(monkeypatch):
    keys = [(cache.key_of("int x;", ""), cache.graph_key_of("graph"))]
    monkeypatch.setattr(toolchain, "FLAGS", toolchain.FLAGS + ("-fno-fast-math",))
    keys.append((cache.key_of("int x;", ""), cache.graph_key_of("graph")))
    monkeypatch.setattr(toolchain, "OPENMP", ())
    keys.append((cache.key_of("int x;", ""), cache.graph_key_of("graph")))
    assert len(set(key for pair in keys for key in pair)) == 6


SINE_SCRIPT = textwrap.dedent("""
    import graphc, numpy as np
    x = graphc.linspace(0.1, 1.5, 7, dtype=graphc.float64)
    compiled = graphc.compile(lambda t: t.sin() * 2, fullgraph=True)
    result = compiled(x).numpy() / 2
    print(compiled._latest.origin, np.allclose(result, np.sin(x.numpy())),
          np.allclose(result, np.cos(x.numpy())))
""")


def test_an_edited_op_formula_is_never_served_from_the_cache(tmp_path):
    """The key hashed only the code generator: a warm cache kept computing `sin` after its
    formula was edited to `cos`."""
    copy = tmp_path / "edited"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "graphc", copy / "graphc", ignore=ignore)
    shutil.copytree(ROOT / "templates", copy / "templates", ignore=ignore)
    declarations = copy / "graphc" / "ir" / "primitives" / "elementwise.py"
    original = '"sin": lambda m, x: m.sin(x),'
    assert original in declarations.read_text()
    declarations.write_text(declarations.read_text().replace(
        original, '"sin": lambda m, x: m.cos(x),'))

    def run(package):
        env = dict(os.environ, GRAPHC_CACHE_DIR=str(tmp_path / "shared-cache"),
                   PYTHONPATH=str(package))
        finished = subprocess.run([sys.executable, "-c", SINE_SCRIPT], capture_output=True,
                                  text=True, env=env, cwd=tmp_path, timeout=120)
        assert finished.returncode == 0, finished.stderr
        return finished.stdout.split()
    assert run(ROOT) == ["built", "True", "False"]
    assert run(copy) == ["built", "False", "True"]
    assert run(ROOT) == ["disk", "True", "False"]
